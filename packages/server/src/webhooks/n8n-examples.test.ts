// The importable n8n workflows in examples/n8n/, checked without n8n (pnpm test:n8n runs them in a real one): their
// HTTP nodes hand back JSON rather than a socket, retry only what a retry can fix, each flow reads its own secret,
// and their Code nodes, run the way n8n runs them, sign what verifyIntelagent accepts.
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import vm from 'node:vm'
import { describe, expect, it } from 'vitest'
import { AppError } from '../platform/errors.js'
import { signIntelagent, verifyIntelagent } from '../platform/signature.js'

interface WorkflowNode {
  name: string
  type: string
  parameters: Record<string, unknown> & { jsCode?: string }
  retryOnFail?: boolean
  onError?: string
}
interface Workflow {
  id: string
  nodes: WorkflowNode[]
  connections: Record<string, { main: { node: string }[][] }>
}
interface Item {
  json: Record<string, unknown>
}

const load = (file: string) => JSON.parse(readFileSync(new URL(`../../../../examples/n8n/${file}`, import.meta.url), 'utf8')) as Workflow
const license = load('intelagent-license-workflow.json')
const chat = load('intelagent-chat-reply-workflow.json')

const PLATFORM_SECRET = 'platform-n8n-webhook-secret'
const PRODUCT_SECRET = 'the-chatbots-own-signing-secret'
const node = (wf: Workflow, name: string) => {
  const found = wf.nodes.find((n) => n.name === name)
  if (!found) throw new Error(`no node "${name}" in ${wf.id}`)
  return found
}
const next = (wf: Workflow, name: string, output = 0) => (wf.connections[name]?.main[output] ?? []).map((c) => c.node)
const httpNodes = (wf: Workflow) => wf.nodes.filter((n) => n.type === 'n8n-nodes-base.httpRequest')

/** NODE_FUNCTION_ALLOW_BUILTIN=crypto: the only module a Code node may require. */
const nodeRequire = createRequire(import.meta.url)
const allowBuiltin = (name: string) => {
  if (name !== 'crypto') throw new Error(`Cannot find module '${name}' (not in NODE_FUNCTION_ALLOW_BUILTIN)`)
  return nodeRequire('node:crypto')
}

/**
 * Runs a Code node's JavaScript as n8n does ("Run Once for All Items": the body of an async function with $env,
 * $input, $ and this.helpers in scope), in a fresh V8 context so it can reach nothing else of this process.
 */
async function runCode(
  wf: Workflow,
  name: string,
  scope: { env: Record<string, string>; items: Item[]; $?: (node: string) => unknown; rawBody?: (index: number) => string },
): Promise<Item[]> {
  const code = node(wf, name).parameters.jsCode
  if (!code) throw new Error(`"${name}" has no jsCode`)
  const context = vm.createContext({
    require: allowBuiltin,
    Buffer,
    $env: scope.env,
    $input: { all: () => scope.items },
    $: scope.$ ?? (() => undefined),
  })
  const fn = vm.runInContext(`(async function () {\n${code}\n})`, context) as (this: unknown) => Promise<Item[]>
  const self = {
    helpers: {
      getBinaryDataBuffer: async (index: number, property: string) => {
        if (!scope.rawBody || property !== 'data') throw new Error('no binary data')
        return Buffer.from(scope.rawBody(index), 'utf8')
      },
    },
  }
  // Through JSON, as n8n stores items between nodes: plain objects of this realm.
  return JSON.parse(JSON.stringify(await fn.call(self))) as Item[]
}

/** Evaluates an n8n expression "={{ … }}" against one item's JSON. */
const expression = (source: string, json: Record<string, unknown>) => {
  const match = /^=\{\{([\s\S]*)\}\}$/.exec(source.trim())
  if (!match) throw new Error(`not an expression: ${source}`)
  return new Function('$json', `return (${match[1]})`)(json) as unknown
}

const order = { orderId: '1001', email: 'buyer@example.com', products: ['chatbot'], tier: 'starter' }

