// The license's live channel: what GET /api/events streams to the dashboard (Redis pub/sub across instances, the
// in-process bus in embedded mode). Conversations publish on it, and so does the knowledge crawler; the crawl's
// event is declared here, beside the channel, because both capabilities reach it and neither may import the other.
import { z } from '@hono/zod-openapi'
import { WidgetProductSchema } from './products.js'

export const licenseChannel = (id: string): string => `events:license:${id}`

/**
 * One pub/sub message for several live events: a JSON document per line (JSON.stringify writes no raw line break,
 * so the lines split back unambiguously). A visitor's message and its answer go as one publish per channel.
 */
export const liveMessage = (events: readonly unknown[]): string => events.map((e) => JSON.stringify(e)).join('\n')

/** The events of one pub/sub message (liveMessage), in order. */
export const liveEvents = <T>(raw: string): T[] => raw.split('\n').map((line) => JSON.parse(line) as T)

/** The SSE event name of a crawl's progress. */
export const KNOWLEDGE_PROGRESS = 'knowledge.source.progress'

const skipReason = z
  .string()
  .nullable()
  .openapi({ description: 'Why the page was skipped (the same codes as KnowledgeSourcePage.skipReason); null when indexed' })

export const KnowledgeProgressSchema = z
  .object({
    sourceId: z.string().openapi({ example: 'ks_3f1c2b7a9d8e4f60a1b2c3d4' }),
    product: WidgetProductSchema,
    status: z.enum(['queued', 'crawling', 'ready', 'failed']),
    pages: z
      .object({
        found: z.number().int().openapi({ description: 'Distinct URLs found so far (start page, sitemaps, links)' }),
        fetched: z.number().int().openapi({ description: 'Pages downloaded so far' }),
        indexed: z.number().int().openapi({ description: 'Pages indexed so far (the source’s pages.fetched)' }),
        skipped: z.number().int().openapi({ description: 'Pages skipped so far, each with a reason' }),
      })
      .openapi({ description: 'Of this sync; indexed + skipped of found is how far it got' }),
    lastPage: z
      .object({ url: z.string(), status: z.enum(['indexed', 'skipped']), skipReason, skipDetail: z.string().nullable() })
      .nullable()
      .openapi({ description: 'The page reported last, with its outcome; null before the first' }),
    skippedPages: z
      .array(z.object({ url: z.string(), skipReason: z.string(), skipDetail: z.string() }))
      .openapi({ description: 'Pages skipped since this source’s previous event (at most 50), with why' }),
    error: z.string().nullable().openapi({ description: 'Why the sync failed (status failed)' }),
  })
  .openapi({ title: KNOWLEDGE_PROGRESS })

export type KnowledgeProgress = z.infer<typeof KnowledgeProgressSchema>
