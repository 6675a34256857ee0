// The wire shapes of a signed-in person: the user and the session a login, a registration or an accepted
// invitation answers with.
import { z } from '@hono/zod-openapi'
import { TIERS } from '../platform/config.js'
import { PRODUCTS } from '../platform/products.js'

export const User = z
  .object({
    id: z.uuid(),
    email: z.string().openapi({ example: 'owner@shop.example.com' }),
    role: z.enum(['customer', 'admin']).openapi({ description: 'admin: an operator of this Intelagent server' }),
    teamRole: z.enum(['owner', 'admin', 'member']).nullable().openapi({ description: 'The person’s role in the license’s team (null for operators)' }),
    licenseKey: z.string().nullable().openapi({ example: 'INTL-7K3M-Q9XR-2B4F' }),
    products: z.array(z.enum(PRODUCTS)).openapi({ example: ['chatbot', 'sales-agent'] }),
    tier: z.enum(TIERS).nullable().openapi({ example: 'professional' }),
    createdAt: z.iso.datetime(),
  })
  .openapi('User')

export const Session = z
  .object({
    token: z.string().openapi({ description: 'A session JWT: send it as `Authorization: Bearer <token>` (also set as the HttpOnly intl_session cookie)' }),
    expiresAt: z.iso.datetime(),
    user: User,
  })
  .openapi('Session')
