// The wire shapes of GET /api/audit.
import { z } from '@hono/zod-openapi'

export const AuditEntry = z
  .object({
    id: z.string().openapi({ example: '1042' }),
    actor: z
      .string()
      .nullable()
      .openapi({ description: 'The person (email) who acted; null when a key acted or the platform did', example: 'owner@shop.example.com' }),
    actorKind: z.string().nullable().openapi({
      description: "'session' for a logged-in person, the key's prefix (intl_sk, agnt, data) when a key acted, null for the platform (sign-in, CLI, webhooks)",
      example: 'session',
    }),
    actorKeyId: z.string().nullable().openapi({ description: 'The id of the key that acted (an API key or a product key)' }),
    action: z.string().openapi({ example: 'key.created' }),
    target: z.string().nullable(),
    ip: z.string().nullable().openapi({ example: '203.0.113.7' }),
    meta: z.record(z.string(), z.unknown()),
    createdAt: z.iso.datetime(),
  })
  .openapi('AuditEntry')

export const AuditList = z.object({ entries: z.array(AuditEntry) }).openapi('AuditList')

export const AuditQuery = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(100).openapi({ description: 'How many entries, newest first', example: 50 }),
})
