// The Intelagent chat widget for React: <Intelagent productKey baseUrl /> loads it once (the widget lives outside
// React's tree, in its own shadow root), keeps `user`, `attributes` and `locale` in step with the props, and
// useIntelagent() gives the typed page API to any component. Renders nothing, and nothing at all on a server.
import {
  type Attributes,
  type CallName,
  type IdentifyParams,
  type IntelagentApi,
  intelagentStub,
  type LoadOptions,
  loadIntelagent,
  type WidgetEvent,
} from '@intelagent/widget'
import { useEffect, useRef } from 'react'

export type { Attributes, IdentifyParams, IntelagentApi, LoadOptions, Locale, WidgetError, WidgetEvent } from '@intelagent/widget'

export interface IntelagentProps extends LoadOptions {
  /** The logged-in user (its `userHash` made by your server). Changing it identifies again; removing it calls shutdown (logout). */
  user?: IdentifyParams
  /** Custom attributes stored on the conversation; sent again whenever their content changes. */
  attributes?: Attributes
  /** The widget's language; by default the owner's setting, else the browser's. */
  locale?: string
}

const NAMES: CallName[] = ['open', 'close', 'toggle', 'show', 'hide', 'on', 'off', 'update', 'identify', 'shutdown', 'setLocale', 'prefill']

/** Forwards to `window.Intelagent` at call time (the stub queue before widget.js has loaded); a no-op on a server. */
function call(name: CallName, args: unknown[]): void {
  const api = intelagentStub() as ((...a: unknown[]) => void) | undefined
  api?.(name, ...args)
}

// Immutable and stateless: every call reads window.Intelagent, so one object serves every component.
const facade = ((name: CallName, ...args: unknown[]) => call(name, args)) as IntelagentApi
for (const name of NAMES)
  Object.defineProperty(facade, name, {
    value: (...args: unknown[]) => {
      call(name, args)
      return facade
    },
  })

/** The page API: `const chat = useIntelagent(); chat.open()`. Calls made before the widget loads are queued. */
export function useIntelagent(): IntelagentApi {
  return facade
}

/** The same object for as long as its content is the same, so effects run on real changes only. */
function useStable<T>(value: T): T {
  const ref = useRef(value)
  if (JSON.stringify(ref.current) !== JSON.stringify(value)) ref.current = value
  return ref.current
}

/** Loads the widget once per page and mirrors `user`, `attributes` and `locale` into it. */
export function Intelagent(props: IntelagentProps): null {
  const { baseUrl, productKey, locale } = props
  // The script tag's options apply once per page: later changes to them are not reloads.
  const options = useRef(props)
  options.current = props
  useEffect(() => {
    const { position, color, zIndex, open, timeoutMs } = options.current
    loadIntelagent({ baseUrl, productKey, position, color, zIndex, open, timeoutMs }).catch((err: unknown) => console.warn(err))
  }, [baseUrl, productKey])

  const user = useStable(props.user)
  const hadUser = useRef(false)
  useEffect(() => {
    if (user) facade.identify(user)
    else if (hadUser.current) facade.shutdown()
    hadUser.current = Boolean(user)
  }, [user])

  const attributes = useStable(props.attributes)
  useEffect(() => {
    if (attributes) facade.update(attributes)
  }, [attributes])

  useEffect(() => {
    if (locale) facade.setLocale(locale)
  }, [locale])
  return null
}

/** Subscribes to a widget event for as long as the calling component is mounted. */
export function useIntelagentEvent(event: WidgetEvent, handler: (data?: unknown) => void): void {
  const latest = useRef(handler)
  latest.current = handler
  useEffect(() => {
    const fn = (data?: unknown) => latest.current(data)
    facade.on(event, fn)
    return () => {
      facade.off(event, fn)
    }
  }, [event])
}
