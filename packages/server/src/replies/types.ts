// The contract between the conversation pipeline and a reply engine (knowledge, webhook, openai).
import type { Deps } from '../platform/context.js'
import type { ProductSettings } from '../products/settings.js'

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

export type EngineFactory = (deps: Deps) => ReplyEngine
