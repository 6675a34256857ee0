// Types shared by the loader and the chat chunk: the wire format (docs/widget-api.md) and the hand-over
// object the loader passes to the chunk's `mount`.
import type { Attributes, IdentifyParams, WidgetEvent } from './api'
import type { components } from './generated/openapi'

export type { Attributes, IdentifyParams, WidgetEvent }

// The wire shapes are the server's OpenAPI document's (src/generated/openapi.ts, written by `pnpm gen:types`).
type Schemas = components['schemas']

export type Role = Schemas['MessageRole']

export type Message = Schemas['Message']

export type WidgetConfig = Schemas['WidgetConfig']

export type Position = 'bottom-right' | 'bottom-left'

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
  /** The labelled region holding launcher and panel (the widget's one landmark on the host page). */
  region: HTMLElement
  /** The element carrying the CSS custom properties (colour, z-index). */
  host: HTMLElement
  launcher: HTMLButtonElement
  emit(event: WidgetEvent, data?: unknown): void
  /** Builds and adopts a constructable stylesheet (or a <style> fallback in old browsers). */
  sheet(css: string): void
}

/** What the chunk gives back: the loader routes every page call except on/off/show/hide here. */
export interface Controller {
  open(): void
  close(): void
  toggle(): void
  update(attributes: Attributes): void
  identify(user: IdentifyParams): void
  shutdown(): void
  setLocale(locale: string): void
  prefill(text: string): void
}

export type ControllerCall = keyof Controller

/** A page call waiting for the chunk: its name and arguments, in the order the page made them. */
export type Pending = [ControllerCall, unknown[]]
