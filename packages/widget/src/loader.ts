// The loader behind `<script src=".../widget.js" data-product-key="chat_…" async>`: reads its own tag,
// draws only the launcher (in a shadow root), defines `window.Intelagent`, and imports the chat chunk on
// first interaction or when the browser is idle. Every byte here ships to every page view; keep it tiny.
import css from './loader.css?inline'
import type { Controller, Host, WidgetEvent } from './types'

/** The chat chunk's path relative to this script, e.g. "widget/chat-Ab12.js" (set by vite.config.ts). */
declare const __CHAT_CHUNK__: string

type Listener = (data?: unknown) => void
interface PageApi {
  open(): void
  close(): void
  on(event: WidgetEvent, fn: Listener): PageApi
  /** Calls queued by a stub snippet (`Intelagent.q.push(['open'])`) before this script ran. */
  q?: [keyof PageApi, ...unknown[]][]
}

const win = window as unknown as { Intelagent?: PageApi; __intelagent?: boolean }
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

  const launcher = doc.createElement('button')
  launcher.type = 'button'
  launcher.className = 'l'
  launcher.setAttribute('aria-label', 'Open chat')
  launcher.setAttribute('aria-expanded', 'false')
  launcher.append(
    icon('i1', 'M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z'),
    icon('i2', 'M6.4 5 5 6.4 10.6 12 5 17.6 6.4 19l5.6-5.6 5.6 5.6 1.4-1.4-5.6-5.6L19 6.4 17.6 5 12 10.6z'),
  )
  root.append(launcher)

  const listeners: Partial<Record<WidgetEvent, Listener[]>> = {}
  let ready = false
  let ctl: Controller | undefined
  let queue: (keyof Controller)[] = []
  let loading = false

  const h: Host = {
    api: src.origin,
    tag: { key, position, color, open: data.open === 'true' },
    root,
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
      (m: { mount(h: Host): Controller }) => {
        ctl = m.mount(h)
        for (const op of queue) ctl[op]()
        queue = []
      },
      (err) => {
        // Let a later interaction try again (a flaky network, a deploy in between).
        loading = false
        console.warn('Intelagent: could not load the chat', err)
      },
    )
  }
  const run = (op: keyof Controller) => {
    if (ctl) ctl[op]()
    else {
      queue.push(op)
      load()
    }
  }

  launcher.addEventListener('click', () => run('toggle'))
  for (const type of ['pointerenter', 'focus', 'touchstart']) launcher.addEventListener(type, load, { passive: true, once: true })
  const idle = () => ('requestIdleCallback' in window ? requestIdleCallback(load, { timeout: 4000 }) : setTimeout(load, 1500))
  // data-open="true": the chunk opens the panel itself (without stealing focus from the page).
  if (data.open === 'true') load()
  else if (doc.readyState === 'complete') idle()
  else addEventListener('load', idle, { once: true })

  const api: PageApi = {
    open: () => run('open'),
    close: () => run('close'),
    on(event, fn) {
      listeners[event] = [...(listeners[event] ?? []), fn]
      if (event === 'ready' && ready) fn()
      return api
    },
  }
  const stub = win.Intelagent
  win.Intelagent = api
  for (const [method, ...args] of stub?.q ?? []) (api[method] as (...a: unknown[]) => void)?.(...args)

  const attach = () => doc.body.append(host)
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
