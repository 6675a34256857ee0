// Lookups of one event-loop turn answered by one statement: under load the requests a turn handles (a socket read
// holds several) each want a row by key, and one `= any($1)` read costs Postgres and this process one round trip
// instead of one each. A lone lookup waits only for the turn's end (setImmediate), not for a timer.

/**
 * Returns a function that queues `key` and resolves with its value once `load` has answered the turn's keys.
 * `load` gets each distinct key once and answers a map; a key it leaves out resolves to undefined. When `load`
 * fails, every lookup of that turn fails with its error.
 */
export function perTurn<K, V>(load: (keys: K[]) => Promise<Map<K, V>>): (key: K) => Promise<V | undefined> {
  let pending: Map<K, { resolve: (v: V | undefined) => void; reject: (e: unknown) => void }[]> | undefined
  const flush = async (batch: NonNullable<typeof pending>) => {
    try {
      const found = await load([...batch.keys()])
      for (const [key, waiters] of batch) for (const w of waiters) w.resolve(found.get(key))
    } catch (err) {
      for (const waiters of batch.values()) for (const w of waiters) w.reject(err)
    }
  }
  return (key) =>
    new Promise<V | undefined>((resolve, reject) => {
      if (!pending) {
        const batch = new Map<K, { resolve: (v: V | undefined) => void; reject: (e: unknown) => void }[]>()
        pending = batch
        setImmediate(() => {
          pending = undefined
          void flush(batch)
        })
      }
      const waiters = pending.get(key)
      if (waiters) waiters.push({ resolve, reject })
      else pending.set(key, [{ resolve, reject }])
    })
}

/**
 * Like perTurn, for writes: the items of one turn go to `run` together (in the order given) and each caller gets
 * the answer at its item's index. When `run` fails, every item of that turn fails with its error.
 */
export function perTurnAll<I, R>(run: (items: I[]) => Promise<R[]>): (item: I) => Promise<R> {
  type Waiting = { item: I; resolve: (r: R) => void; reject: (e: unknown) => void }
  let pending: Waiting[] | undefined
  const flush = async (batch: Waiting[]) => {
    try {
      const results = await run(batch.map((b) => b.item))
      for (const [i, b] of batch.entries()) b.resolve(results[i] as R)
    } catch (err) {
      for (const b of batch) b.reject(err)
    }
  }
  return (item) =>
    new Promise<R>((resolve, reject) => {
      if (!pending) {
        const batch: Waiting[] = []
        pending = batch
        setImmediate(() => {
          pending = undefined
          void flush(batch)
        })
      }
      pending.push({ item, resolve, reject })
    })
}
