// The loader behind `<script src=".../widget.js" data-product-key="chat_…" async>`: reads its own tag,
// draws only the launcher (in a shadow root), defines `window.Intelagent`, and imports the chat chunk on
// first interaction or when the browser is idle. Every byte here ships to every page view; keep it tiny.
import type { CallName, IntelagentApi, Listener, WidgetEvent } from './api'
import css from './loader.css?inline'
import type { Controller, ControllerCall, Host, Pending } from './types'

/** The chat chunk's path relative to this script, e.g. "widget/chat-Ab12.js" (set by vite.config.ts). */
declare const __CHAT_CHUNK__: string

/** What a page may have left before this script ran: the documented stub (a function whose `q` holds
 * `arguments` objects) or the older plain object `{ q: [['open'], …] }`. */
type Stub = { q?: ArrayLike<unknown>[] }
const NAMES: CallName[] = ['open', 'close', 'toggle', 'show', 'hide', 'on', 'off', 'update', 'identify', 'shutdown', 'setLocale', 'prefill']
/** Calls that mean the visitor is about to use the chat: worth loading the chunk now rather than at idle. */
const EAGER = ['open', 'toggle', 'prefill']

const win = window as unknown as { Intelagent?: Stub | IntelagentApi; __intelagent?: boolean }
const doc = document
const SVG = 'http://www.w3.org/2000/svg'

function icon(cls: string, d: string): SVGSVGElement {
  const svg = doc.createElementNS(SVG, 'svg')
  const path = doc.createElementNS(SVG, 'path')
  svg.setAttribute('viewBox', '0 0 24 24')
  svg.setAttribute('aria-hidden', 'true')
  svg.setAttribute('class', cls)
  path.setAttribute('d', d)
  svg.append(path)
  return svg
}

