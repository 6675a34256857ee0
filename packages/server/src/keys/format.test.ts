import { describe, expect, it } from 'vitest'
import { PRODUCTS } from '../platform/products.js'
import { generateProductKey, keyStart, parseProductKey, requireProductKey } from './format.js'

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'

describe('product key format', () => {
  it('generates prefix_ + 22 base62 (≥128 bits) + a 6-symbol CRC32 tail that parses back to its product', () => {
    const expected = { chatbot: ['chat', true], 'sales-agent': ['sale', true], 'data-enrichment': ['data', false], 'setup-agent': ['agnt', false] } as const
    for (const product of PRODUCTS) {
      const seen = new Set<string>()
      for (let i = 0; i < 200; i++) {
        const key = generateProductKey(product)
        const [prefix, publishable] = expected[product]
        expect(key).toMatch(new RegExp(`^${prefix}_[0-9A-Za-z]{28}$`))
        expect(parseProductKey(key)).toEqual({ prefix, product, publishable })
        seen.add(key)
      }
      expect(seen.size).toBe(200)
    }
    expect(22 * Math.log2(62)).toBeGreaterThan(128)
  })

  it('rejects every single-symbol change through the CRC tail', () => {
    const key = generateProductKey('data-enrichment')
    let tried = 0
    for (let pos = 5; pos < key.length; pos++) {
      for (const sym of BASE62) {
        if (sym === key[pos]) continue
        expect(parseProductKey(key.slice(0, pos) + sym + key.slice(pos + 1))).toBeNull()
        tried++
      }
    }
    expect(tried).toBe(28 * 61)
  })

  it('rejects wrong prefixes, lengths and alphabets, and requireProductKey names the problem', () => {
    const key = generateProductKey('chatbot')
    for (const bad of [
      '',
      'chat_',
      key.slice(0, -1),
      `${key}x`,
      key.replace('chat_', 'sale_'),
      key.replace('chat_', 'CHAT_'),
      `${key.slice(0, 10)}-${key.slice(11)}`,
      ` ${key}`,
    ]) {
      expect(parseProductKey(bad), bad).toBeNull()
    }
    expect(() => requireProductKey(undefined)).toThrow(expect.objectContaining({ code: 'invalid_key' }))
    expect(() => requireProductKey('chat_nope')).toThrow(expect.objectContaining({ code: 'malformed_key' }))
    expect(keyStart(key)).toBe(`${key.slice(0, 9)}…${key.slice(-4)}`)
  })
})
