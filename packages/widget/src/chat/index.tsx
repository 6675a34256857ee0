// The chat chunk's entry: `mount(host, pending)` is called by the loader once, with the shadow root it drew the
// launcher in and the page calls made before the chunk arrived; it returns the controller behind the page API.
import { render } from 'preact'
import type { Controller, Host, Pending } from '../types'
import { App } from './App'
import { createApi } from './api'
import css from './chat.css?inline'
import { en, fmt, isRtl, loadStrings, pickLocale, type Strings } from './i18n'
import { Session } from './session'
import { localStore } from './store'

export function mount(h: Host, pending: Pending[] = []): Controller {
  h.sheet(css)
  const s = new Session({
    api: createApi(h.api, h.tag.key),
    base: h.api,
    key: h.tag.key,
    store: localStore(h.tag.key),
    emit: h.emit,
    EventSource,
    // Read at each call, so single-page apps (pushState, popstate, Turbo) report the page the visitor is on.
    pageUrl: () => location.href,
    referrer: document.referrer,
  })
  const el = document.createElement('div')
  el.className = 'w'
  h.region.append(el)

  // Language: setLocale() beats the owner's setting, which beats the browser's.
  let t: Strings = en
  let chosen: string | undefined
  /** Bumped by shutdown: the view starts over (sales answers, lead form) for the next visitor. */
  let generation = 0
  const draw = () => render(<App key={generation} s={s} h={h} t={t} />, el)
  const want = () => {
    const owner = s.state.config?.locale
    return pickLocale(chosen, owner === 'auto' ? undefined : owner, navigator.language)
  }
  const applyLocale = async () => {
    const locale = want()
    const strings = await loadStrings(locale)
    // A later setLocale (or the config) may have changed the choice while this one loaded.
    if (locale !== want()) return
    t = strings
    el.lang = locale
    el.dir = isRtl(locale) ? 'rtl' : 'ltr'
    h.region.setAttribute('aria-label', t.region)
    draw()
    sync()
  }
  el.lang = 'en'
  el.dir = 'ltr'
  draw()

  const badge = document.createElement('span')
  badge.className = 'n'
  badge.setAttribute('aria-hidden', 'true')
  let styled = false
  function sync() {
    const { open, unread, config } = s.state
    h.launcher.setAttribute('aria-expanded', String(open))
    h.launcher.setAttribute('aria-label', open ? t.close : unread ? fmt(t.openUnread, unread) : t.open)
    badge.textContent = unread > 9 ? '9+' : String(unread)
    if (unread && !open) h.launcher.append(badge)
    else badge.remove()
    if (config && !styled) {
      styled = true
      // The script tag's attributes win over the dashboard settings.
      const color = h.tag.color ?? config.color
      h.host.style.setProperty('--ia-c', color)
      h.host.style.setProperty('--ia-fg', readableOn(color))
      h.host.classList.toggle('left', (h.tag.position ?? config.position) === 'bottom-left')
      void applyLocale().then(() => h.emit('ready'))
    }
  }
  s.subscribe(sync)

  // On phones the panel fills the visual viewport, which shrinks when the on-screen keyboard opens.
  const vv = window.visualViewport
  if (vv) {
    const fit = () => {
      h.host.style.setProperty('--ia-vh', `${vv.height}px`)
      h.host.style.setProperty('--ia-top', `${vv.offsetTop}px`)
    }
    fit()
    vv.addEventListener('resize', fit)
    vv.addEventListener('scroll', fit)
  }
  addEventListener('online', () => s.wake())
  // Esc anywhere in the widget (panel or launcher) closes it and leaves focus on the launcher.
  h.root.addEventListener('keydown', (e) => {
    if ((e as KeyboardEvent).key === 'Escape' && s.state.open) {
      s.setOpen(false)
      h.launcher.focus()
    }
  })

  const ctl: Controller = {
    open: () => s.setOpen(true),
    close: () => {
      const inside = h.root.activeElement !== null
      s.setOpen(false)
      if (inside) h.launcher.focus()
    },
    toggle: () => s.setOpen(!s.state.open),
    update: (attributes) => s.update(attributes),
    identify: (user) => s.identify(user),
    shutdown: () => {
      s.shutdown()
      generation++
      draw()
    },
    setLocale: (locale) => {
      chosen = String(locale)
      void applyLocale()
    },
    prefill: (text) => s.prefill(text),
  }

  // Calls the page made before the chunk arrived come first: a shutdown or identify decides who is resumed.
  for (const [name, args] of pending) (ctl[name] as (...a: unknown[]) => void)(...args)
  void s.loadConfig()
  // A returning visitor (who interacted before) gets the conversation back and live replies/unread counts.
  if (s.returning && !s.identifying) void s.start()
  if (h.tag.open) s.setOpen(true, false)
  return ctl
}

/** Black or white text, whichever reads better on the brand colour (WCAG relative luminance). */
function readableOn(color: string): string {
  const m = /^#?([0-9a-f]{6})$/i.exec(color)
  if (!m) return '#fff'
  const n = Number.parseInt(m[1]!, 16)
  const lin = (c: number) => {
    const v = c / 255
    return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4
  }
  const l = 0.2126 * lin(n >> 16) + 0.7152 * lin((n >> 8) & 255) + 0.0722 * lin(n & 255)
  return l > 0.179 ? '#111' : '#fff'
}
