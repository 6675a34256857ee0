// Small shared pieces: links, copy buttons, error and status notes, and a loader hook.
import type { ComponentChildren } from 'preact'
import { useCallback, useEffect, useRef, useState } from 'preact/hooks'
import { errorText } from './api.js'
import { BASE, onLinkClick } from './router.js'

export function Link(props: { to: string; children: ComponentChildren; class?: string; current?: boolean }) {
  return (
    <a href={`${BASE}${props.to}`} onClick={onLinkClick} class={props.class} aria-current={props.current ? 'page' : undefined}>
      {props.children}
    </a>
  )
}

export function ErrorNote({ error }: { error: unknown }) {
  if (!error) return null
  return (
    <p class="note note-error" role="alert">
      {errorText(error)}
    </p>
  )
}

/** The foot of a settings form: its error, the submit button and a live "saved" status. */
export function SaveFooter({ error, busy, label, status }: { error: unknown; busy: boolean; label: string; status: string }) {
  return (
    <>
      <ErrorNote error={error} />
      <div class="actions">
        <button type="submit" disabled={busy}>
          {label}
        </button>
        <span aria-live="polite" class="muted">
          {status}
        </span>
      </div>
    </>
  )
}

/**
 * A secret or one-time link shown once (a new API key, a signing secret, an invitation link): it lives only in the
 * caller's state, and focus moves to its heading so keyboard and screen-reader users land on what they must copy.
 */
export function ShownOnce(props: {
  id: string
  title: ComponentChildren
  /** What the value is for and that it will not be shown again. */
  children: ComponentChildren
  value: string
  copyLabel: string
  doneLabel?: string
  onDone: () => void
  testId?: string
}) {
  const heading = useRef<HTMLHeadingElement>(null)
  useEffect(() => heading.current?.focus(), [props.value])
  return (
    <section class="note note-ok" role="status" aria-labelledby={props.id}>
      <h2 id={props.id} ref={heading} tabIndex={-1}>
        {props.title}
      </h2>
      <p>{props.children}</p>
      <p class="code secret">
        <code data-testid={props.testId}>{props.value}</code>
      </p>
      <div class="actions">
        <CopyButton text={props.value} label={props.copyLabel} />
        <button type="button" class="button-secondary" onClick={props.onDone}>
          {props.doneLabel ?? 'Done, I have stored it'}
        </button>
      </div>
    </section>
  )
}

/** Copies text and says so in a live region (screen readers hear "Copied"). */
export function CopyButton({ text, label }: { text: string; label: string }) {
  const [state, setState] = useState<'idle' | 'copied' | 'failed'>('idle')
  async function copy() {
    try {
      await navigator.clipboard.writeText(text)
      setState('copied')
    } catch {
      setState('failed')
    }
    setTimeout(() => setState('idle'), 2000)
  }
  return (
    <span class="copy">
      <button type="button" class="button-secondary" onClick={copy}>
        {label}
      </button>
      <span class="copy-status" aria-live="polite">
        {state === 'copied' ? 'Copied' : state === 'failed' ? 'Copy failed: select the text and copy it' : ''}
      </span>
    </span>
  )
}

export interface Loaded<T> {
  data: T | undefined
  error: unknown
  loading: boolean
  reload: () => void
  set: (update: (prev: T | undefined) => T | undefined) => void
}

/** Runs `load` on mount and whenever `deps` change; the latest call wins. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): Loaded<T> {
  const [data, setData] = useState<T | undefined>(undefined)
  const [error, setError] = useState<unknown>(null)
  const [loading, setLoading] = useState(true)
  const [tick, setTick] = useState(0)
  useEffect(() => {
    let live = true
    setLoading(true)
    load().then(
      (value) => {
        if (!live) return
        setData(value)
        setError(null)
        setLoading(false)
      },
      (err: unknown) => {
        if (!live) return
        setError(err)
        setLoading(false)
      },
    )
    return () => {
      live = false
    }
  }, [...deps, tick])
  const reload = useCallback(() => setTick((t) => t + 1), [])
  return { data, error, loading, reload, set: setData }
}

/** Runs an action, tracking busy state and its error, for buttons and forms. */
export function useAction() {
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<unknown>(null)
  const run = useCallback(async (action: () => Promise<unknown>): Promise<boolean> => {
    setBusy(true)
    setError(null)
    try {
      await action()
      return true
    } catch (err) {
      setError(err)
      return false
    } finally {
      setBusy(false)
    }
  }, [])
  return { busy, error, run, setError }
}
