// GET /api/usage (each quota's use and forecast, the daily series) and POST /api/conversations/{id}/flag (an owner
// flags a conversation as abuse: its usage is given back to this period's quotas).
import { z } from '@hono/zod-openapi'
import { sql } from 'kysely'
import type { Deps } from '../platform/context.js'
import { tenantOf } from '../platform/context.js'
import { notFound } from '../platform/errors.js'
import { createRouter } from '../platform/http.js'
import { QUOTAS } from '../platform/plans.js'
import { access, declareRoute, json } from '../platform/route.js'
import type { Usage } from './meter.js'
import { usageReport } from './report.js'

const QuotaUseSchema = z
  .object({
    quota: z.enum(QUOTAS),
    used: z.number().int(),
    limit: z.number().int(),
    periodStart: z.iso.datetime(),
    periodEnd: z.iso.datetime(),
    forecast: z.number().int().openapi({ description: 'The period-end figure if this period’s pace holds (gauges: the figure now)' }),
    runsOutAt: z.iso.datetime().nullable().openapi({ description: 'When the quota runs out at this pace, if before the period ends' }),
    status: z
      .enum(['ok', 'warning', 'exceeded'])
      .openapi({ description: 'Counted quotas: warning from 80 %, exceeded at the limit; gauges (products, seats, knowledge pages): exceeded past it' }),
  })
  .openapi('QuotaUse')

export const UsageSchema = z
  .object({
    plan: z.string().openapi({ example: 'professional' }),
    periodStart: z.iso.datetime(),
    periodEnd: z.iso.datetime(),
    quotas: z.array(QuotaUseSchema),
    daily: z
      .array(
        z.object({
          day: z.string().openapi({ example: '2026-11-30' }),
          conversations: z.number().int(),
          messages: z.number().int(),
          aiReplies: z.number().int(),
          apiCalls: z.number().int(),
          enrichments: z.number().int(),
        }),
      )
      .openapi({ description: 'Each UTC day of the period so far, oldest first' }),
  })
  .openapi('Usage')

const FlagSchema = z
  .object({
    conversation: z.object({ id: z.uuid(), flaggedAt: z.iso.datetime() }),
    returned: z
      .object({ conversations: z.number().int(), messages: z.number().int(), aiReplies: z.number().int() })
      .openapi({ description: 'Usage given back to this period’s quotas by this call (zero when already flagged or counted in an earlier period)' }),
  })
  .openapi('ConversationFlag')

const getUsage = declareRoute({
  method: 'get',
  path: '/api/usage',
  operationId: 'getUsage',
  summary: 'This billing period’s usage of every quota, with forecasts and a daily series',
  tag: 'usage',
  access: access.customer('usage:read'),
  responses: { 200: json(UsageSchema, 'Usage of each quota of the plan') },
})

const flagConversation = declareRoute({
  method: 'post',
  path: '/api/conversations/{id}/flag',
  operationId: 'flagConversation',
  summary: 'Flag a conversation as abuse: its usage is given back to the quotas and it counts no more',
  tag: 'conversations',
  access: access.customer('conversations:write'),
  request: { params: z.object({ id: z.uuid() }) },
  responses: { 200: json(FlagSchema, 'Flagged (again: nothing more is given back)') },
  errors: ['not_found'],
})

export function usageRoutes(deps: Deps, usage: Usage) {
  const app = createRouter()

  app.openapi(getUsage, async (c) => {
    const license = await deps.db.selectFrom('licenses').select(['id', 'tier', 'products']).where('id', '=', tenantOf(c)).executeTakeFirst()
    if (!license) throw notFound('License')
    // Calls this instance counted in memory are written first (other instances' within WRITE_BEHIND_MS).
    await usage.writeAllBehind(license.id)
    return c.json(await usageReport(deps, license), 200)
  })

  app.openapi(flagConversation, async (c) => {
    const licenseId = tenantOf(c)
    const { id } = c.req.valid('param')
    const now = new Date(deps.clock.now())
    // Only the call that sets flagged_at gives anything back, so concurrent or repeated flags return it once.
    const flagged = await deps.db
      .updateTable('conversations')
      .set({ flagged_at: now })
      .where('id', '=', id)
      .where('license_id', '=', licenseId)
      .where('flagged_at', 'is', null)
      .returningAll()
      .executeTakeFirst()
    const returned = { conversations: 0, messages: 0, aiReplies: 0 }
    if (flagged && flagged.unmetered === null) {
      // Each counted visitor message counted one message and one engine reply; handed-off ones counted nothing.
      const row = await deps.db
        .selectFrom('messages')
        .select((eb) => eb.fn.countAll<string>().as('n'))
        .where('license_id', '=', licenseId)
        .where('conversation_id', '=', id)
        .where('role', '=', 'visitor')
        .where(sql<boolean>`meta->>'handoff' is null`)
        .executeTakeFirstOrThrow()
      const n = Number(row.n)
      const amounts = { conversations: 1, messages: n, aiReplies: n }
      const principal = c.get('principal')
      if (await usage.giveBack({ licenseId, tier: principal.tier }, amounts, flagged.created_at, `flag:${id}`)) Object.assign(returned, amounts)
    }
    const conv =
      flagged ??
      (await deps.db.selectFrom('conversations').select(['id', 'flagged_at']).where('id', '=', id).where('license_id', '=', licenseId).executeTakeFirst())
    if (!conv?.flagged_at) throw notFound('Conversation')
    return c.json({ conversation: { id: conv.id, flaggedAt: conv.flagged_at.toISOString() }, returned }, 200)
  })

  return app
}
