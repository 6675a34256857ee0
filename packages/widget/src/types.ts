// Types shared by the loader and the chat chunk: the wire format (docs/widget-api.md) and the hand-over
// object the loader passes to the chunk's `mount`.

export type Role = 'visitor' | 'assistant' | 'agent' | 'system'

export interface Message {
  id: string
  conversationId: string
  seq: number
  role: Role
  text: string
  clientMessageId: string | null
  createdAt: string
}

export interface WidgetConfig {
  product: 'chatbot' | 'sales-agent'
  botName: string
  greeting: string
  color: string
  position: Position
  engine: 'knowledge' | 'webhook' | 'openai'
  streaming: boolean
  sales: { questions: string[]; consentText: string } | null
}

export type Position = 'bottom-right' | 'bottom-left'

export type WidgetEvent = 'ready' | 'open' | 'close' | 'message' | 'lead'

/** Options read from the script tag; a missing attribute is undefined so server config can fill it. */
export interface TagOptions {
  key: string
  position: Position | undefined
  color: string | undefined
  open: boolean
}

/** What the loader hands to the chat chunk. */
export interface Host {
  /** API origin derived from the script's src, e.g. "https://app.intelagent.example". */
  api: string
  tag: TagOptions
  root: ShadowRoot
  /** The element carrying the CSS custom properties (colour, z-index). */
  host: HTMLElement
  launcher: HTMLButtonElement
  emit(event: WidgetEvent, data?: unknown): void
  /** Builds and adopts a constructable stylesheet (or a <style> fallback in old browsers). */
  sheet(css: string): void
}

/** What the chunk gives back: the loader routes `Intelagent.open()` / `close()` here. */
export interface Controller {
  open(): void
  close(): void
  toggle(): void
}
