// The npm entry for bundler users: `loadIntelagent({ baseUrl, productKey })` adds the widget's one script tag
// (once per page, however often it is called), keeps calls made before the script arrives in the documented
// stub queue, and resolves with the typed page API once the loader has replaced the stub.
import type { IntelagentApi } from './api.js'

export type { Attributes, CallName, IdentifyParams, IntelagentApi, Listener, Locale, WidgetError, WidgetEvent } from './api.js'

export interface LoadOptions {
  /** Where the Intelagent server answers, e.g. "https://chat.example.com"; widget.js and the API are loaded from there. */
  baseUrl: string
  /** The product's publishable key (`chat_…` or `sale_…`). */
  productKey: string
  position?: 'bottom-right' | 'bottom-left'
  /** Brand colour, any CSS colour. */
  color?: string
  zIndex?: number
  /** Show the panel at load (without taking focus). */
  open?: boolean
  /** Reject when widget.js has not loaded within this many milliseconds (default 15000). */
  timeoutMs?: number
}

type Stub = ((...args: unknown[]) => void) & { q?: unknown[][] }
interface Win {
  Intelagent?: IntelagentApi | Stub
  /** Set by widget.js once it has booted. */
  __intelagent?: boolean
  /** The one load in progress or done, shared by every copy of this package on the page. */
  __intelagentLoad?: Promise<IntelagentApi>
}

/** Installs the documented stub when nothing is there yet, so `Intelagent(…)` works at once and is replayed later. */
export function intelagentStub(): IntelagentApi | undefined {
  if (typeof window === 'undefined') return undefined
  const w = window as unknown as Win
  if (!w.Intelagent) {
    const stub: Stub = (...args: unknown[]) => {
      stub.q = stub.q ?? []
      stub.q.push(args)
    }
    w.Intelagent = stub
  }
  return w.Intelagent as IntelagentApi
}

export function loadIntelagent(options: LoadOptions): Promise<IntelagentApi> {
  if (typeof window === 'undefined' || typeof document === 'undefined') return Promise.reject(new Error('loadIntelagent runs in a browser'))
  const w = window as unknown as Win
  intelagentStub()
  if (w.__intelagentLoad) return w.__intelagentLoad
  // Already booted from a pasted <script> tag: nothing to add.
  if (w.__intelagent && w.Intelagent) {
    w.__intelagentLoad = Promise.resolve(w.Intelagent as IntelagentApi)
    return w.__intelagentLoad
  }

  const script = document.createElement('script')
  script.src = new URL('widget.js', options.baseUrl.endsWith('/') ? options.baseUrl : `${options.baseUrl}/`).href
  script.async = true
  script.dataset.productKey = options.productKey
  if (options.position) script.dataset.position = options.position
  if (options.color) script.dataset.color = options.color
  if (options.zIndex !== undefined) script.dataset.zIndex = String(options.zIndex)
  if (options.open) script.dataset.open = 'true'

  const load = new Promise<IntelagentApi>((resolve, reject) => {
    const fail = (why: string) => {
      clearTimeout(timer)
      // A later call may try again (the network, a deploy in between).
      if (w.__intelagentLoad === load) w.__intelagentLoad = undefined
      script.remove()
      reject(new Error(`Intelagent: ${why}`))
    }
    const timer = setTimeout(() => fail(`${script.src} did not load in time`), options.timeoutMs ?? 15_000)
    script.addEventListener('load', () => {
      clearTimeout(timer)
      // widget.js runs before its load event: by now it has replaced the stub, unless it refused to boot.
      if (w.__intelagent && w.Intelagent && !('q' in w.Intelagent)) resolve(w.Intelagent as IntelagentApi)
      else fail('widget.js loaded but did not start (see the console)')
    })
    script.addEventListener('error', () => fail(`could not load ${script.src}`))
  })
  w.__intelagentLoad = load
  document.head.append(script)
  return load
}
