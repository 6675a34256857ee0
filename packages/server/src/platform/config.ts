// Configuration from the environment, validated once at start with one clear message per wrong variable.
import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { z } from '@hono/zod-openapi'
import { type Plans, parsePlans, TIERS, type Tier } from './plans.js'
import { PRODUCTS, type Product } from './products.js'

const hexSecret = z.string().regex(/^([0-9a-fA-F]{2})+$/, 'must be a hex string')
const secret32 = z.string().min(32, 'must be at least 32 characters')

const productMapEntry = z.union([z.array(z.enum(PRODUCTS)).min(1), z.object({ products: z.array(z.enum(PRODUCTS)).min(1), tier: z.enum(TIERS).optional() })])
export type ProductMap = Record<string, { products: Product[]; tier?: Tier | undefined }>

export { TIERS, type Tier }

/** Default Squarespace mapping: SKU first, then product name (case-insensitive). */
export const DEFAULT_PRODUCT_MAP: ProductMap = {
  'INTL-CHAT': { products: ['chatbot'] },
  'INTL-SALE': { products: ['sales-agent'] },
  'INTL-DATA': { products: ['data-enrichment'] },
  'INTL-AGNT': { products: ['setup-agent'] },
  'INTL-SUITE': { products: ['chatbot', 'sales-agent', 'data-enrichment', 'setup-agent'], tier: 'professional' },
  'intelagent chatbot': { products: ['chatbot'] },
  'intelagent sales agent': { products: ['sales-agent'] },
  'intelagent data enrichment': { products: ['data-enrichment'] },
  'intelagent setup agent': { products: ['setup-agent'] },
}

const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().default('0.0.0.0'),
  PUBLIC_URL: z.url().optional(),
  DATABASE_URL: z.url().optional(),
  DATA_DIR: z.string().default('./.data'),
  REDIS_URL: z.url().optional(),
  REDIS_PREFIX: z.string().default('intl:'),
  JWT_SECRET: secret32.optional(),
  KEY_PEPPER: secret32.optional(),
  ENCRYPTION_KEYS: z.string().optional(),
  SQUARESPACE_WEBHOOK_SECRET: hexSecret.optional(),
  SQUARESPACE_API_URL: z.url().default('https://api.squarespace.com'),
  SQUARESPACE_API_KEY: z.string().optional(),
  SQUARESPACE_PRODUCT_MAP: z.string().optional(),
  SMTP_URL: z
    .url()
    .refine((v) => /^smtps?:\/\//i.test(v), 'must be an smtp:// or smtps:// URL, e.g. smtp://user:pass@mail.example.com:587')
    .optional(),
  MAIL_FROM: z.string().min(3).max(320).optional(),
  N8N_WEBHOOK_SECRET: z.string().min(16, 'must be at least 16 characters').optional(),
  STRIPE_SECRET_KEY: z.string().min(8, 'must be a Stripe secret key (sk_live_… or sk_test_…)').optional(),
  STRIPE_WEBHOOK_SECRET: z.string().min(8, 'must be the endpoint signing secret (whsec_…)').optional(),
  STRIPE_PRICE_PROFESSIONAL: z.string().optional(),
  STRIPE_PRICE_BUSINESS: z.string().optional(),
  STRIPE_PRICE_ENTERPRISE: z.string().optional(),
  STRIPE_API_URL: z.url().default('https://api.stripe.com'),
  STRIPE_MAX_NETWORK_RETRIES: z.coerce.number().int().min(0).max(10).default(2),
  BILLING_GRACE_DAYS: z.coerce.number().min(0).max(90).default(7),
  BODY_LIMIT_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .default(64 * 1024),
  INSTANCE_COUNT: z.coerce.number().int().min(1).default(1),
  SESSION_TTL_HOURS: z.coerce
    .number()
    .int()
    .min(1)
    .default(24 * 7),
  SCRYPT_LOG_N: z.coerce.number().int().min(10).max(20).default(17),
  TRUST_PROXY: z.enum(['0', '1']).default('0'),
  RATE_LIMIT_SCALE: z.coerce.number().positive().default(1),
  SSE_STREAMS_PER_LICENSE: z.coerce.number().int().min(1).default(100),
  SSE_STREAMS_PER_VISITOR: z.coerce.number().int().min(1).default(5),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
  LOG_FORMAT: z.enum(['json', 'pretty']).default('json'),
  METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  DEMO: z.enum(['0', '1']).optional(),
  OUTBOUND_ALLOW_HOSTS: z.string().optional(),
  DB_CONNECT_TIMEOUT_MS: z.coerce.number().int().min(100).default(5000),
  DB_QUERY_TIMEOUT_MS: z.coerce.number().int().min(100).default(10_000),
  DB_PREPARED_STATEMENTS: z.coerce.number().int().min(0).max(100_000).default(1000),
  SHUTDOWN_GRACE_MS: z.coerce.number().int().min(0).default(10_000),
  JOBS_CONCURRENCY: z.coerce.number().int().min(0).max(256).default(16),
  JOBS_LEASE_MS: z.coerce.number().int().min(1000).default(30_000),
  JOBS_RETRY_BASE_MS: z.coerce.number().int().min(1).default(1000),
  PLANS: z.string().optional(),
  JOBS_RETRY_MAX_MS: z.coerce
    .number()
    .int()
    .min(1)
    .default(5 * 60_000),
})

