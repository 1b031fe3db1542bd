#!/usr/bin/env node
import '../out/main/carhost.js'
