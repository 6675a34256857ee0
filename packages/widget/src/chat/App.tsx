// The chat panel: header, message log, suggested questions, composer, the sales qualification flow and the lead form.
import type { ComponentChildren } from 'preact'
import { useEffect, useRef, useState } from 'preact/hooks'
import type { Host, Message } from '../types'
import { ApiError } from './api'
import { fmt, type Strings } from './i18n'
import { lastSeq } from './messages'
import type { Session, State } from './session'

type Phase = 'ask' | 'form' | 'chat'
/** A bubble that exists only in this page (qualification questions and answers, the lead thank-you). */
interface Local {
  id: string
  role: 'visitor' | 'assistant'
  text: string
  /** The last server seq when it was added: it is shown after that message. */
  at: number
}

const STATUS: Record<State['status'], keyof Strings | undefined> = {
  idle: undefined,
  connecting: 'connecting',
  live: 'online',
  reconnecting: 'reconnecting',
  failed: 'unavailable',
}

export function App({ s, h, t }: { s: Session; h: Host; t: Strings }) {
  const [, setVersion] = useState(0)
  useEffect(() => s.subscribe(() => setVersion((n) => n + 1)), [s])
  const st = s.state
  const config = st.config
  const questions = config?.sales?.questions ?? []
  const [phase, setPhase] = useState<Phase | undefined>(undefined)
  const [locals, setLocals] = useState<Local[]>([])
  const [answers, setAnswers] = useState<Record<string, string>>({})
  const input = useRef<HTMLTextAreaElement>(null)
  const seqNow = () => lastSeq(s.state.messages)
  const panel = useRef<HTMLElement>(null)
  const log = useRef<HTMLDivElement>(null)

  // The sales agent qualifies first, unless this visitor has already talked to us in this conversation.
  const historyLoaded = st.messages.length > 0 || st.status === 'live'
  useEffect(() => {
    if (phase || !config || !historyLoaded) return
    const talked = st.messages.some((m) => m.role === 'visitor') || st.pending.length > 0
    if (config.product === 'sales-agent' && !talked) {
      if (questions[0]) {
        setLocals([{ id: 'q0', role: 'assistant', text: questions[0], at: seqNow() }])
        setPhase('ask')
      } else setPhase('form')
    } else setPhase('chat')
  }, [config, historyLoaded, phase])

  // Focus follows the panel: into it on open, back to the launcher on close.
  const wasOpen = useRef(false)
  /** Whether the visitor has used the panel (so moving focus inside it is expected, not stolen). */
  const engaged = useRef(false)
  useEffect(() => {
    if (st.open && !wasOpen.current && s.focusOnOpen) {
      engaged.current = true
      focusFirst(panel.current)
    }
    wasOpen.current = st.open
  }, [st.open])
  // Switching between chat and lead form removes the focused element: keep focus in the panel.
  useEffect(() => {
    const active = h.root.activeElement
    if (st.open && engaged.current && (phase === 'form' || !active || !panel.current?.contains(active))) focusFirst(panel.current)
  }, [phase])

  const count = st.messages.length + locals.length + st.pending.length + (st.draft ? 1 : 0) + (st.typing ? 1 : 0)
  useEffect(() => {
    const el = log.current
    if (el) el.scrollTop = el.scrollHeight
  }, [count, st.draft, st.open, phase])

  // Past the plan's quota a person answers: say so once, and ask for an email so the answer reaches the visitor.
  const handedOff = useRef(false)
  useEffect(() => {
    if (!st.handoff || handedOff.current || phase !== 'chat') return
    handedOff.current = true
    setLocals([...locals, { id: 'human', role: 'assistant', text: t.human, at: seqNow() }])
    setPhase('form')
  }, [st.handoff, phase])

  // The sales agent did not know: it asks for an email (lead capture) so a person can follow up. Once per visit.
  const askedEmail = useRef(false)
  const unsure = st.messages.some((m) => m.unanswered)
  useEffect(() => {
    if (!unsure || askedEmail.current || phase !== 'chat' || config?.product !== 'sales-agent') return
    askedEmail.current = true
    setPhase('form')
  }, [unsure, phase])

  // Intelagent('prefill', text): into the composer whenever one is on screen, without sending it.
  useEffect(() => {
    const el = input.current
    if (st.prefill === undefined || !el) return
    el.value = st.prefill
    s.tookPrefill()
  })

  // Opened by data-open at load: the first touch of the panel is the visitor's first interaction.
  const interact = (e: Event) => {
    engaged.current = true
    // A suggested question starts the chat itself when chosen: starting as it is pressed or focused would remove it.
    if (st.status === 'idle' && !(e.target as Element).closest('.q')) void s.start()
  }

  const close = () => {
    s.setOpen(false)
    h.launcher.focus()
  }

  const submit = (e: Event) => {
    e.preventDefault()
    const el = input.current
    const text = el?.value.trim()
    if (!el || !text) return
    el.value = ''
    if (phase === 'ask') {
      const i = Object.keys(answers).length
      const q = questions[i] ?? ''
      const next = questions[i + 1]
      setAnswers({ ...answers, [q]: text.slice(0, 2000) })
      const at = seqNow()
      setLocals([...locals, { id: `a${i}`, role: 'visitor', text, at }, ...(next ? [{ id: `q${i + 1}`, role: 'assistant' as const, text: next, at }] : [])])
      if (!next) setPhase('form')
    } else s.send(text)
  }

  const name = config?.botName ?? 'Chat'
  const unavailable = st.status === 'failed' || (!config && st.status === 'reconnecting')
  // Suggested questions: under the greeting until the visitor's first message (sent, queued or a sales answer),
  // in the chat (the sales agent qualifies first) or in a chatbot's data-open panel before anything has started.
  const talked = st.messages.some((m) => m.role === 'visitor') || st.pending.length > 0 || locals.some((l) => l.role === 'visitor')
  const early = !phase && st.status === 'idle' && config?.product === 'chatbot'
  const offer = talked || unavailable || !(phase === 'chat' || early) ? [] : (config?.suggestions ?? [])
  const pick = (q: string) => {
    engaged.current = true
    s.send(q)
    // The chosen button goes away with the others: the composer keeps the focus in the panel.
    input.current?.focus()
  }
  // Server messages in seq order, each local bubble right after the message that was last when it appeared.
  const timeline: { id: string; role: Message['role']; text: string; order: number; m?: Message }[] = [
    ...st.messages.map((m) => ({ id: m.id, role: m.role, text: m.text, order: m.seq, m })),
    ...locals.map((l, i) => ({ id: l.id, role: l.role, text: l.text, order: l.at + 0.5 + i / 1e4 })),
  ].sort((a, b) => a.order - b.order)
  const shown = new Set(st.messages.map((m) => m.clientMessageId))

  return (
    // A labelled dialog inside the widget's region, and no <header>/<footer>: those would add a second
    // banner and contentinfo landmark to the host page.
    <section ref={panel} class="p" role="dialog" aria-label={fmt(t.dialog, name)} hidden={!st.open} onFocusIn={interact} onPointerDown={interact}>
      <div class="h">
        <span class="av" aria-hidden="true">
          {name.charAt(0).toUpperCase()}
        </span>
        <div class="ht">
          <h2>{name}</h2>
          <p>{STATUS[st.status] ? t[STATUS[st.status]!] : ''}</p>
        </div>
        <button type="button" class="x" aria-label={t.close} onClick={close}>
          <svg viewBox="0 0 24 24" aria-hidden="true">
            <path d="M6.4 5 5 6.4 10.6 12 5 17.6 6.4 19l5.6-5.6 5.6 5.6 1.4-1.4-5.6-5.6L19 6.4 17.6 5 12 10.6z" />
          </svg>
        </button>
      </div>
      {unavailable ? (
        <div class="err" role="alert" tabIndex={-1}>
          {st.status !== 'failed' ? t.retrying : st.error === 'origin_not_allowed' ? t.notEnabled : t.down}
        </div>
      ) : phase === 'form' ? (
        <LeadForm
          s={s}
          t={t}
          consentText={config?.sales?.consentText ?? t.consent}
          answers={answers}
          onDone={(note) => {
            if (note) setLocals([...locals, { id: `thanks${locals.length}`, role: 'assistant', text: note, at: seqNow() }])
            setPhase('chat')
          }}
        />
      ) : (
        <div class="m" ref={log} role="log" aria-live="polite" aria-label={t.messages}>
          {timeline.map((m) => (
            <Bubble key={m.id} t={t} from={m.role} name={name} text={m.text} m={m.m} s={s} />
          ))}
          {st.pending
            .filter((p) => !shown.has(p.id))
            .map((p) => (
              <Bubble key={p.id} t={t} from="visitor" name={name} text={p.text} note={st.status === 'live' ? t.sending : t.waiting} />
            ))}
          {st.draft ? <Bubble t={t} from="assistant" name={name} text={st.draft} /> : null}
          {st.typing && !st.draft ? (
            <div class="b a t">
              <span class="sr">{fmt(t.typing, name)}</span>
              <i />
              <i />
              <i />
            </div>
          ) : null}
          {st.status === 'idle' && !st.messages.length && config?.greeting ? <Bubble t={t} from="assistant" name={name} text={config.greeting} /> : null}
          {offer.length ? (
            <fieldset class="q" aria-label={t.suggestions}>
              {offer.map((q) => (
                <button key={q} type="button" dir="auto" onClick={() => pick(q)}>
                  {q}
                </button>
              ))}
            </fieldset>
          ) : null}
          {!phase && (st.status === 'connecting' || st.status === 'reconnecting') ? <p class="note">{t.connecting}</p> : null}
        </div>
      )}
      {!unavailable && phase !== 'form' ? (
        <form class="c" onSubmit={submit}>
          <label class="sr" for="ia-in">
            {phase === 'ask' ? t.answer : t.message}
          </label>
          <textarea
            id="ia-in"
            ref={input}
            rows={1}
            maxLength={4000}
            dir="auto"
            autocomplete="off"
            placeholder={phase === 'ask' ? t.typeAnswer : t.typeMessage}
            onKeyDown={(e) => {
              if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) submit(e)
            }}
          />
          <button type="submit" class="send" aria-label={t.send}>
            <svg viewBox="0 0 24 24" aria-hidden="true">
              <path d="M3 20.5 21 12 3 3.5v6.6l12 1.9-12 1.9z" />
            </svg>
          </button>
        </form>
      ) : null}
      <div class="f">
        {phase === 'chat' && !unavailable ? (
          <span>
            <button type="button" class="lk" onClick={() => setPhase('form')}>
              {config?.product === 'sales-agent' ? t.talkToSales : t.leaveEmail}
            </button>
            {st.handoff ? null : (
              <button type="button" class="lk" onClick={() => void s.askHuman()}>
                {t.talkToPerson}
              </button>
            )}
          </span>
        ) : (
          <span />
        )}
        {config?.branding === false ? null : <span>{t.powered}</span>}
      </div>
    </section>
  )
}

