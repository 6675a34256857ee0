// The wire shapes of /api/auth: what a client sends to register or log in, and the session and user it gets back.
import { z } from '@hono/zod-openapi'
import { Session, User } from '../account/schemas.js'
import { TIERS } from '../platform/config.js'
import { PRODUCTS } from '../platform/products.js'

const email = z.email().max(320).openapi({ example: 'owner@shop.example.com' })
const password = z.string().min(10, 'must be at least 10 characters').max(200).openapi({ example: 'correct horse battery' })

export const RegisterInput = z
  .strictObject({
    email: email.openapi({ description: 'The email address the license was bought with', example: 'owner@shop.example.com' }),
    password,
    license_key: z.string().max(40).openapi({ description: 'The license key from the purchase email', example: 'INTL-7K3M-Q9XR-2B4F' }),
  })
  .openapi('RegisterInput')

export const LoginInput = z.strictObject({ email, password: z.string().min(1).max(200).openapi({ example: 'correct horse battery' }) }).openapi('LoginInput')

export const Me = z
  .object({
    user: z.object({
      id: z.uuid().nullable().openapi({ description: 'null when a key is calling' }),
      email: z.string().nullable(),
      role: z.enum(['customer', 'admin']),
      teamRole: z.enum(['owner', 'admin', 'member']).nullable().openapi({ description: 'null when a key is calling, or for operators' }),
      licenseKey: z.string().nullable(),
      products: z.array(z.enum(PRODUCTS)),
      tier: z.enum(TIERS).nullable(),
    }),
    via: z.enum(['session', 'api_key', 'product_key']).openapi({ description: 'How the caller authenticated' }),
  })
  .openapi('Me')

export const LoggedOut = z.object({ loggedOut: z.literal(true) }).openapi('LoggedOut')

export { Session, User }