export interface Config {
  env: 'development' | 'production' | 'test'
  port: number
  host: string
  publicUrl: string
  databaseUrl: string | undefined
  dataDir: string
  redisUrl: string | undefined
  redisPrefix: string
  jwtSecret: Uint8Array
  keyPepper: Buffer
  encryptionKeys: Buffer[]
  squarespace: { webhookSecret: Buffer | undefined; apiUrl: string; apiKey: string | undefined; productMap: ProductMap }
  n8nSecret: string | undefined
  /** Stripe billing; null when STRIPE_SECRET_KEY is unset (billing off: its routes answer 503 not_configured). */
  stripe: StripeConfig | null
  /** Outgoing mail: without an SMTP URL messages are kept in the mail_outbox table (GET /api/admin/mail). */
  mail: { smtpUrl: string | undefined; from: string }
  bodyLimitBytes: number
  instanceCount: number
  sessionTtlMs: number
  scryptLogN: number
  /** Behind a reverse proxy: take the client address from X-Forwarded-For. */
  trustProxy: boolean
  /** Multiplies every per-license limit (load tests); 1 in production. */
  rateLimitScale: number
  /** Concurrent event streams: dashboard (/api/events) per license, widget per visitor (per key: by tier). */
  streamCaps: { perLicense: number; perVisitor: number }
  logLevel: 'debug' | 'info' | 'warn' | 'error' | 'silent'
  /** json: one JSON object per line (production); pretty: a readable line for a terminal. */
  logFormat: 'json' | 'pretty'
  /** Bearer token for GET /metrics; unset = /metrics answers 404. */
  metricsToken: string | undefined
  demo: boolean
  /** `host:port` pairs the SSRF guard lets through (local fakes in development and tests); nothing else is exempt. */
  outboundAllowHosts: string[]
  /** Postgres: how long to wait for a connection before answering 503 unavailable. */
  dbConnectTimeoutMs: number
  /** Postgres: how long one query may take (client and server side) before answering 503 unavailable. */
  dbQueryTimeoutMs: number
  /** Postgres: distinct parameterised statements each connection prepares (0: none, e.g. behind a transaction-mode pooler). */
  dbPreparedStatements: number
  /** SIGTERM: how long in-flight requests and background tasks get before they are cut. */
  shutdownGraceMs: number
  /** Durable job worker (platform/jobs.ts); concurrency 0 makes an API-only instance. */
  jobs: { concurrency: number; leaseMs: number; retryBaseMs: number; retryMaxMs: number }
  /** Quotas, request rates, visitor caps and features per tier (platform/plans.ts): the defaults with PLANS merged over them. */
  plans: Plans
}

