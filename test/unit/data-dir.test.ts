import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { defaultDataDir } from '../../src/platform/node/data-dir.js'

describe('defaultDataDir: where Electron puts userData for productName CarHost', () => {
  it('Linux: $XDG_CONFIG_HOME/CarHost, else ~/.config/CarHost', () => {
    expect(defaultDataDir({ XDG_CONFIG_HOME: '/x/config' }, 'linux', '/home/u')).toBe(join('/x/config', 'CarHost'))
    expect(defaultDataDir({}, 'linux', '/home/u')).toBe(join('/home/u', '.config', 'CarHost'))
  })

  it('macOS: ~/Library/Application Support/CarHost', () => {
    expect(defaultDataDir({ XDG_CONFIG_HOME: '/ignored' }, 'darwin', '/Users/u')).toBe(
      join('/Users/u', 'Library', 'Application Support', 'CarHost'),
    )
  })

  it('Windows: %APPDATA%/CarHost', () => {
    expect(defaultDataDir({ APPDATA: 'C:\\Users\\u\\AppData\\Roaming' }, 'win32', 'C:\\Users\\u')).toBe(
      join('C:\\Users\\u\\AppData\\Roaming', 'CarHost'),
    )
  })
})