describe('examples/n8n workflows', () => {
  it('each has a fixed id, so `n8n publish:workflow --id=…` works right after import', () => {
    expect(license.id).toMatch(/^[A-Za-z0-9]{16}$/)
    expect(chat.id).toMatch(/^[A-Za-z0-9]{16}$/)
    expect(license.id).not.toBe(chat.id)
  })

  it('no HTTP node sets a response format: with a raw body that leaves the response an unread socket (the caller got 500)', () => {
    expect(httpNodes(license).map((n) => n.name)).toEqual(['Issue license on Intelagent'])
    expect(httpNodes(chat).map((n) => n.name)).toEqual(['Post reply to Intelagent'])
    for (const http of [...httpNodes(license), ...httpNodes(chat)]) {
      expect(http.parameters.contentType).toBe('raw')
      const response = (http.parameters.options as { response?: { response?: Record<string, unknown> } }).response?.response ?? {}
      // Autodetect is the only format that reads a raw-body request's response stream; it parses Intelagent's JSON.
      expect(response.responseFormat ?? 'autodetect', http.name).toBe('autodetect')
      // Every status comes out as {statusCode, body}: Intelagent's {"error": …} stays under body, where n8n's own
      // retry (which re-runs a node whose first item has a top-level `error`) does not see it.
      expect(response, http.name).toMatchObject({ fullResponse: true, neverError: true })
    }
  })

  it('the license workflow answers its caller from a Respond node, 502 when Intelagent stays unreachable', () => {
    expect(node(license, 'Order received').parameters.responseMode).toBe('responseNode')
    const http = node(license, 'Issue license on Intelagent')
    expect(http.onError).toBe('continueErrorOutput')
    expect(next(license, http.name, 1)).toEqual(['Intelagent unreachable (502)'])
    expect(node(license, 'Intelagent unreachable (502)').parameters.options).toEqual({ responseCode: 502 })
    const answer = node(license, 'Answer the caller').parameters as { responseBody: string; options: { responseCode: string } }
    const created = { statusCode: 201, body: { license: { key: 'INTL-AAAA-BBBB-CCCC' } } }
    expect(expression(answer.options.responseCode, created)).toBe(201)
    expect(JSON.parse(expression(answer.responseBody, created) as string)).toEqual(created.body)
  })

  for (const [wf, check, sign] of [
    [license, 'Check answer', 'Sign request'],
    [chat, 'Check reply answer', 'Sign later reply'],
  ] as const) {
    describe(`${wf.id}: retries network errors and 5xx, never a 4xx`, () => {
      const judge = (statusCode: number, attempt: number) =>
        runCode(wf, check, {
          env: {},
          items: [{ json: { statusCode, body: { error: { code: 'some_code', message: 'from Intelagent' } }, headers: {} } }],
          $: (name) => {
            expect(name).toBe(sign)
            return { itemMatching: () => ({ json: { order, reply: { conversationId: 'c', text: 't', replyUrl: 'u' }, attempt } }) }
          },
        })
      const retries = async (statusCode: number, attempt = 1) => {
        const ifNode = node(wf, 'Retry after 5xx?').parameters as { conditions: { conditions: { leftValue: string }[] } }
        let out: Item | undefined
        try {
          ;[out] = await judge(statusCode, attempt)
        } catch (err) {
          // The chat flow fails its execution on a final answer: that is no retry either.
          if (wf === chat && /^Intelagent refused the reply: \d{3}/.test((err as Error).message)) return false
          throw err
        }
        return expression(ifNode.conditions.conditions[0]?.leftValue ?? '', out?.json ?? {}) === true
      }

      it('the HTTP node retries only what throws: network errors and timeouts (statuses never throw)', () => {
        const [http] = httpNodes(wf)
        expect(http?.retryOnFail).toBe(true)
        expect(next(wf, http?.name ?? '')).toEqual([check])
      })

      it('a 4xx is final', async () => {
        for (const status of [400, 401, 403, 404, 409, 413, 422, 429]) expect(await retries(status), String(status)).toBe(false)
      })

      it('a 5xx goes round again, re-signed after a pause, until the third attempt', async () => {
        for (const status of [500, 502, 503, 504]) expect(await retries(status), String(status)).toBe(true)
        expect(await retries(503, 2)).toBe(true)
        expect(await retries(503, 3)).toBe(false)
        expect(next(wf, 'Retry after 5xx?')).toEqual(['Wait before retry'])
        expect(next(wf, 'Wait before retry')).toEqual([sign])
        const [out] = await judge(503, 1)
        expect(out?.json.intelagentRetry).toMatchObject({ attempt: 2 })
      })
    })
  }

  it('the license outcome reaches the caller: 2xx and 4xx as Intelagent said, 502 after the last 5xx', async () => {
    const judge = async (statusCode: number, attempt = 1) =>
      (
        await runCode(license, 'Check answer', {
          env: {},
          items: [{ json: { statusCode, body: { status: statusCode } } }],
          $: () => ({ itemMatching: () => ({ json: { order, attempt } }) }),
        })
      )[0]?.json
    expect(await judge(201)).toEqual({ statusCode: 201, body: { status: 201 } })
    expect(await judge(409)).toEqual({ statusCode: 409, body: { status: 409 } })
    expect(await judge(503, 3)).toEqual({ statusCode: 502, body: { status: 503 } })
  })

  it('a stored deferred reply is handed back to the calling workflow; a refused one fails the execution with Intelagent’s code', async () => {
    const stored = await runCode(chat, 'Check reply answer', {
      env: {},
      items: [{ json: { statusCode: 201, body: { message: { id: 'm-1', text: 'Later answer' } } } }],
      $: () => ({ itemMatching: () => ({ json: { reply: {}, attempt: 1 } }) }),
    })
    expect(stored[0]?.json).toEqual({ statusCode: 201, message: { id: 'm-1', text: 'Later answer' } })
    // The sub-workflow's last node has the item, so an Execute Workflow node (and a webhook answering with it) gets it.
    expect(next(chat, 'Retry after 5xx?', 1)).toEqual(['Reply stored'])
    const run = runCode(chat, 'Check reply answer', {
      env: {},
      items: [{ json: { statusCode: 401, body: { error: { code: 'invalid_signature', message: 'Signature does not match' } } } }],
      $: () => ({ itemMatching: () => ({ json: { reply: {}, attempt: 1 } }) }),
    })
    await expect(run).rejects.toThrow(/401 invalid_signature/)
  })

  it('the license workflow signs with INTELAGENT_N8N_SECRET only, and verifyIntelagent accepts it', async () => {
    const code = node(license, 'Sign request').parameters.jsCode ?? ''
    expect(code).toContain('$env.INTELAGENT_N8N_SECRET')
    expect(code).not.toContain('$env.INTELAGENT_REPLY_SECRET')
    const [signed] = await runCode(license, 'Sign request', { env: { INTELAGENT_N8N_SECRET: PLATFORM_SECRET }, items: [{ json: { body: order } }] })
    const { rawBody, signature } = (signed?.json ?? {}) as { rawBody: string; signature: string }
    expect(JSON.parse(rawBody)).toEqual(order)
    expect(() => verifyIntelagent(PLATFORM_SECRET, signature, rawBody, Date.now())).not.toThrow()
    expect(() => verifyIntelagent(PRODUCT_SECRET, signature, rawBody, Date.now())).toThrow(AppError)
    // The chat workflow's secret alone does not make it sign.
    await expect(runCode(license, 'Sign request', { env: { INTELAGENT_REPLY_SECRET: PRODUCT_SECRET }, items: [{ json: { body: order } }] })).rejects.toThrow(
      /INTELAGENT_N8N_SECRET/,
    )
  })

  it('a retried order is signed afresh from the order it carries', async () => {
    const [signed] = await runCode(license, 'Sign request', {
      env: { INTELAGENT_N8N_SECRET: PLATFORM_SECRET },
      items: [{ json: { statusCode: 503, intelagentRetry: { order, attempt: 2 } } }],
    })
    const { rawBody, signature, attempt } = (signed?.json ?? {}) as { rawBody: string; signature: string; attempt: number }
    expect(attempt).toBe(2)
    expect(JSON.parse(rawBody)).toEqual(order)
    expect(() => verifyIntelagent(PLATFORM_SECRET, signature, rawBody, Date.now())).not.toThrow()
  })

  it('the chat workflow verifies and signs with INTELAGENT_REPLY_SECRET only', async () => {
    for (const name of ['Verify signature', 'Sign later reply']) {
      const code = node(chat, name).parameters.jsCode ?? ''
      expect(code, name).toContain('$env.INTELAGENT_REPLY_SECRET')
      expect(code, name).not.toContain('$env.INTELAGENT_N8N_SECRET')
    }
    const reply = {
      conversationId: '5b0c4a4e-6a43-4d1f-9a57-1c1f3f0f2a11',
      text: 'Later answer',
      replyId: 'r-1',
      replyUrl: 'https://x.test/api/webhooks/n8n/replies',
    }
    const [signed] = await runCode(chat, 'Sign later reply', { env: { INTELAGENT_REPLY_SECRET: PRODUCT_SECRET }, items: [{ json: reply }] })
    const { rawBody, signature } = (signed?.json ?? {}) as { rawBody: string; signature: string }
    expect(() => verifyIntelagent(PRODUCT_SECRET, signature, rawBody, Date.now())).not.toThrow()
    expect(() => verifyIntelagent(PLATFORM_SECRET, signature, rawBody, Date.now())).toThrow(AppError)
    await expect(runCode(chat, 'Sign later reply', { env: { INTELAGENT_N8N_SECRET: PLATFORM_SECRET }, items: [{ json: reply }] })).rejects.toThrow(
      /INTELAGENT_REPLY_SECRET/,
    )
  })

  it('the chat workflow accepts what the server’s webhook engine signs with the product secret, nothing else', async () => {
    const raw = JSON.stringify({ event: 'message.created', conversationId: 'c-1', message: { id: 'm', seq: 2, text: 'Prices?' }, history: [] })
    const verify = async (header: string, secret = PRODUCT_SECRET) =>
      (
        await runCode(chat, 'Verify signature', {
          env: { INTELAGENT_REPLY_SECRET: secret },
          items: [{ json: { headers: { 'x-intelagent-signature': header }, body: JSON.parse(raw) } }],
          rawBody: () => raw,
        })
      )[0]?.json as { valid: boolean; reason: string; text: string }
    const now = Math.floor(Date.now() / 1000)
    expect(await verify(signIntelagent(PRODUCT_SECRET, raw, now))).toMatchObject({ valid: true, text: 'Prices?' })
    expect(await verify(signIntelagent(PLATFORM_SECRET, raw, now))).toMatchObject({ valid: false, reason: 'signature does not match' })
    expect(await verify(signIntelagent(PRODUCT_SECRET, raw, now - 3600))).toMatchObject({ valid: false, reason: 'stale signature' })
    expect(await verify(signIntelagent(PRODUCT_SECRET, raw, now), '')).toMatchObject({ valid: false, reason: 'INTELAGENT_REPLY_SECRET is not set' })
  })
})