export interface StripeConfig {
  secretKey: string
  webhookSecret: string | undefined
  /** Price id → tier: the paid plans a subscription can be on. */
  prices: Partial<Record<Exclude<Tier, 'starter'>, string>>
  /** stripe-node's host, port and protocol, from STRIPE_API_URL (a local fake in tests). */
  host: string
  port: number
  protocol: 'http' | 'https'
  maxNetworkRetries: number
  /** How long a past_due subscription keeps its tier before it drops to starter. */
  graceMs: number
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`)
    this.name = 'ConfigError'
  }
}

/** Stops the process from starting (port taken, data folder in use); the message is the whole story, one line. */
export class StartupError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'StartupError'
  }
}

function parseProductMap(raw: string | undefined, problems: string[]): ProductMap {
  if (raw === undefined) return DEFAULT_PRODUCT_MAP
  let json: unknown
  try {
    json = JSON.parse(raw)
  } catch {
    problems.push('SQUARESPACE_PRODUCT_MAP: must be JSON, e.g. {"SKU-1":["chatbot"]}')
    return {}
  }
  const parsed = z.record(z.string(), productMapEntry).safeParse(json)
  if (!parsed.success) {
    problems.push(`SQUARESPACE_PRODUCT_MAP: ${parsed.error.issues.map((i) => `${i.path.join('.')} ${i.message}`).join('; ')}`)
    return {}
  }
  const map: ProductMap = {}
  for (const [k, v] of Object.entries(parsed.data)) map[k] = Array.isArray(v) ? { products: v } : v
  return map
}

/** OUTBOUND_ALLOW_HOSTS: exact `host:port` pairs, normalised the way URLs spell them (so `LocalHost:80` matches `localhost:80`). */
function parseAllowHosts(raw: string | undefined, problems: string[]): string[] {
  const out: string[] = []
  for (const entry of (raw ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    let url: URL | undefined
    try {
      url = new URL(`http://${entry}`)
    } catch {
      url = undefined
    }
    const port = /:(\d{1,5})$/.exec(entry)?.[1]
    if (!url || !port || Number(port) < 1 || Number(port) > 65535 || url.pathname !== '/' || url.search || url.username || !url.hostname) {
      problems.push(`OUTBOUND_ALLOW_HOSTS: "${entry}" must be host:port, e.g. localhost:5678`)
      continue
    }
    out.push(`${url.hostname}:${Number(port)}`)
  }
  return out
}

function stripeConfig(e: z.infer<typeof envSchema>): StripeConfig | null {
  if (!e.STRIPE_SECRET_KEY) return null
  const url = new URL(e.STRIPE_API_URL)
  const protocol = url.protocol === 'http:' ? 'http' : 'https'
  const prices: StripeConfig['prices'] = {}
  if (e.STRIPE_PRICE_PROFESSIONAL) prices.professional = e.STRIPE_PRICE_PROFESSIONAL
  if (e.STRIPE_PRICE_BUSINESS) prices.business = e.STRIPE_PRICE_BUSINESS
  if (e.STRIPE_PRICE_ENTERPRISE) prices.enterprise = e.STRIPE_PRICE_ENTERPRISE
  return {
    secretKey: e.STRIPE_SECRET_KEY,
    webhookSecret: e.STRIPE_WEBHOOK_SECRET,
    prices,
    host: url.hostname,
    port: url.port ? Number(url.port) : protocol === 'http' ? 80 : 443,
    protocol,
    maxNetworkRetries: e.STRIPE_MAX_NETWORK_RETRIES,
    graceMs: e.BILLING_GRACE_DAYS * 24 * 3600_000,
  }
}

/** Development secrets are generated once and kept in DATA_DIR so restarts keep sessions and keys valid. */
function devSecrets(dataDir: string): { jwt: string; pepper: string; enc: string } {
  const file = join(dataDir, 'dev-secrets.json')
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8'))
  mkdirSync(dataDir, { recursive: true })
  const s = { jwt: randomBytes(32).toString('base64url'), pepper: randomBytes(32).toString('base64url'), enc: randomBytes(32).toString('base64') }
  writeFileSync(file, JSON.stringify(s), { mode: 0o600 })
  return s
}

