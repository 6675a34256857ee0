// Pure helpers for the message list: merge by id and order by seq, so replays, retries and the SSE
// stream overlapping the POST answer never show a message twice.
import type { Message } from '../types'

export interface Merged {
  list: Message[]
  /** Messages that were not in the list before, in seq order. */
  added: Message[]
}

export function mergeMessages(list: readonly Message[], incoming: readonly Message[]): Merged {
  const byId = new Map(list.map((m) => [m.id, m]))
  const added: Message[] = []
  for (const m of incoming) {
    if (!byId.has(m.id)) added.push(m)
    byId.set(m.id, m)
  }
  if (added.length === 0 && incoming.length === 0) return { list: list as Message[], added }
  const sorted = [...byId.values()].sort((a, b) => a.seq - b.seq)
  return { list: sorted, added: added.sort((a, b) => a.seq - b.seq) }
}

export function lastSeq(list: readonly Message[]): number {
  return list.reduce((max, m) => Math.max(max, m.seq), 0)
}

/** Exponential backoff with jitter: 1 s, 2 s, 4 s … capped at 30 s, each scaled by a random 50–100 %. */
export function backoff(attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(30_000, 1000 * 2 ** Math.min(attempt, 10))
  return Math.round(ceiling * (0.5 + random() / 2))
}

/** A client message id: a UUID where crypto.randomUUID exists (secure contexts), random hex otherwise. */
export function clientId(): string {
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID()
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('')
}
