// Per-process memory that outlives a request (a verified token, a product's settings, a dummy password hash): one
// named slot per use, held by Deps so that two app instances in one process (tests, the multi-process check) never
// share it and no module keeps state of its own.
export class Memo {
  private readonly slots = new Map<string, unknown>()

  /** The slot named `name`, made by `init` on first use. */
  slot<T>(name: string, init: () => T): T {
    if (!this.slots.has(name)) this.slots.set(name, init())
    return this.slots.get(name) as T
  }
}

/** A map that forgets its oldest entry beyond `max`: the shape every memo slot takes. */
export function boundedSet<K, V>(map: Map<K, V>, key: K, value: V, max: number): void {
  map.delete(key)
  if (map.size >= max) map.delete(map.keys().next().value as K)
  map.set(key, value)
}

const VERIFIED_MAX = 10_000

/**
 * What `verify` made of a signed token, remembered until the token expires (`exp`, seconds): a signature check never
 * changes its answer, so a token seen again skips it (bounded per slot). Revocation is the caller's own lookup.
 */
export async function verifiedOnce<T extends { exp: number }>(memo: Memo, slot: string, token: string, nowMs: number, verify: () => Promise<T>): Promise<T> {
  const seen = memo.slot(slot, () => new Map<string, T>())
  const hit = seen.get(token)
  if (hit && hit.exp * 1000 > nowMs) return hit
  const value = await verify()
  boundedSet(seen, token, value, VERIFIED_MAX)
  return value
}
