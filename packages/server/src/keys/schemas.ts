// The wire shapes of /api/api-keys: secret API keys (intl_sk_), never their secret after creation.
import { z } from '@hono/zod-openapi'
import { SCOPES } from './scopes.js'

export const ApiKey = z
  .object({
    id: z.uuid(),
    name: z.string().openapi({ example: 'CRM sync' }),
    start: z.string().openapi({ description: 'The first characters of the key, to recognise it', example: 'intl_sk_4f9a' }),
    scopes: z.array(z.enum(SCOPES)).openapi({ example: ['conversations:read', 'leads:read'] }),
    status: z.enum(['active', 'revoked', 'expired']),
    expiresAt: z.iso.datetime(),
    lastUsedAt: z.iso.datetime().nullable(),
    useCount: z.number().int(),
    createdAt: z.iso.datetime(),
  })
  .openapi('ApiKey')

export const ApiKeyList = z.object({ apiKeys: z.array(ApiKey) }).openapi('ApiKeyList')

export const ApiKeyCreated = ApiKey.extend({
  key: z.string().openapi({ description: 'The secret, shown this once: store it now', example: 'intl_sk_4f9a0c7e1b2d3a5f6e7d8c9b0a1f2e3d' }),
}).openapi('ApiKeyCreated')

export const CreateApiKeyInput = z
  .strictObject({
    name: z.string().trim().min(1).max(100).openapi({ example: 'CRM sync' }),
    scopes: z
      .array(z.enum(SCOPES))
      .min(1)
      .openapi({ description: 'What the key may do (one scope per capability and direction)', example: ['conversations:read', 'leads:read'] }),
    expiresInDays: z.number().int().min(1).max(3650).default(365).openapi({ example: 90 }),
  })
  .openapi('CreateApiKeyInput')

export const ApiKeyParams = z.object({ id: z.uuid().openapi({ param: { name: 'id', in: 'path' }, example: '0b6f3c1e-2a4d-4e5f-8a9b-1c2d3e4f5a6b' }) })
