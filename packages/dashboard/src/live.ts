// The dashboard's one connection to the license's live events (GET /api/events, cookie-authenticated), shared by every
// view that listens: opened by the first subscriber, closed when the last one leaves. Views poll only while it is down.
import type { LiveEvent } from '@intelagent/sdk'
import { useEffect, useRef, useState } from 'preact/hooks'

/** `live` once the server has subscribed the stream (its `ready` event): from then on nothing is missed. */
export type Live = 'connecting' | 'live' | 'reconnecting'

/** Every event name the stream sends (a new one fails to compile until it is listed here). */
const TYPES: Record<LiveEvent['type'], true> = {
  ready: true,
  'conversation.created': true,
  'message.created': true,
  'lead.created': true,
  'conversation.updated': true,
  'knowledge.source.progress': true,
  revoked: true,
}
/** After an answer that was not a stream (401, 429 too_many_streams) the browser gives up; we try again this much later. */
const RETRY_MS = 10_000
/** The stream outlives its last subscriber this long, so moving from one page to the next keeps it. */
const LINGER_MS = 1000

const listeners = new Set<(e: LiveEvent) => void>()
const watchers = new Set<(state: Live) => void>()
let source: EventSource | null = null
let retry: ReturnType<typeof setTimeout> | undefined
let linger: ReturnType<typeof setTimeout> | undefined
let state: Live = 'connecting'

function setState(next: Live): void {
  if (next === state) return
  state = next
  for (const w of watchers) w(next)
}

function connect(): void {
  const es = new EventSource('/api/events')
  source = es
  for (const type of Object.keys(TYPES) as LiveEvent['type'][])
    es.addEventListener(type, (e) => {
      if (type === 'ready') setState('live')
      let event: LiveEvent
      try {
        event = { ...(JSON.parse((e as MessageEvent<string>).data) as object), type } as LiveEvent
      } catch {
        return // A malformed event is skipped; the next reload shows the truth.
      }
      for (const l of listeners) l(event)
    })
  es.onerror = () => {
    setState('reconnecting')
    if (es.readyState !== EventSource.CLOSED) return // The browser reconnects by itself (Last-Event-ID, `retry:`).
    es.close()
    source = null
    retry = setTimeout(() => {
      retry = undefined
      if (listeners.size > 0) connect()
    }, RETRY_MS)
  }
}

function subscribe(onEvent: (e: LiveEvent) => void, onState: (s: Live) => void): () => void {
  listeners.add(onEvent)
  watchers.add(onState)
  clearTimeout(linger)
  onState(state)
  if (!source && !retry) connect()
  return () => {
    listeners.delete(onEvent)
    watchers.delete(onState)
    if (listeners.size === 0) linger = setTimeout(disconnect, LINGER_MS)
  }
}

function disconnect(): void {
  if (listeners.size > 0) return
  source?.close()
  source = null
  clearTimeout(retry)
  retry = undefined
  state = 'connecting'
}

/** Hears the license's live events while mounted; resolves to the stream's state. */
export function useLiveEvents(onEvent: (e: LiveEvent) => void): Live {
  const [live, setLive] = useState<Live>(state)
  const handler = useRef(onEvent)
  handler.current = onEvent
  useEffect(() => subscribe((e) => handler.current(e), setLive), [])
  return live
}

/**
 * The fallback: while `active` and the stream is not live, `reload` every `ms`; and once each time the stream becomes
 * live again, to pick up what happened while it was away. No polling while the stream is healthy.
 */
export function usePollUnlessLive(live: Live, active: boolean, reload: () => void, ms: number): void {
  const was = useRef(live)
  useEffect(() => {
    if (live === 'live' && was.current !== 'live') reload()
    was.current = live
  }, [live, reload])
  useEffect(() => {
    if (!active || live === 'live') return
    const timer = setInterval(reload, ms)
    return () => clearInterval(timer)
  }, [active, live, reload, ms])
}
