// The contract between the conversation pipeline and a reply engine (knowledge, webhook, openai).
import type { Deps } from '../platform/context.js'
import type { ProductSettings } from '../settings/settings.js'

export interface ReplyContext {
  licenseId: string
  product: string
  conversationId: string
  settings: ProductSettings
  /** Earlier messages, oldest first, the new visitor message last. */
  history: { role: 'visitor' | 'assistant' | 'agent' | 'system'; text: string }[]
  message: { id: string; seq: number; text: string }
  signal: AbortSignal
}

/** Live progress for the visitor: a typing indicator and, for streaming engines, text as it arrives. */
export interface ReplySink {
  typing(on: boolean): void
  token(delta: string): void
}

export type ReplyResult =
  /** Store this as the assistant's answer. */
  | { kind: 'answer'; text: string; meta?: Record<string, unknown> }
  /** The engine had nothing good enough: store the honest fallback and offer to take contact details. */
  | { kind: 'fallback'; text: string; meta?: Record<string, unknown> }
  /** The answer will arrive later (n8n posting to /api/webhooks/n8n/replies). */
  | { kind: 'deferred'; meta?: Record<string, unknown> }

export interface ReplyEngine {
  reply(ctx: ReplyContext, sink: ReplySink): Promise<ReplyResult>
}

/** No engine's reply is stored (or streamed) beyond this many bytes of UTF-8 text. */
export const MAX_REPLY_BYTES = 16 * 1024

/** The longest prefix of `text` within `maxBytes` of UTF-8, never splitting a character. */
export function capUtf8(text: string, maxBytes: number): string {
  const bytes = Buffer.from(text)
  if (bytes.length <= maxBytes) return text
  let end = maxBytes
  while (end > 0 && ((bytes[end] as number) & 0xc0) === 0x80) end--
  return bytes.subarray(0, end).toString('utf8')
}

export type EngineFactory = (deps: Deps) => ReplyEngine