export function loadConfig(env: Record<string, string | undefined> = process.env, overrides: Partial<Config> = {}): Config {
  const problems: string[] = []
  const parsed = envSchema.safeParse(Object.fromEntries(Object.entries(env).filter(([, v]) => v !== '')))
  if (!parsed.success) {
    for (const issue of parsed.error.issues) problems.push(`${issue.path.join('.')}: ${issue.message}`)
    throw new ConfigError(problems)
  }
  const e = parsed.data
  const production = e.NODE_ENV === 'production'
  if (production) {
    for (const name of ['JWT_SECRET', 'KEY_PEPPER', 'ENCRYPTION_KEYS', 'DATABASE_URL', 'REDIS_URL', 'PUBLIC_URL'] as const) {
      if (!e[name]) problems.push(`${name}: required when NODE_ENV=production`)
    }
  }
  const needDev = !e.JWT_SECRET || !e.KEY_PEPPER || !e.ENCRYPTION_KEYS
  const dev = needDev && !production ? devSecrets(resolve(e.DATA_DIR)) : undefined
  const encryptionKeys = (e.ENCRYPTION_KEYS ?? dev?.enc ?? '')
    .split(',')
    .filter(Boolean)
    .map((k) => Buffer.from(k.trim(), 'base64'))
  if (encryptionKeys.some((k) => k.length !== 32)) problems.push('ENCRYPTION_KEYS: each key must be 32 bytes, base64-encoded, comma-separated newest first')
  const productMap = parseProductMap(e.SQUARESPACE_PRODUCT_MAP, problems)
  const outboundAllowHosts = parseAllowHosts(e.OUTBOUND_ALLOW_HOSTS, problems)
  const plans = parsePlans(e.PLANS, problems)
  if (e.JOBS_RETRY_MAX_MS < e.JOBS_RETRY_BASE_MS) problems.push('JOBS_RETRY_MAX_MS: must be at least JOBS_RETRY_BASE_MS')
  if (problems.length > 0) throw new ConfigError(problems)

  const publicUrl = (e.PUBLIC_URL ?? `http://localhost:${e.PORT}`).replace(/\/$/, '')
  const config: Config = {
    env: e.NODE_ENV,
    port: e.PORT,
    host: e.HOST,
    publicUrl,
    databaseUrl: e.DATABASE_URL,
    dataDir: resolve(e.DATA_DIR),
    redisUrl: e.REDIS_URL,
    redisPrefix: e.REDIS_PREFIX,
    jwtSecret: new TextEncoder().encode(e.JWT_SECRET ?? dev?.jwt ?? ''),
    keyPepper: Buffer.from(e.KEY_PEPPER ?? dev?.pepper ?? ''),
    encryptionKeys,
    squarespace: {
      webhookSecret: e.SQUARESPACE_WEBHOOK_SECRET ? Buffer.from(e.SQUARESPACE_WEBHOOK_SECRET, 'hex') : undefined,
      apiUrl: e.SQUARESPACE_API_URL.replace(/\/$/, ''),
      apiKey: e.SQUARESPACE_API_KEY,
      productMap,
    },
    n8nSecret: e.N8N_WEBHOOK_SECRET,
    stripe: stripeConfig(e),
    mail: { smtpUrl: e.SMTP_URL, from: e.MAIL_FROM ?? `Intelagent <no-reply@${new URL(publicUrl).hostname}>` },
    bodyLimitBytes: e.BODY_LIMIT_BYTES,
    instanceCount: e.INSTANCE_COUNT,
    sessionTtlMs: e.SESSION_TTL_HOURS * 3600_000,
    scryptLogN: e.SCRYPT_LOG_N,
    rateLimitScale: e.RATE_LIMIT_SCALE,
    streamCaps: { perLicense: e.SSE_STREAMS_PER_LICENSE, perVisitor: e.SSE_STREAMS_PER_VISITOR },
    trustProxy: e.TRUST_PROXY === '1',
    logLevel: e.LOG_LEVEL,
    logFormat: e.LOG_FORMAT,
    metricsToken: e.METRICS_TOKEN,
    demo: e.DEMO ? e.DEMO === '1' : !production,
    outboundAllowHosts,
    dbConnectTimeoutMs: e.DB_CONNECT_TIMEOUT_MS,
    dbQueryTimeoutMs: e.DB_QUERY_TIMEOUT_MS,
    dbPreparedStatements: e.DB_PREPARED_STATEMENTS,
    shutdownGraceMs: e.SHUTDOWN_GRACE_MS,
    jobs: { concurrency: e.JOBS_CONCURRENCY, leaseMs: e.JOBS_LEASE_MS, retryBaseMs: e.JOBS_RETRY_BASE_MS, retryMaxMs: e.JOBS_RETRY_MAX_MS },
    plans,
  }
  return { ...config, ...overrides }
}
