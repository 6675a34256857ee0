// Lookups of one event-loop turn answered by one statement: under load the requests a turn handles (a socket read
// holds several) each want a row by key, and one `= any($1)` read costs Postgres and this process one round trip
// instead of one each. A lone lookup waits only for the turn's end (setImmediate), not for a timer.
import type { Memo } from './memo.js'

/**
 * The batcher `make` builds for this database object, kept in the memo slot: one per database object, so a caller's
 * transaction never shares a statement with reads or writes outside it.
 */
export function perDatabase<D extends object, F>(memo: Memo, slot: string, db: D, make: (db: D) => F): F {
  const made = memo.slot(slot, () => new WeakMap<D, F>())
  let f = made.get(db)
  if (f === undefined) {
    f = make(db)
    made.set(db, f)
  }
  return f
}

/**
 * Returns a function that queues `key` and resolves with its value once `load` has answered the turn's keys.
 * `load` gets each distinct key once and answers a map; a key it leaves out resolves to undefined. When `load`
 * fails, every lookup of that turn fails with its error.
 */
export function perTurn<K, V>(load: (keys: K[]) => Promise<Map<K, V>>): (key: K) => Promise<V | undefined> {
  return perTurnAll(async (keys: K[]) => {
    const found = await load([...new Set(keys)])
    return keys.map((k) => found.get(k))
  })
}

/**
 * The items of one turn go to `run` together (in the order given) and each caller gets the answer at its item's
 * index (writes: perTurn is this for keyed reads). When `run` fails, every item of that turn fails with its error.
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
