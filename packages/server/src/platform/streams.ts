// Open Server-Sent Event streams: caps on how many may be open (counted across instances), and closing the streams
// opened with a session, key or license when it is revoked on any instance.
import { randomUUID } from 'node:crypto'
import type { Cache, Slot, SlotCheck } from './cache.js'
import type { Deps } from './context.js'
import { AppError } from './errors.js'

export const CLOSE_CHANNEL = 'streams:close'
/** A crashed instance stops renewing its streams' slots; they free themselves after this long. */
export const SLOT_TTL_MS = 60_000
const RENEW_MS = SLOT_TTL_MS / 3
/**
 * A revocation also closes streams registered up to this long after it arrives: a request authenticated just before
 * the revocation (or from a cache entry it has not yet dropped, see REDROP_MS) may open its stream just after.
 */
const LATE_MS = 2_000

export type CloseReason = 'session_revoked' | 'key_revoked' | 'license_suspended' | 'license_revoked'

/** The credentials a stream was opened with; revoking any of them closes it. */
export const streamTag = {
  session: (id: string): string => `session:${id}`,
  key: (id: string): string => `key:${id}`,
  license: (id: string): string => `license:${id}`,
}

/** One cap: `name` says what it counts in the 429's message (license, visitor, key). */
export interface StreamCap extends SlotCheck {
  name: string
}

/** Closes, on every instance, the open streams that were opened with any of these credentials. */
export async function closeStreams(cache: Cache, tags: string[], reason: CloseReason): Promise<void> {
  if (tags.length > 0) await cache.publish(CLOSE_CHANNEL, JSON.stringify({ tags, reason }))
}

/** One admitted stream: holds its cap slots until released, and hears when its credential is revoked. */
export class StreamLease {
  reason: CloseReason | undefined
  private listener: ((reason: CloseReason) => void) | undefined
  private released = false

  constructor(
    readonly id: string,
    readonly tags: string[],
    readonly slots: Slot[],
    private onRelease: (lease: StreamLease) => void,
  ) {}

  /** `listener` runs once when the stream must end (at once if that already happened). */
  onClose(listener: (reason: CloseReason) => void): void {
    this.listener = listener
    if (this.reason) listener(this.reason)
  }

  close(reason: CloseReason): void {
    if (this.reason) return
    this.reason = reason
    this.listener?.(reason)
  }

  release(): void {
    if (this.released) return
    this.released = true
    this.onRelease(this)
  }
}

export class StreamHub {
  private leases = new Set<StreamLease>()
  private byTag = new Map<string, Set<StreamLease>>()
  private recent = new Map<string, { reason: CloseReason; until: number }>()
  private unsubscribe: (() => void) | undefined
  private timer: ReturnType<typeof setInterval> | undefined

  constructor(private deps: Pick<Deps, 'cache' | 'clock' | 'tasks'>) {}

  async start(): Promise<void> {
    this.unsubscribe = await this.deps.cache.subscribe(CLOSE_CHANNEL, (raw) => this.closeTagged(raw))
    this.timer = setInterval(() => this.deps.tasks.run('streams.renew', () => this.renew()), RENEW_MS)
    this.timer.unref()
  }

  stop(): void {
    this.unsubscribe?.()
    clearInterval(this.timer)
  }

  /** Streams open on this instance. */
  get size(): number {
    return this.leases.size
  }

  /**
   * Admits a stream under every cap at once (one round trip to the shared store) or throws too_many_streams.
   * The caller must hand the lease to streamChannel at once: the stream releases it when it ends.
   */
  async open(tags: string[], caps: StreamCap[]): Promise<StreamLease> {
    const id = randomUUID()
    const full = await this.deps.cache.acquireSlots(caps, id, SLOT_TTL_MS)
    const cap = caps[full]
    if (cap)
      throw new AppError('too_many_streams', `Too many open event streams for this ${cap.name} (at most ${cap.limit}); close one and retry`, {
        headers: { 'Retry-After': '5' },
      })
    const lease = new StreamLease(
      id,
      tags,
      caps.map((c) => ({ key: c.key, member: id })),
      (l) => this.release(l),
    )
    this.leases.add(lease)
    for (const tag of tags) {
      let set = this.byTag.get(tag)
      if (!set) {
        set = new Set()
        this.byTag.set(tag, set)
      }
      set.add(lease)
    }
    const now = this.deps.clock.now()
    for (const tag of tags) {
      const late = this.recent.get(tag)
      if (late && late.until > now) lease.close(late.reason)
    }
    return lease
  }

  private release(lease: StreamLease): void {
    this.leases.delete(lease)
    for (const tag of lease.tags) {
      const set = this.byTag.get(tag)
      set?.delete(lease)
      if (set?.size === 0) this.byTag.delete(tag)
    }
    if (lease.slots.length > 0) this.deps.tasks.run('streams.release', () => this.deps.cache.releaseSlots(lease.slots))
  }

  private closeTagged(raw: string): void {
    let message: { tags: string[]; reason: CloseReason }
    try {
      message = JSON.parse(raw)
    } catch {
      return
    }
    const now = this.deps.clock.now()
    for (const [tag, r] of this.recent) if (r.until <= now) this.recent.delete(tag)
    for (const tag of message.tags) {
      this.recent.set(tag, { reason: message.reason, until: now + LATE_MS })
      for (const lease of this.byTag.get(tag) ?? []) lease.close(message.reason)
    }
  }

  /** Heartbeat: keeps this instance's slots alive in the shared store, in one call for every open stream. */
  async renew(): Promise<void> {
    const slots = [...this.leases].flatMap((l) => l.slots)
    if (slots.length > 0) await this.deps.cache.renewSlots(slots, SLOT_TTL_MS)
  }
}
