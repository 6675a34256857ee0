// GET /api/analytics (daily figures for a range of UTC days, their totals, the top questions) and
// GET /api/analytics/export (the same daily figures as CSV). docs/analytics.md defines every figure.
import { z } from '@hono/zod-openapi'
import type { Deps } from '../platform/context.js'
import { tenantOf } from '../platform/context.js'
import { createRouter } from '../platform/http.js'
import { WidgetProductSchema } from '../platform/products.js'
import { access, declareRoute, json } from '../platform/route.js'
import { analyticsReport, MAX_RANGE_DAYS, rangeOf, TOP_QUESTIONS, toCsv } from './report.js'

const count = z.number().int()

const FiguresShape = {
  conversations: count.openapi({ description: 'Conversations started' }),
  messages: count.openapi({ description: 'Messages written by visitors, the bot and people (visitorMessages + botMessages + personMessages)' }),
  visitorMessages: count,
  botMessages: count.openapi({ description: 'The bot’s messages, greetings included' }),
  personMessages: count.openapi({ description: 'Messages written by the owner or a teammate' }),
  answeredByBot: count.openapi({ description: 'Conversations started that day that the bot answered without handing over (docs/analytics.md)' }),
  answeredByPerson: count.openapi({ description: 'Conversations started that day in which a person replied to the visitor' }),
  notAnswered: count.openapi({ description: 'Conversations started that day in which the visitor wrote and neither of the above holds' }),
  ratedHelpful: count.openapi({ description: 'Answers rated helpful (a message’s latest rating)' }),
  ratedNotHelpful: count.openapi({ description: 'Answers rated not helpful (a message’s latest rating)' }),
  leads: count,
  conversion: z.number().nullable().openapi({ description: 'leads ÷ conversations (0 to 1, four decimals); null without conversations', example: 0.125 }),
  unansweredQuestions: count.openapi({ description: 'Questions the bot could not answer' }),
  medianFirstResponseMs: z
    .number()
    .int()
    .nullable()
    .openapi({ description: 'Median time from the visitor’s first message to the first reply (bot or person), in ms; null when none was answered' }),
}

const QuestionCountSchema = z.object({ question: z.string().openapi({ example: 'What are your opening hours?' }), count }).openapi('AnalyticsQuestionCount')

export const AnalyticsSchema = z
  .object({
    product: WidgetProductSchema.nullable().openapi({ description: 'The product asked for; null: every product together' }),
    from: z.string().openapi({ example: '2026-11-01', format: 'date' }),
    to: z.string().openapi({ example: '2026-11-30', format: 'date' }),
    totals: z
      .object(FiguresShape)
      .openapi('AnalyticsTotals', { description: 'The whole range (the median is over every conversation of the range, not a median of medians)' }),
    days: z
      .array(z.object({ day: z.string().openapi({ example: '2026-11-30', format: 'date' }), ...FiguresShape }).openapi('AnalyticsDay'))
      .openapi({ description: 'Every UTC day of the range, oldest first, zeros included' }),
    topQuestions: z.array(QuestionCountSchema).openapi({ description: `The ${TOP_QUESTIONS} most asked visitor messages (by normalised text)` }),
    topUnansweredQuestions: z.array(QuestionCountSchema).openapi({ description: `The ${TOP_QUESTIONS} most frequent questions the bot could not answer` }),
  })
  .openapi('Analytics')

const RangeQuery = z.object({
  product: WidgetProductSchema.optional().openapi({ description: 'One product; omitted: every product together' }),
  from: z.string().optional().openapi({ format: 'date', example: '2026-11-01', description: 'First UTC day (YYYY-MM-DD); default: 29 days before `to`' }),
  to: z
    .string()
    .optional()
    .openapi({ format: 'date', example: '2026-11-30', description: `Last UTC day, included; default today. At most ${MAX_RANGE_DAYS} days` }),
})

const getAnalytics = declareRoute({
  method: 'get',
  path: '/api/analytics',
  operationId: 'getAnalytics',
  summary: 'Daily conversation figures for a range of UTC days, with totals, median first-response time and top questions',
  tag: 'analytics',
  access: access.customer('analytics:read'),
  request: { query: RangeQuery },
  responses: { 200: json(AnalyticsSchema, 'The figures of every day of the range') },
  errors: ['invalid_range'],
})

const exportAnalytics = declareRoute({
  method: 'get',
  path: '/api/analytics/export',
  operationId: 'exportAnalytics',
  summary: 'The same daily figures as CSV (a header line, then one line per UTC day)',
  tag: 'analytics',
  access: access.customer('analytics:read'),
  request: { query: RangeQuery },
  responses: {
    200: {
      description: 'RFC 4180 CSV, CRLF line ends: `day`, then each daily figure under its name in the JSON report; empty cells where the JSON has null',
      content: { 'text/csv': { schema: z.string().openapi({ example: 'day,conversations,messages,…\r\n2026-11-30,12,57,…\r\n' }) } },
    },
  },
  errors: ['invalid_range'],
})

export function analyticsRoutes(deps: Deps) {
  const app = createRouter()

  app.openapi(getAnalytics, async (c) => {
    const q = c.req.valid('query')
    const range = rangeOf(q, deps.clock.now())
    return c.json(await analyticsReport(deps.db, tenantOf(c), q.product ?? null, range), 200)
  })

  app.openapi(exportAnalytics, async (c) => {
    const q = c.req.valid('query')
    const range = rangeOf(q, deps.clock.now())
    const report = await analyticsReport(deps.db, tenantOf(c), q.product ?? null, range)
    const name = `intelagent-analytics-${q.product ?? 'all'}-${range.from}-${range.to}.csv`
    return c.body(toCsv(report), 200, {
      'Content-Type': 'text/csv; charset=utf-8',
      'Content-Disposition': `attachment; filename="${name}"`,
      'Cache-Control': 'no-store',
    }) as never
  })

  return app
}
