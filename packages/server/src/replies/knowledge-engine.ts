// The offline engine: answers with the best-matching knowledge item, or the product's fallback below its threshold.
import { loadIndex, search } from '../knowledge/knowledge.js'
import type { Db } from '../platform/db.js'
import type { ReplyEngine, ReplyResult } from './types.js'

export function createKnowledgeEngine(deps: { db: Db }): ReplyEngine {
  return {
    async reply(ctx): Promise<ReplyResult> {
      const index = await loadIndex(deps.db, ctx.licenseId, ctx.product)
      const best = search(index, ctx.message.text, 1)[0]
      const confidence = best?.confidence ?? 0
      if (!best || confidence < ctx.settings.threshold) return { kind: 'fallback', text: ctx.settings.fallback, meta: { confidence } }
      return { kind: 'answer', text: best.answer, meta: { confidence, source: { id: best.itemId, title: best.title } } }
    },
  }
}
