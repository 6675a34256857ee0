// Parsing a raw body we had to read as text (signed webhooks): same errors as the route validators.
import type { z } from 'zod'
import { AppError } from './errors.js'
import { assertStorable } from './input.js'

export function parseJsonBody<S extends z.ZodType>(schema: S, raw: string): z.infer<S> {
  let data: unknown
  try {
    data = JSON.parse(raw)
  } catch {
    throw new AppError('invalid_json', 'Request body is not valid JSON')
  }
  // The whole document, not only the fields the schema keeps: a raw body may be stored as it came (jsonb).
  assertStorable(data, 'json')
  const result = schema.safeParse(data)
  if (!result.success) {
    const issues = result.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }))
    throw new AppError('validation_failed', `${issues[0]?.path || 'body'}: ${issues[0]?.message}`, { details: issues })
  }
  return result.data
}
