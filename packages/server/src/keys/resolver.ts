// Key → license resolution, cached in local memory and Redis; revocation reaches every instance through pub/sub.
import { sql } from 'kysely'
import type { Deps } from '../platform/context.js'
import { AppError } from '../platform/errors.js'
import { keyLookup, requireWellFormedKey } from './format.js'

export interface ResolvedKey {
  id: string
  lookup: string
  /** The product, or 'api' for an intl_sk_ API key. */
  product: string
  kind: 'publishable' | 'secret' | 'api'
  /** What an API key may do; null for product keys. */
  scopes: string[] | null
  licenseId: string
  licenseKey: string
  licenseStatus: string
  tier: string
  licenseProducts: string[]
  allowedOrigins: string[]
  status: 'active' | 'revoked'
  expiresAt: number | null
}

const INVALIDATE_CHANNEL = 'keys:invalidate'
const LOCAL_TTL_MS = 30_000
const SHARED_TTL_MS = 5 * 60_000
const LOCAL_MAX = 10_000
const USAGE_FLUSH_MS = 5_000
/** Longer than a cache-miss load (one indexed query), well under the one-second revocation promise. */
export const REDROP_MS = 250

export class KeyResolver {
  private local = new Map<string, { value: ResolvedKey | null; until: number }>()
  /**
   * Well-formed keys seen in the last LOCAL_TTL_MS and their lookups: a key sent again skips the format checks and
   * the HMAC (a tenth of a cached key request's CPU). Held in this process's memory only, like the request itself.
   */
  private lookups = new Map<string, { lookup: string; until: number }>()
  private unsubscribe: (() => void) | undefined
  private usage = new Map<string, number>()
  private flushTimer: ReturnType<typeof setInterval> | undefined

  constructor(private deps: Deps) {}

  async start(): Promise<void> {
    this.unsubscribe = await this.deps.cache.subscribe(INVALIDATE_CHANNEL, (lookup) => this.local.delete(lookup))
    this.flushTimer = setInterval(() => this.deps.tasks.run('keys.usage', () => this.flushUsage()), USAGE_FLUSH_MS)
    this.flushTimer.unref()
  }

  async stop(): Promise<void> {
    this.unsubscribe?.()
    clearInterval(this.flushTimer)
    await this.flushUsage()
  }

  /** Resolves an active key or throws: malformed_key (no I/O), invalid_key, key_revoked, license_inactive. */
  async resolve(raw: string | undefined): Promise<ResolvedKey> {
    const key = await this.find(this.lookupOf(raw))
    if (!key) throw new AppError('invalid_key', 'Unknown key')
    if (key.status === 'revoked' || (key.expiresAt !== null && key.expiresAt <= this.deps.clock.now()))
      throw new AppError('key_revoked', 'This product key has been revoked or has expired')
    if (key.licenseStatus !== 'active') throw new AppError('license_inactive', `The license behind this key is ${key.licenseStatus}`)
    return key
  }

  private lookupOf(raw: string | undefined): string {
    const now = this.deps.clock.now()
    const seen = raw === undefined ? undefined : this.lookups.get(raw)
    if (seen && seen.until > now) return seen.lookup
    requireWellFormedKey(raw)
    const lookup = keyLookup(this.deps.config.keyPepper, raw as string)
    if (this.lookups.size >= LOCAL_MAX) this.lookups.delete(this.lookups.keys().next().value as string)
    this.lookups.set(raw as string, { lookup, until: now + LOCAL_TTL_MS })
    return lookup
  }

  private async find(lookup: string): Promise<ResolvedKey | null> {
    const now = this.deps.clock.now()
    const hit = this.local.get(lookup)
    if (hit && hit.until > now) return hit.value
    const shared = await this.deps.cache.get(`keys:${lookup}`)
    let value: ResolvedKey | null
    if (shared !== null) {
      value = JSON.parse(shared) as ResolvedKey | null
    } else {
      value = await this.load(lookup)
      await this.deps.cache.set(`keys:${lookup}`, JSON.stringify(value), value ? SHARED_TTL_MS : LOCAL_TTL_MS)
    }
    if (this.local.size >= LOCAL_MAX) this.local.delete(this.local.keys().next().value as string)
    this.local.set(lookup, { value, until: now + LOCAL_TTL_MS })
    return value
  }

