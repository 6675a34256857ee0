// Live conversations: the list per product and one conversation's messages, both kept current by the
// dashboard event stream (GET /api/events, cookie-authenticated), and a reply box for a human answer.
import type { Conversation, ConversationStatus, ConversationSummary, Message, Page, WidgetProduct } from '@intelagent/sdk'
import { Fragment } from 'preact'
import { useEffect, useRef, useState } from 'preact/hooks'
import type { Me } from '../api.js'
import { api } from '../api.js'
import { ErrorNote, Link, useAction, useLoad } from '../components.js'
import { applyLiveMessage, formatWhen, mergeMessages, PRODUCT_LABELS, ROLE_LABELS, truncate } from '../format.js'
import { useLiveEvents } from '../live.js'

const STATUS_LABELS: Record<ConversationStatus, string> = { open: 'Open', waiting: 'Waiting for a person', closed: 'Closed' }
const WAITING_LABELS: Record<NonNullable<Conversation['waitingReason']>, string> = {
  unanswered: 'the bot did not know',
  visitor_request: 'the visitor asked for a person',
  quota: 'the plan’s quota is used up',
}

export function ConversationsPage({ me, selectedId }: { me: Me; selectedId: string | undefined }) {
  const products = me.products.filter((p): p is WidgetProduct => p === 'chatbot' || p === 'sales-agent')
  const [product, setProduct] = useState<WidgetProduct | undefined>(products[0])
  const [status, setStatus] = useState<ConversationStatus | ''>('')
  const [list, setList] = useState<ConversationSummary[]>([])
  const [updatedTick, setUpdatedTick] = useState(0)
  const [page, setPage] = useState<Page<ConversationSummary> | null>(null)
  const [detailMessages, setDetailMessages] = useState<Message[] | null>(null)
  const { busy, error, run } = useAction()
  const [reloadTick, setReloadTick] = useState(0)
  const listRef = useRef(list)
  listRef.current = list

  useEffect(() => {
    if (!product) return
    let live = true
    void run(async () => {
      const first = await api.conversations.list(product, { limit: 25, ...(status ? { status } : {}) })
      if (!live) return
      setPage(first)
      setList(first.data)
    })
    return () => {
      live = false
    }
  }, [product, status, reloadTick, run])

  const live = useLiveEvents((e) => {
    if (e.type === 'conversation.created' && e.product === product) setReloadTick((t) => t + 1)
    if (e.type === 'conversation.updated') {
      if (e.product === product) {
        // A status the filter hides (or shows) now: reload the list; otherwise update the row in place.
        if (status && e.status !== status) setReloadTick((t) => t + 1)
        else setList((prev) => prev.map((c) => (c.id === e.conversationId ? { ...c, status: e.status, waitingReason: e.waitingReason } : c)))
      }
      if (e.conversationId === selectedId) setUpdatedTick((t) => t + 1)
    }
    if (e.type === 'message.created') {
      if (e.product === product) {
        const next = applyLiveMessage(listRef.current, e.conversationId, e.message)
        // A conversation not on screen yet (older page, or created before we subscribed): reload the first page.
        if (next === listRef.current) setReloadTick((t) => t + 1)
        else setList(next)
      }
      if (e.conversationId === selectedId) setDetailMessages((prev) => (prev ? mergeMessages(prev, [e.message]) : prev))
    }
  })

  async function more() {
    if (!page?.hasNextPage()) return
    await run(async () => {
      const next = await page.getNextPage()
      setPage(next)
      setList((prev) => [...prev, ...next.data.filter((c) => !prev.some((p) => p.id === c.id))])
    })
  }

  if (products.length === 0) {
    return (
      <>
        <h1>Conversations</h1>
        <p>Conversations come from the chatbot and the sales agent; this license has neither.</p>
      </>
    )
  }

  return (
    <>
      <div class="title-row">
        <h1>Conversations</h1>
        <span class={`live live-${live}`} role="status">
          {live === 'live' ? 'Live' : live === 'connecting' ? 'Connecting…' : 'Reconnecting…'}
        </span>
      </div>
      {products.length > 1 && (
        <fieldset class="tabs">
          <legend class="visually-hidden">Product</legend>
          {products.map((p) => (
            <label key={p} class={p === product ? 'tab tab-active' : 'tab'}>
              <input type="radio" name="conv-product" value={p} checked={p === product} onChange={() => setProduct(p)} />
              {PRODUCT_LABELS[p]}
            </label>
          ))}
        </fieldset>
      )}
      <fieldset class="tabs">
        <legend class="visually-hidden">Status</legend>
        {(['', 'open', 'waiting', 'closed'] as const).map((st) => (
          <label key={st || 'all'} class={st === status ? 'tab tab-active' : 'tab'}>
            <input type="radio" name="conv-status" value={st} checked={st === status} onChange={() => setStatus(st)} />
            {st ? STATUS_LABELS[st] : 'All'}
          </label>
        ))}
      </fieldset>
      <ErrorNote error={error} />
      <div class="split">
        <section aria-labelledby="conv-list-title" class="conv-list">
          <h2 id="conv-list-title" class="visually-hidden">
            Conversation list
          </h2>
          {list.length === 0 && !busy && <p class="muted">No conversations yet. They appear here the moment a visitor writes.</p>}
          <ul class="plain">
            {list.map((c) => (
              <li key={c.id}>
                <Link to={`/conversations/${c.id}`} class={c.id === selectedId ? 'conv conv-selected' : 'conv'} current={c.id === selectedId}>
                  <span class="conv-top">
                    <span>{c.pageUrl ? truncate(c.pageUrl.replace(/^https?:\/\//, ''), 40) : 'Visitor'}</span>
                    <time dateTime={c.updatedAt}>{formatWhen(c.updatedAt)}</time>
                  </span>
                  {c.status !== 'open' && <span class={`status status-${c.status}`}>{STATUS_LABELS[c.status]}</span>}
                  <span class="conv-last">{c.lastMessage ? `${ROLE_LABELS[c.lastMessage.role]}: ${truncate(c.lastMessage.text, 80)}` : 'No messages'}</span>
                  <span class="muted">{c.messageCount} messages</span>
                </Link>
              </li>
            ))}
          </ul>
          {page?.hasNextPage() && (
            <button type="button" class="button-secondary" onClick={more} disabled={busy}>
              Load older conversations
            </button>
          )}
        </section>
        <section aria-labelledby="conv-detail-title" class="conv-detail">
          {selectedId ? (
            <ConversationDetail key={selectedId} id={selectedId} messages={detailMessages} setMessages={setDetailMessages} updatedTick={updatedTick} />
          ) : (
            <>
              <h2 id="conv-detail-title">No conversation open</h2>
              <p class="muted">Choose a conversation to read it and reply.</p>
            </>
          )}
        </section>
      </div>
    </>
  )
}

function ConversationDetail({
  id,
  messages,
  setMessages,
  updatedTick,
}: {
  id: string
  messages: Message[] | null
  setMessages: (update: (prev: Message[] | null) => Message[] | null) => void
  updatedTick: number
}) {
  const loaded = useLoad(() => api.conversations.get(id), [id, updatedTick])
  const [text, setText] = useState('')
  const { busy, error, run } = useAction()
  const action = useAction()
  const [conversation, setConversation] = useState<Conversation | undefined>(undefined)
  useEffect(() => {
    if (loaded.data) setConversation(loaded.data.conversation)
  }, [loaded.data])
  const lifecycle = (call: (id: string) => Promise<Conversation>) =>
    action.run(async () => {
      setConversation(await call(id))
    })
  const end = useRef<HTMLLIElement>(null)

  useEffect(() => {
    if (loaded.data) setMessages((prev) => mergeMessages(prev ?? [], loaded.data?.messages ?? []))
    return undefined
  }, [loaded.data])
  useEffect(() => {
    setMessages(() => null)
  }, [id])
  useEffect(() => {
    end.current?.scrollIntoView({ block: 'nearest' })
  }, [messages?.length])

  async function reply(e: Event) {
    e.preventDefault()
    const body = text.trim()
    if (!body) return
    const ok = await run(async () => {
      const message = await api.conversations.reply(id, body)
      setMessages((prev) => mergeMessages(prev ?? [], [message]))
      // Replying takes the conversation over: show it as the server now has it.
      loaded.reload()
    })
    if (ok) setText('')
  }

  const conv = conversation ?? loaded.data?.conversation
  return (
    <>
      <h2 id="conv-detail-title">{conv?.pageUrl ? `Visitor on ${conv.pageUrl.replace(/^https?:\/\//, '')}` : 'Conversation'}</h2>
      {conv && (
        <p class="muted">
          Started {formatWhen(conv.createdAt)} · <span class={`status status-${conv.status}`}>{STATUS_LABELS[conv.status]}</span>
          {conv.status === 'waiting' && conv.waitingReason ? ` (${WAITING_LABELS[conv.waitingReason]})` : ''}
          {conv.status === 'closed' && conv.closedBy === 'inactivity' ? ' (no activity)' : ''}
          {conv.takenOver ? ' · A person has taken over: the bot is paused' : ''}
        </p>
      )}
      {conv && (
        <div class="actions conv-actions">
          {conv.status === 'closed' ? (
            <button type="button" class="button-secondary" disabled={action.busy} onClick={() => lifecycle((i) => api.conversations.reopen(i))}>
              Reopen
            </button>
          ) : (
            <button type="button" class="button-secondary" disabled={action.busy} onClick={() => lifecycle((i) => api.conversations.close(i))}>
              Close conversation
            </button>
          )}
          {conv.takenOver ? (
            <button type="button" class="button-secondary" disabled={action.busy} onClick={() => lifecycle((i) => api.conversations.handBack(i))}>
              Hand back to the bot
            </button>
          ) : (
            <button type="button" class="button-secondary" disabled={action.busy} onClick={() => lifecycle((i) => api.conversations.takeOver(i))}>
              Take over
            </button>
          )}
        </div>
      )}
      <ErrorNote error={action.error} />
      {conv && (conv.user || Object.keys(conv.attributes ?? {}).length > 0) && (
        // Who the visitor is (a user the site verified) and what the site told us (Intelagent('update')).
        <dl class="conv-facts" aria-label="About this visitor">
          {conv.user && (
            <>
              <dt>Verified user</dt>
              <dd>{[conv.user.name, conv.user.email, `id ${conv.user.id}`].filter(Boolean).join(' · ')}</dd>
            </>
          )}
          {Object.entries(conv.attributes ?? {}).map(([name, value]) => (
            <Fragment key={name}>
              <dt>{name}</dt>
              <dd>{String(value)}</dd>
            </Fragment>
          ))}
        </dl>
      )}
      <ErrorNote error={loaded.error} />
      {/* role="log" announces new messages politely as they arrive. */}
      <div class="messages" role="log" aria-live="polite" aria-label="Messages">
        <ol class="plain">
          {(messages ?? []).map((m) => (
            <li key={m.id} class={`msg msg-${m.role}`}>
              <span class="msg-who">{ROLE_LABELS[m.role]}</span>
              <p class="msg-text">{m.text}</p>
              <time class="msg-time" dateTime={m.createdAt}>
                {formatWhen(m.createdAt)}
              </time>
            </li>
          ))}
          <li ref={end} class="msg-end" aria-hidden="true" />
        </ol>
      </div>
      <form class="reply" onSubmit={reply}>
        <label for="reply-text">Reply as a person</label>
        <textarea
          id="reply-text"
          rows={3}
          maxLength={4000}
          value={text}
          onInput={(e) => setText(e.currentTarget.value)}
          onKeyDown={(e) => {
            if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) void reply(e)
          }}
          aria-describedby="reply-hint"
        />
        <p id="reply-hint" class="hint">
          The visitor sees your answer at once, and the bot pauses in this conversation until you hand it back. Ctrl+Enter sends.
        </p>
        <ErrorNote error={error} />
        <button type="submit" disabled={busy || !text.trim()}>
          Send reply
        </button>
      </form>
    </>
  )
}
