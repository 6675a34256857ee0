// The offline engine: answers with the best-matching knowledge (a Q&A pair, a document passage, or a passage of a
// crawled page, ranked by knowledge/queries.ts) and cites crawled pages; below the product's threshold, its fallback.
import { citationOf, retrieve } from '../knowledge/queries.js'
import type { Db } from '../platform/db.js'
import type { Memo } from '../platform/memo.js'
import type { ReplyEngine, ReplyResult } from './types.js'

export function createKnowledgeEngine(deps: { db: Db; memo: Memo }): ReplyEngine {
  return {
    async reply(ctx): Promise<ReplyResult> {
      const best = (await retrieve(deps, ctx.licenseId, ctx.product, ctx.message.text, 1))[0]
      const confidence = best?.confidence ?? 0
      if (!best || confidence < ctx.settings.threshold) return { kind: 'fallback', text: ctx.settings.fallback, meta: { confidence } }
      if (best.kind === 'chunk') {
        const citation = citationOf(best)
        return { kind: 'answer', text: best.answer, meta: { confidence, source: citation, sources: [citation] } }
      }
      return { kind: 'answer', text: best.answer, meta: { confidence, source: { id: best.itemId, title: best.title } } }
    },
  }
}
