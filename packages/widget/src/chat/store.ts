// What the widget keeps in localStorage, per product key: visitor id + secret, conversation id and the
// outbox of messages not yet acknowledged by the server. Nothing is written before the visitor interacts.
export interface OutboxItem {
  /** The clientMessageId the server dedups on. */
  id: string
  text: string
  /** The page the visitor sent it from (a single-page app may have moved on before it is posted). */
  pageUrl?: string
}

export interface Saved {
  visitorId?: string
  visitorSecret?: string
  conversationId?: string
  outbox: OutboxItem[]
}

export interface Store {
  read(): Saved
  write(saved: Saved): void
  /** Forgets everything for this product key (`Intelagent('shutdown')`). */
  clear(): void
}

/** localStorage can be missing or throw (privacy modes, sandboxed frames): fall back to memory. */
export function localStore(productKey: string, storage: Storage | undefined = safeLocalStorage()): Store {
  const name = `intelagent:${productKey}`
  let memory: Saved = { outbox: [] }
  return {
    read() {
      try {
        const raw = storage?.getItem(name)
        if (raw) {
          const parsed = JSON.parse(raw) as Partial<Saved>
          memory = { ...parsed, outbox: Array.isArray(parsed.outbox) ? parsed.outbox : [] }
        }
      } catch {
        // unreadable or corrupt: keep what we have in memory
      }
      return { ...memory, outbox: [...memory.outbox] }
    },
    write(saved) {
      memory = { ...saved, outbox: [...saved.outbox] }
      try {
        storage?.setItem(name, JSON.stringify(memory))
      } catch {
        // quota or privacy mode: memory only
      }
    },
    clear() {
      memory = { outbox: [] }
      try {
        storage?.removeItem(name)
      } catch {
        // nothing stored, or storage unusable
      }
    },
  }
}

function safeLocalStorage(): Storage | undefined {
  try {
    return globalThis.localStorage
  } catch {
    return undefined
  }
}
