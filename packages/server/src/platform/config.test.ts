import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ConfigError, loadConfig } from './config.js'

const dataDir = () => mkdtempSync(join(tmpdir(), 'intl-config-'))

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig({ DATA_DIR: dataDir(), ...env })
  } catch (err) {
    if (err instanceof ConfigError) return err.problems
    throw err
  }
  return []
}

describe('configuration', () => {
  it('starts on embedded defaults with generated development secrets that survive a restart', () => {
    const dir = dataDir()
    const a = loadConfig({ DATA_DIR: dir })
    const b = loadConfig({ DATA_DIR: dir })
    expect(a).toMatchObject({ port: 3000, publicUrl: 'http://localhost:3000', databaseUrl: undefined, redisUrl: undefined, demo: true })
    expect(Buffer.from(a.jwtSecret).equals(Buffer.from(b.jwtSecret))).toBe(true)
    expect(a.keyPepper.length).toBeGreaterThanOrEqual(32)
  })

  it('names every wrong variable in one error', () => {
    const found = problems({
      PORT: 'eighty',
      DATABASE_URL: 'not a url',
      SQUARESPACE_WEBHOOK_SECRET: 'zz',
      ENCRYPTION_KEYS: 'c2hvcnQ=',
      SQUARESPACE_PRODUCT_MAP: '{"SKU":["nope"]}',
    })
    expect(found.some((p) => p.startsWith('PORT'))).toBe(true)
    expect(found.some((p) => p.startsWith('DATABASE_URL'))).toBe(true)
    expect(found.some((p) => p.startsWith('SQUARESPACE_WEBHOOK_SECRET'))).toBe(true)
  })

  it('checks keys and the product map once the variables parse', () => {
    const found = problems({ ENCRYPTION_KEYS: 'c2hvcnQ=', SQUARESPACE_PRODUCT_MAP: '{"SKU":["nope"]}' })
    expect(found.some((p) => p.startsWith('ENCRYPTION_KEYS'))).toBe(true)
    expect(found.some((p) => p.startsWith('SQUARESPACE_PRODUCT_MAP'))).toBe(true)
  })

  it('requires every secret, the real stores and the public URL in production', () => {
    const found = problems({ NODE_ENV: 'production' })
    for (const name of ['JWT_SECRET', 'KEY_PEPPER', 'ENCRYPTION_KEYS', 'DATABASE_URL', 'REDIS_URL', 'PUBLIC_URL'])
      expect(
        found.some((p) => p.startsWith(name)),
        name,
      ).toBe(true)
  })

  it('reads a product map given as lists or with a tier', () => {
    const c = loadConfig({ DATA_DIR: dataDir(), SQUARESPACE_PRODUCT_MAP: '{"A":["chatbot"],"B":{"products":["sales-agent"],"tier":"business"}}' })
    expect(c.squarespace.productMap).toEqual({ A: { products: ['chatbot'] }, B: { products: ['sales-agent'], tier: 'business' } })
  })

  it('reads OUTBOUND_ALLOW_HOSTS as exact host:port pairs, empty by default, and names each malformed entry', () => {
    expect(loadConfig({ DATA_DIR: dataDir() }).outboundAllowHosts).toEqual([])
    expect(loadConfig({ DATA_DIR: dataDir(), NODE_ENV: 'test' }).outboundAllowHosts).toEqual([])
    const c = loadConfig({ DATA_DIR: dataDir(), OUTBOUND_ALLOW_HOSTS: 'LocalHost:5678, 127.0.0.1:80,[::1]:8080' })
    expect(c.outboundAllowHosts).toEqual(['localhost:5678', '127.0.0.1:80', '[::1]:8080'])
    const found = problems({ OUTBOUND_ALLOW_HOSTS: 'localhost,127.0.0.1:0,n8n:5678/path,http://x:1,ok.test:443' })
    expect(found.filter((p) => p.startsWith('OUTBOUND_ALLOW_HOSTS'))).toHaveLength(4)
  })
})
