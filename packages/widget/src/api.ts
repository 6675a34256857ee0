// The page API's public types: what `window.Intelagent` is once widget.js has loaded, shared by the loader,
// the npm entry (`loadIntelagent`) and @intelagent/react. Types only: nothing here reaches a bundle.

/** Events a page can listen to with `Intelagent('on', event, fn)`. */
export type WidgetEvent = 'ready' | 'open' | 'close' | 'message' | 'lead' | 'error'

export type Listener = (data?: unknown) => void

/**
 * Custom attributes stored on the visitor's conversation and shown in the dashboard: at most 20 keys
 * (1–40 characters of `A-Z a-z 0-9 _ . : -`), string values up to 500 characters, numbers or booleans;
 * `null` removes a key.
 */
export type Attributes = Record<string, string | number | boolean | null>

/** A logged-in user of the host site; `userHash` = hex HMAC-SHA256(product's identity secret, userId), made on the site's server. */
export interface IdentifyParams {
  userId: string
  userHash: string
  email?: string
  name?: string
}

/** Locales with translated widget strings; any other tag falls back to English (`ar` and `he` lay out right to left). */
export type Locale = 'en' | 'de' | 'fr' | 'es' | 'nl' | 'pt' | 'it' | 'ar' | 'he'

/** Payload of the `error` event: a stable code (e.g. `identity_invalid`) and a sentence for the developer. */
export interface WidgetError {
  code: string
  message: string
}

/** `window.Intelagent`: callable as `Intelagent('open')`, and the same calls as methods (`Intelagent.open()`). */
export interface IntelagentApi {
  (name: 'open' | 'close' | 'toggle' | 'show' | 'hide' | 'shutdown'): void
  (name: 'on' | 'off', event: WidgetEvent, fn: Listener): void
  (name: 'update', attributes: Attributes): void
  (name: 'identify', user: IdentifyParams): void
  (name: 'setLocale', locale: string): void
  (name: 'prefill', text: string): void
  /** Opens the chat panel (and loads the chat if it has not loaded yet). */
  open(): void
  close(): void
  toggle(): void
  /** Shows the launcher button again after `hide()`. */
  show(): void
  /** Hides the launcher button (the panel can still be opened from the page). */
  hide(): void
  on(event: WidgetEvent, fn: Listener): IntelagentApi
  off(event: WidgetEvent, fn: Listener): IntelagentApi
  update(attributes: Attributes): void
  identify(user: IdentifyParams): void
  /** Forgets the visitor on this browser (logout on the host site): the next chat starts as a new anonymous visitor. */
  shutdown(): void
  setLocale(locale: string): void
  /** Puts text in the composer without sending it. */
  prefill(text: string): void
}

/** The names `Intelagent(name, …)` accepts. */
export type CallName = 'open' | 'close' | 'toggle' | 'show' | 'hide' | 'on' | 'off' | 'update' | 'identify' | 'shutdown' | 'setLocale' | 'prefill'