/** The composer (or the form's first field), else the error, else the close button. */
function focusFirst(root: HTMLElement | null): void {
  for (const sel of ['textarea, input', '.err', '.x']) {
    const el = root?.querySelector<HTMLElement>(sel)
    if (el) {
      el.focus()
      return
    }
  }
}

function Bubble({
  t,
  from,
  name,
  text,
  note,
  m,
  s,
}: {
  t: Strings
  from: Message['role']
  name: string
  text: string
  note?: string
  m?: Message
  s?: Session
}) {
  const mine = from === 'visitor'
  // The bot's answers (not the greeting, seq 1) carry helpful / not helpful buttons; pressed shows the choice.
  const rateable = m && s && m.role === 'assistant' && m.seq > 1
  const sources = m?.sources
  return (
    // dir="auto": each message reads in its own direction (an English answer inside a right-to-left widget).
    <div class={`b ${mine ? 'v' : from === 'agent' ? 'a g' : 'a'}`} dir="auto">
      <span class="sr">{mine ? t.you : from === 'agent' ? t.agent : name}: </span>
      {linkify(text)}
      {note ? <small>{note}</small> : null}
      {rateable ? (
        <span class="r">
          {(['helpful', 'not_helpful'] as const).map((r) => (
            <button
              key={r}
              type="button"
              class={r}
              aria-label={r === 'helpful' ? t.helpful : t.notHelpful}
              aria-pressed={m.rating === r}
              onClick={() => void s.rate(m.id, r)}
            >
              <svg viewBox="0 0 24 24" aria-hidden="true">
                <path d="M2 21h4V9H2zm20-11a2 2 0 0 0-2-2h-6.3l1-4.6V3a1.5 1.5 0 0 0-.5-1L13.2 1 6.6 7.6A2 2 0 0 0 6 9v10a2 2 0 0 0 2 2h9a2 2 0 0 0 1.8-1.2l3-7.1.2-.7z" />
              </svg>
            </button>
          ))}
        </span>
      ) : null}
      {sources?.length ? (
        // The pages the answer comes from: links for crawled pages, the title alone for an uploaded file.
        <small class="s">
          {t.sources}:{' '}
          {sources.map((src, i) => [
            i ? ', ' : '',
            src.url && /^https?:\/\//.test(src.url) ? (
              <a href={src.url} target="_blank" rel="noopener noreferrer">
                {src.title}
              </a>
            ) : (
              src.title
            ),
          ])}
        </small>
      ) : null}
    </div>
  )
}

