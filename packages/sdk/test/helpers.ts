// A scripted fetch for unit tests: answers each call with the next queued response and records the request.
import type { FetchLike } from '../src/index.js'

export interface Recorded {
  url: string
  method: string
  headers: Headers
  body: unknown
}

export type Reply = Response | Error | ((req: Recorded) => Response | Promise<Response>)

export function scriptedFetch(replies: Reply[]): { fetch: FetchLike; calls: Recorded[] } {
  const calls: Recorded[] = []
  const fetch: FetchLike = async (url, init) => {
    const body = typeof init.body === 'string' ? JSON.parse(init.body) : undefined
    const req: Recorded = { url, method: init.method ?? 'GET', headers: new Headers(init.headers), body }
    calls.push(req)
    const next = replies.shift()
    if (!next) throw new Error(`unexpected request ${req.method} ${url}`)
    if (next instanceof Error) throw next
    return typeof next === 'function' ? next(req) : next
  }
  return { fetch, calls }
}

export const json = (status: number, body: unknown, headers: Record<string, string> = {}): Response =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } })

export const apiError = (status: number, code: string, message = code, requestId = 'req_test123456', headers: Record<string, string> = {}): Response =>
  json(status, { error: { code, message, requestId } }, headers)
