// "Test connection" for a product's reply engine: one realistic visitor message through the real engine code (the
// webhook engine's signed POST, the OpenAI-compatible streamed chat completion), its exchange traced by the shared
// probe (platform/probe.ts). The built-in knowledge engine calls no one: it answers from the knowledge base.
import { randomUUID } from 'node:crypto'
import type { Deps } from '../platform/context.js'
import { type ConnectionReport, localReport, type Probe, type ProbeError, startProbe } from '../platform/probe.js'
import { getSecret } from '../platform/secrets.js'
import { getSettings, type ProductSettings, settingsSchema } from '../settings/settings.js'
import { createKnowledgeEngine } from './knowledge-engine.js'
import { createOpenAiEngine, OPENAI_SECRET_NAME } from './openai.js'
import type { ReplyContext, ReplyResult, ReplySink } from './types.js'
import { createWebhookEngine, WEBHOOK_SECRET_NAME } from './webhook.js'

/** Asked when the knowledge base has no question of its own to ask. */
export const SAMPLE_QUESTION = 'Hello! What can you help me with?'
/** As long as respond() gives a real reply. */
const TEST_TIMEOUT_MS = 60_000
/** The report quotes this much of the engine's reply. */
const REPLY_CHARS = 1000

/** Engine settings to test instead of the saved ones (the dashboard tests before it saves). */
export type EngineDraft = Partial<Pick<ProductSettings, 'engine' | 'webhook' | 'openai'>>

export interface EngineTestResult extends ConnectionReport {
  engine: ProductSettings['engine']
  /** `saved`: the product's settings as stored; `draft`: with the engine settings of the request laid over them. */
  tested: 'saved' | 'draft'
  question: string
  reply: { kind: ReplyResult['kind']; text: string | null } | null
}

const silent: ReplySink = { typing: () => {}, token: () => {} }

/** The knowledge base's first question, so the test asks what a visitor of this product would. */
async function sampleQuestion(deps: Pick<Deps, 'db'>, licenseId: string, product: string): Promise<string> {
  const first = await deps.db
    .selectFrom('knowledge_items')
    .select('title')
    .where('license_id', '=', licenseId)
    .where('product', '=', product)
    .where('kind', '=', 'qa')
    .orderBy('created_at')
    .orderBy('id')
    .limit(1)
    .executeTakeFirst()
  return first?.title.trim() || SAMPLE_QUESTION
}

const quote = (r: ReplyResult): EngineTestResult['reply'] => ({
  kind: r.kind,
  text: r.kind === 'deferred' ? null : r.text.length > REPLY_CHARS ? `${r.text.slice(0, REPLY_CHARS)}…` : r.text,
})

/** Where an engine that threw went wrong: before calling out, at the answer's status, or in the answer itself. */
function judge(err: unknown, probe: Probe): ProbeError {
  const message = String((err as Error)?.message ?? err)
  if (probe.requests === 0) return { code: 'not_configured', message }
  if (probe.status !== null && (probe.status < 200 || probe.status > 299)) return { code: 'http_status', message }
  return { code: 'invalid_answer', message }
}

export async function testEngine(
  deps: Deps,
  licenseId: string,
  product: string,
  input: { draft?: EngineDraft; question?: string } = {},
): Promise<EngineTestResult> {
  const saved = await getSettings(deps, licenseId, product)
  const draft = input.draft && Object.values(input.draft).some((v) => v !== undefined) ? input.draft : undefined
  const settings = draft ? settingsSchema.parse({ ...saved, ...draft }) : saved
  const question = input.question ?? (await sampleQuestion(deps, licenseId, product))
  // A conversation of its own, never stored: the ids have the real shape, so a flow that checks them accepts them.
  const ctx: ReplyContext = {
    licenseId,
    product,
    conversationId: randomUUID(),
    settings,
    history: [{ role: 'visitor', text: question }],
    message: { id: randomUUID(), seq: 1, text: question },
    signal: AbortSignal.timeout(TEST_TIMEOUT_MS),
  }
  const about = { engine: settings.engine, tested: draft ? 'draft' : 'saved', question } as const

  if (settings.engine === 'knowledge') {
    const started = performance.now()
    const result = await createKnowledgeEngine(deps).reply(ctx, silent)
    return { ...localReport(Math.round(performance.now() - started)), ...about, reply: quote(result) }
  }

  // The engine reads its secret itself; it is read here too only to blank it out of anything the report quotes.
  const secret = await getSecret(deps, licenseId, product, settings.engine === 'webhook' ? WEBHOOK_SECRET_NAME : OPENAI_SECRET_NAME)
  const probe = startProbe(deps.outbound, { secrets: [secret] })
  const via = { ...deps, outbound: probe.outbound }
  const engine = settings.engine === 'webhook' ? createWebhookEngine(via, { retry: false }) : createOpenAiEngine(via)
  try {
    const result = await engine.reply(ctx, silent)
    return { ...probe.report(null), ...about, reply: quote(result) }
  } catch (err) {
    return { ...probe.report(judge(err, probe)), ...about, reply: null }
  }
}