/** Plain text with http(s) links made clickable; never HTML from the server. */
function linkify(text: string): ComponentChildren {
  return text.split(/(https?:\/\/[^\s<>"]+[^\s<>".,;:!?)])/g).map((part, i) =>
    i % 2 ? (
      <a href={part} target="_blank" rel="noopener noreferrer">
        {part}
      </a>
    ) : (
      part
    ),
  )
}

function LeadForm({
  s,
  t,
  consentText,
  answers,
  onDone,
}: {
  s: Session
  t: Strings
  consentText: string
  answers: Record<string, string>
  onDone(note?: string): void
}) {
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState('')
  const onSubmit = async (e: Event) => {
    e.preventDefault()
    const f = e.currentTarget as HTMLFormElement
    const v = (n: string) => (f.elements.namedItem(n) as HTMLInputElement).value.trim()
    setBusy(true)
    setError('')
    try {
      await s.submitLead({
        name: v('name'),
        email: v('email'),
        ...(v('company') ? { company: v('company') } : {}),
        ...(v('message') ? { message: v('message') } : {}),
        consent: true,
        ...(Object.keys(answers).length ? { answers } : {}),
      })
      onDone(fmt(t.thanks, v('name'), v('email')))
    } catch (err) {
      setError(err instanceof ApiError && err.status === 422 ? t.checkFields : err instanceof ApiError && err.status === 429 ? t.tooMany : t.leadFailed)
    } finally {
      setBusy(false)
    }
  }
  return (
    <form class="lead" onSubmit={onSubmit}>
      <h3>{t.details}</h3>
      <p class="note">{t.byEmail}</p>
      <label>
        {t.name}
        <input name="name" required maxLength={200} autocomplete="name" />
      </label>
      <label>
        {t.email}
        <input name="email" type="email" required maxLength={320} autocomplete="email" />
      </label>
      <label>
        <span>
          {t.company} <span class="opt">{t.optional}</span>
        </span>
        <input name="company" maxLength={200} autocomplete="organization" />
      </label>
      <label>
        <span>
          {t.message} <span class="opt">{t.optional}</span>
        </span>
        <textarea name="message" rows={2} maxLength={4000} />
      </label>
      <label class="ck">
        <input name="consent" type="checkbox" required />
        <span>{consentText}</span>
      </label>
      {error ? (
        <p class="ferr" role="alert">
          {error}
        </p>
      ) : null}
      <div class="row">
        <button type="button" class="sec" onClick={() => onDone()}>
          {t.notNow}
        </button>
        <button type="submit" class="pri" disabled={busy}>
          {busy ? t.sending : t.send}
        </button>
      </div>
    </form>
  )
}