function boot(script: HTMLScriptElement): void {
  const data = script.dataset
  const key = data.productKey
  if (!key) {
    console.warn('Intelagent: the script tag needs data-product-key')
    return
  }
  // The API and the chunk live where widget.js came from, not on the page's origin.
  const src = new URL(script.src, location.href)
  const chunkUrl = new URL(__CHAT_CHUNK__, src).href

  const host = doc.createElement('intelagent-widget')
  const root = host.attachShadow({ mode: 'open' })
  // Constructable stylesheets are not "inline styles" under CSP; <style> only for browsers without them.
  const sheet = (text: string) => {
    if ('replaceSync' in CSSStyleSheet.prototype) {
      const s = new CSSStyleSheet()
      s.replaceSync(text)
      root.adoptedStyleSheets = [...root.adoptedStyleSheets, s]
    } else {
      const el = doc.createElement('style')
      el.textContent = text
      ;(root as ShadowRoot).append(el)
    }
  }
  sheet(css)
  // CSSOM writes (not style attributes) carry the per-site values; a strict style-src allows them.
  const z = Number.parseInt(data.zIndex ?? '', 10)
  if (z) host.style.setProperty('--ia-z', String(z))
  const color = data.color && CSS.supports('color', data.color) ? data.color : undefined
  if (color) host.style.setProperty('--ia-c', color)
  const position = data.position === 'bottom-left' || data.position === 'bottom-right' ? data.position : undefined
  if (position === 'bottom-left') host.classList.add('left')

  // One labelled region holds launcher and panel: the widget's single landmark on the host page.
  const region = doc.createElement('div')
  region.setAttribute('role', 'region')
  region.setAttribute('aria-label', 'Chat')
  const launcher = doc.createElement('button')
  launcher.type = 'button'
  launcher.className = 'l'
  launcher.setAttribute('aria-label', 'Open chat')
  launcher.setAttribute('aria-expanded', 'false')
  launcher.append(
    icon('i1', 'M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z'),
    icon('i2', 'M6.4 5 5 6.4 10.6 12 5 17.6 6.4 19l5.6-5.6 5.6 5.6 1.4-1.4-5.6-5.6L19 6.4 17.6 5 12 10.6z'),
  )
  region.append(launcher)
  root.append(region)

  let listeners: Partial<Record<WidgetEvent, Listener[]>> = {}
  let ready = false
  let ctl: Controller | undefined
  let queue: Pending[] = []
  let loading = false

  const h: Host = {
    api: src.origin,
    tag: { key, position, color, open: data.open === 'true' },
    root,
    region,
    host,
    launcher,
    sheet,
    emit(event, payload) {
      if (event === 'ready') ready = true
      for (const fn of listeners[event] ?? []) {
        try {
          fn(payload)
        } catch (err) {
          console.error(err)
        }
      }
    },
  }

  const load = () => {
    if (loading) return
    loading = true
    import(/* @vite-ignore */ chunkUrl).then(
      (m: { mount(h: Host, pending: Pending[]): Controller }) => {
        // The chunk applies the queued calls before it resumes anything (a queued shutdown or identify decides who the visitor is).
        ctl = m.mount(h, queue)
        queue = []
      },
      (err) => {
        // Let a later interaction try again (a flaky network, a deploy in between).
        loading = false
        console.warn('Intelagent: could not load the chat', err)
      },
    )
  }

  const call = (name: CallName, args: unknown[]) => {
    const [event, fn] = args as [WidgetEvent, Listener]
    if (name === 'on') {
      listeners[event] = [...(listeners[event] ?? []), fn]
      if (event === 'ready' && ready) fn()
    } else if (name === 'off') listeners = { ...listeners, [event]: listeners[event]?.filter((f) => f !== fn) }
    else if (name === 'show' || name === 'hide') host.classList.toggle('nl', name === 'hide')
    else if (!NAMES.includes(name)) console.warn(`Intelagent: unknown call "${String(name)}"`)
    else if (ctl) (ctl[name as ControllerCall] as (...a: unknown[]) => void)(...args)
    else {
      queue.push([name as ControllerCall, args])
      if (EAGER.includes(name)) load()
    }
  }

  launcher.addEventListener('click', () => call('toggle', []))
  for (const type of ['pointerenter', 'focus', 'touchstart']) launcher.addEventListener(type, load, { passive: true, once: true })
  const idle = () => ('requestIdleCallback' in window ? requestIdleCallback(load, { timeout: 4000 }) : setTimeout(load, 1500))
  // data-open="true": the chunk opens the panel itself (without stealing focus from the page).
  if (data.open === 'true') load()
  else if (doc.readyState === 'complete') idle()
  else addEventListener('load', idle, { once: true })

  // Callable (`Intelagent('open')`) with every call also a method (`Intelagent.open()`); on/off chain.
  const api = ((name: CallName, ...args: unknown[]) => call(name, args)) as IntelagentApi
  for (const name of NAMES)
    (api as unknown as Record<string, unknown>)[name] = (...args: unknown[]) => {
      call(name, args)
      return api
    }
  const stub = win.Intelagent as Stub | undefined
  win.Intelagent = api
  // The stub's queue holds `arguments` objects (or arrays, in the older object form), oldest first.
  for (const args of stub?.q ?? []) call(args[0] as CallName, Array.prototype.slice.call(args, 1))

  // Keep the widget on pages that swap <body> (Turbo) or its children (htmx boost): childList only, so
  // the observer never walks the page's subtree.
  let watched: HTMLElement | undefined
  const attach = () => {
    const body = doc.body
    if (!body) return
    if (body !== watched) {
      watched = body
      observer.observe(body, { childList: true })
    }
    if (!host.isConnected) body.append(host)
  }
  const observer = new MutationObserver(attach)
  observer.observe(doc.documentElement, { childList: true })
  if (doc.body) attach()
  else doc.addEventListener('DOMContentLoaded', attach, { once: true })
}

// One widget per page, however many times the snippet is pasted.
if (!win.__intelagent) {
  const script = (doc.currentScript as HTMLScriptElement | null) ?? doc.querySelector<HTMLScriptElement>('script[data-product-key][src*="widget"]')
  if (script) {
    win.__intelagent = true
    boot(script)
  }
}
