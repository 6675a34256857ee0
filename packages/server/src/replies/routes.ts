// /api/products/:product/engine/test: "Test connection" for the product's reply engine (engine-test.ts does it).
import { z } from '@hono/zod-openapi'
import type { Deps } from '../platform/context.js'
import { tenantOf } from '../platform/context.js'
import { AppError } from '../platform/errors.js'
import { createRouter, optionalJsonBody } from '../platform/http.js'
import { ConnectionReportSchema } from '../platform/probe.js'
import { WidgetProductSchema, widgetProductParam } from '../platform/products.js'
import { access, declareRoute, json } from '../platform/route.js'
import { ENGINES, getSettings, requireSettingsFeatures, settingsSchema } from '../settings/settings.js'
import { testEngine } from './engine-test.js'

const EngineTestInputSchema = z
  .strictObject({
    engine: z.enum(ENGINES).optional().openapi({ description: 'The engine to test; default: the saved one' }),
    webhook: settingsSchema.shape.webhook.unwrap().unwrap().optional().openapi({ description: 'Webhook engine settings to test instead of the saved ones' }),
    openai: settingsSchema.shape.openai.unwrap().unwrap().optional().openapi({ description: 'OpenAI-compatible settings to test instead of the saved ones' }),
    question: z.string().trim().min(1).max(500).optional().openapi({
      description: "The visitor's message to send; default: the knowledge base's first question, or a greeting",
      example: 'Do you ship to Norway?',
    }),
  })
  .openapi('EngineTestInput')

const EngineTestResultSchema = ConnectionReportSchema.extend({
  product: WidgetProductSchema,
  engine: z.enum(ENGINES),
  tested: z.enum(['saved', 'draft']).openapi({ description: '`draft` when the request gave engine settings to test instead of the saved ones' }),
  question: z.string().openapi({ description: 'The sample visitor message that was sent' }),
  reply: z
    .object({
      kind: z.enum(['answer', 'fallback', 'deferred']).openapi({
        description: '`fallback`: the engine said it does not know; `deferred`: the flow will post its answer later',
      }),
      text: z.string().nullable(),
    })
    .nullable()
    .openapi({ description: "The engine's reply to the sample message (null when it failed)" }),
}).openapi('EngineTestResult')

export const testEngineRoute = declareRoute({
  method: 'post',
  path: '/api/products/{product}/engine/test',
  operationId: 'testReplyEngine',
  summary: 'Send one sample visitor message to the reply engine (saved, or as given) and report what happened',
  description:
    'The engine is called exactly as for a real message (signed webhook POST, streamed chat completion) with the secrets ' +
    'stored for the product; nothing is stored. ok false is still a 200: the test ran, and `error` says which step failed.',
  tag: 'products',
  teamRole: 'admin',
  access: access.customer('settings:write'),
  errors: ['product_not_purchased', 'plan_feature_required'],
  request: { params: widgetProductParam, body: optionalJsonBody(EngineTestInputSchema) },
  responses: { 200: json(EngineTestResultSchema, 'What happened (ok false is still a 200: the test ran)') },
})

export function replyRoutes(deps: Deps) {
  const app = createRouter()
  app.openapi(testEngineRoute, async (c) => {
    const { product } = c.req.valid('param')
    const principal = c.get('principal')
    if (!principal.products.includes(product)) throw new AppError('product_not_purchased', `This license did not buy ${product}`)
    const { question, ...draft } = c.req.header('content-type')?.includes('json') ? c.req.valid('json') : {}
    // Testing an AI engine is using it: the same plan rule as choosing it.
    const engine = draft.engine ?? (await getSettings(deps, tenantOf(c), product)).engine
    requireSettingsFeatures(deps.config.plans, principal.tier, { engine })
    const result = await testEngine(deps, tenantOf(c), product, { draft, ...(question ? { question } : {}) })
    return c.json({ product, ...result }, 200)
  })
  return app
}
