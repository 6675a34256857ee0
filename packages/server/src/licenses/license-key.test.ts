import { describe, expect, it } from 'vitest'
import { generateLicenseKey, normalizeLicenseKey, parseLicenseKey } from './license-key.js'

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'
const FORMAT = /^INTL-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$/

describe('license key format', () => {
  it('generates keys in the INTL-XXXX-XXXX-XXXX Crockford form that validate as themselves', () => {
    const seen = new Set<string>()
    for (let i = 0; i < 500; i++) {
      const key = generateLicenseKey()
      expect(key).toMatch(FORMAT)
      expect(normalizeLicenseKey(key)).toBe(key)
      seen.add(key)
    }
    expect(seen.size).toBe(500)
  })

  it('rejects every single-symbol change of a key through the check symbol', () => {
    for (let n = 0; n < 20; n++) {
      const key = generateLicenseKey()
      const symbols = key.replace(/^INTL-/, '').replace(/-/g, '')
      let variants = 0
      for (let pos = 0; pos < 12; pos++) {
        // Every other canonical symbol, plus U, which Crockford excludes altogether.
        for (const sym of `${CROCKFORD}U`) {
          if (sym === symbols[pos]) continue
          const changed = symbols.slice(0, pos) + sym + symbols.slice(pos + 1)
          const typed = `INTL-${changed.slice(0, 4)}-${changed.slice(4, 8)}-${changed.slice(8)}`
          expect(normalizeLicenseKey(typed), `${key} → ${typed}`).toBeNull()
          variants++
        }
      }
      expect(variants).toBe(12 * 32)
    }
  })

  it('rejects adjacent transpositions, except the one Luhn mod 32 cannot see (0↔Z)', () => {
    let checked = 0
    for (let n = 0; n < 200; n++) {
      const s = generateLicenseKey()
        .replace(/^INTL-/, '')
        .replace(/-/g, '')
      for (let i = 0; i < 11; i++) {
        const pair = `${s[i]}${s[i + 1]}`
        if (s[i] === s[i + 1] || pair === '0Z' || pair === 'Z0') continue
        const swapped = s.slice(0, i) + s[i + 1] + s[i] + s.slice(i + 2)
        expect(normalizeLicenseKey(`INTL-${swapped.slice(0, 4)}-${swapped.slice(4, 8)}-${swapped.slice(8)}`), `${s} → ${swapped}`).toBeNull()
        checked++
      }
    }
    expect(checked).toBeGreaterThan(1500)
  })

  it('accepts lowercase, missing dashes, surrounding spaces and the O→0, I/L→1 reading rules', () => {
    // Find a key containing a 0 and a 1 so the look-alike substitutions are exercised.
    let key = generateLicenseKey()
    while (!/0/.test(key.slice(5)) || !/1/.test(key.slice(5))) key = generateLicenseKey()
    expect(normalizeLicenseKey(key.toLowerCase())).toBe(key)
    expect(normalizeLicenseKey(` ${key.replace(/-/g, '')} `)).toBe(key)
    const body = key.slice(5)
    expect(normalizeLicenseKey(`INTL-${body.replace(/0/g, 'O')}`)).toBe(key)
    expect(normalizeLicenseKey(`intl-${body.replace(/0/g, 'o').replace(/1/g, 'l')}`)).toBe(key)
    expect(normalizeLicenseKey(`INTL-${body.replace(/1/g, 'I')}`)).toBe(key)
  })

  it('refuses shapes that cannot be a key, and parseLicenseKey throws malformed_key for them', () => {
    const key = generateLicenseKey()
    for (const bad of ['', 'INTL', key.slice(0, -1), `${key}0`, key.replace('INTL', 'ABCD'), `${key.slice(0, 5)}!${key.slice(6)}`, 'INTL-0000-0000-000']) {
      expect(normalizeLicenseKey(bad), bad).toBeNull()
      expect(() => parseLicenseKey(bad)).toThrow(expect.objectContaining({ code: 'malformed_key' }))
    }
    expect(parseLicenseKey(key.toLowerCase())).toBe(key)
  })
})
