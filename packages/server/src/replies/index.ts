// Picks the reply engine a product's settings name; engines are built once per app from its dependencies.
import type { Deps } from '../platform/context.js'
import type { ProductSettings } from '../settings/settings.js'
import { createKnowledgeEngine } from './knowledge-engine.js'
import { createOpenAiEngine } from './openai.js'
import type { ReplyEngine } from './types.js'
import { createWebhookEngine } from './webhook.js'

export interface Engines {
  engineFor(settings: { engine: ProductSettings['engine'] | string }): ReplyEngine
}

export function createEngines(deps: Deps): Engines {
  const engines: Record<ProductSettings['engine'], ReplyEngine> = {
    knowledge: createKnowledgeEngine(deps),
    webhook: createWebhookEngine(deps),
    openai: createOpenAiEngine(deps),
  }
  return {
    engineFor(settings) {
      const engine = Object.hasOwn(engines, settings.engine) ? engines[settings.engine as ProductSettings['engine']] : undefined
      if (!engine) throw new Error(`Unknown reply engine: ${settings.engine}`)
      return engine
    },
  }
}

export type { ReplyContext, ReplyEngine, ReplyResult, ReplySink } from './types.js'
