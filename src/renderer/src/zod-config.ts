import { z } from 'zod'

// The page's CSP has no 'unsafe-eval': without this zod probes `new Function`
// on its first parse, which the CSP refuses (and reports) every time the page loads.
z.config({ jitless: true })
