// The optional firmographics webhook: a signed POST of a business domain to the customer's own endpoint, through the
// SSRF-safe outbound client, with a short timeout. Its answer adds company facts; its failure never fails enrichment.
import { z } from '@hono/zod-openapi'
import type { Deps } from '../platform/context.js'
import { findUnstorable } from '../platform/input.js'
import { OutboundError } from '../platform/outbound.js'
import { getSecret } from '../platform/secrets.js'
import { SIGNATURE_HEADER, signIntelagent } from '../platform/signature.js'
import type { Firmographics } from './service.js'

export const FIRMOGRAPHICS_SECRET_NAME = 'webhook_signing_secret'
/** Answers are small JSON objects; anything bigger is not one. */
const MAX_ANSWER_BYTES = 32 * 1024

const text = (max: number) => z.string().trim().min(1).max(max)
/** What an answer may set; other fields are ignored, a field of the wrong type makes the answer unusable. */
export const firmographicsSchema = z.object({
  name: text(200).optional(),
  industry: text(100).optional(),
  size: text(50).optional(),
  employees: z.number().int().min(0).max(100_000_000).optional(),
  revenue: text(50).optional(),
  country: z
    .string()
    .regex(/^[A-Za-z]{2}$/)
    .transform((c) => c.toUpperCase())
    .optional(),
  website: text(500).optional(),
  linkedin: text(500).optional(),
  description: text(1000).optional(),
})

/** The JSON body the endpoint receives; documented in docs/enrichment.md. */
export interface FirmographicsRequest {
  event: 'enrichment.lookup'
  licenseId: string
  /** The registrable business domain; never an email address: one call answers for every lead of that company. */
  domain: string
}

export interface FirmographicsHook {
  url: string
  timeoutMs: number
}

export type FirmographicsOutcome = { ok: true; firmographics: Firmographics } | { ok: false; reason: string }

/** Calls the hook for one domain. Never throws: every failure is an outcome with a reason a person can act on. */
export async function lookupFirmographics(
  deps: Pick<Deps, 'outbound' | 'clock'>,
  hook: FirmographicsHook,
  secret: string,
  request: FirmographicsRequest,
): Promise<FirmographicsOutcome> {
  const raw = JSON.stringify(request)
  let status: number
  let body: string
  try {
    const res = await deps.outbound.request(hook.url, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json',
        Accept: 'application/json',
        [SIGNATURE_HEADER]: signIntelagent(secret, raw, Math.floor(deps.clock.now() / 1000)),
      },
      body: raw,
      timeoutMs: hook.timeoutMs,
      maxBytes: MAX_ANSWER_BYTES,
    })
    status = res.status
    body = await res.text()
  } catch (err) {
    if (err instanceof OutboundError) {
      if (err.code === 'timeout') return { ok: false, reason: `did not answer within ${hook.timeoutMs} ms` }
      if (err.code === 'url_not_allowed') return { ok: false, reason: 'its URL is not allowed (not a public address)' }
      if (err.code === 'response_too_large') return { ok: false, reason: `its answer exceeded ${MAX_ANSWER_BYTES} bytes` }
      if (err.code === 'too_many_redirects') return { ok: false, reason: 'it redirected too many times' }
      return { ok: false, reason: 'it could not be reached' }
    }
    return { ok: false, reason: 'it could not be reached' }
  }
  if (status === 204 || status === 404) return { ok: true, firmographics: {} }
  if (status < 200 || status > 299) return { ok: false, reason: `it answered HTTP ${status}` }
  let json: unknown
  try {
    json = JSON.parse(body)
  } catch {
    return { ok: false, reason: 'its answer is not JSON' }
  }
  // {"company": {...}} or the fields at the top level.
  const candidate = json && typeof json === 'object' && 'company' in json ? (json as { company: unknown }).company : json
  const parsed = firmographicsSchema.safeParse(candidate)
  if (!parsed.success || findUnstorable(parsed.data)) return { ok: false, reason: 'its answer does not match the firmographics fields' }
  const firmographics = Object.fromEntries(Object.entries(parsed.data).filter(([, v]) => v !== undefined)) as Firmographics
  return { ok: true, firmographics }
}

/** The product's signing secret, or null when none is set (the hook is then not called: unsigned calls are never sent). */
export function firmographicsSecret(deps: Pick<Deps, 'db' | 'config'>, licenseId: string): Promise<string | null> {
  return getSecret(deps, licenseId, 'data-enrichment', FIRMOGRAPHICS_SECRET_NAME)
}