  private async load(lookup: string): Promise<ResolvedKey | null> {
    const row = await this.deps.db
      .selectFrom('product_keys')
      .innerJoin('licenses', 'licenses.id', 'product_keys.license_id')
      .select([
        'product_keys.id',
        'product_keys.product',
        'product_keys.kind',
        'product_keys.allowed_origins',
        'product_keys.status',
        'product_keys.expires_at',
        'licenses.id as license_id',
        'licenses.key as license_key',
        'licenses.status as license_status',
        'licenses.tier',
        'licenses.products',
      ])
      .where('product_keys.lookup', '=', lookup)
      .executeTakeFirst()
    if (!row) return this.loadApiKey(lookup)
    return {
      id: row.id,
      lookup,
      product: row.product,
      kind: row.kind,
      scopes: null,
      licenseId: row.license_id,
      licenseKey: row.license_key,
      licenseStatus: row.license_status,
      tier: row.tier,
      licenseProducts: row.products,
      allowedOrigins: row.allowed_origins,
      status: row.status,
      expiresAt: row.expires_at ? row.expires_at.getTime() : null,
    }
  }

  private async loadApiKey(lookup: string): Promise<ResolvedKey | null> {
    const row = await this.deps.db
      .selectFrom('api_keys')
      .innerJoin('licenses', 'licenses.id', 'api_keys.license_id')
      .select([
        'api_keys.id',
        'api_keys.scopes',
        'api_keys.status',
        'api_keys.expires_at',
        'licenses.id as license_id',
        'licenses.key as license_key',
        'licenses.status as license_status',
        'licenses.tier',
        'licenses.products',
      ])
      .where('api_keys.lookup', '=', lookup)
      .executeTakeFirst()
    if (!row) return null
    return {
      id: row.id,
      lookup,
      product: 'api',
      kind: 'api',
      scopes: row.scopes,
      licenseId: row.license_id,
      licenseKey: row.license_key,
      licenseStatus: row.license_status,
      tier: row.tier,
      licenseProducts: row.products,
      allowedOrigins: [],
      status: row.status,
      expiresAt: row.expires_at.getTime(),
    }
  }

  /** Counts a use of an API key; written to Postgres in batches (flushUsage) instead of once per request. */
  recordUse(id: string): void {
    this.usage.set(id, (this.usage.get(id) ?? 0) + 1)
  }

  async flushUsage(): Promise<void> {
    const batch = [...this.usage]
    this.usage.clear()
    const now = new Date(this.deps.clock.now())
    for (const [id, n] of batch) {
      await this.deps.db
        .updateTable('api_keys')
        .set({ use_count: sql<string>`use_count + ${n}`, last_used_at: now })
        .where('id', '=', id)
        .execute()
    }
  }

  /** Drops a key from every instance's caches; called after any change to the key or its license. */
  async invalidate(lookups: string[]): Promise<void> {
    if (lookups.length === 0) return
    await this.drop(lookups)
    // A resolve that read the row just before the change can write the old value back into the shared and
    // local caches just after the drop above (for minutes); dropping once more a moment later closes that window.
    this.deps.tasks.run('keys.invalidate', async () => {
      await new Promise((r) => setTimeout(r, REDROP_MS))
      await this.drop(lookups)
    })
  }

  private async drop(lookups: string[]): Promise<void> {
    await this.deps.cache.del(...lookups.map((l) => `keys:${l}`))
    for (const l of lookups) {
      this.local.delete(l)
      await this.deps.cache.publish(INVALIDATE_CHANNEL, l)
    }
  }
}

/** Origin check for publishable keys: exact origins or *.domain wildcards; an empty list allows any origin. */
export function originAllowed(allowed: string[], origin: string | undefined): boolean {
  if (allowed.length === 0) return true
  if (!origin) return false
  return allowed.some((a) => {
    if (a === origin) return true
    const m = /^(https?):\/\/\*\.(.+)$/.exec(a)
    if (!m) return false
    try {
      const u = new URL(origin)
      return u.protocol === `${m[1]}:` && u.host.endsWith(`.${m[2]}`)
    } catch {
      return false
    }
  })
}
