// A crash after an acknowledged Squarespace notification loses nothing: the real server runs as a child process,
// fetches the order from a local fake Orders API that holds the answer, and is killed with SIGKILL mid-fetch.
// A new server on the same store takes the job over once its lease runs out and issues exactly one license.
import { type ChildProcess, spawn } from 'node:child_process'
import { createHmac, randomBytes } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createDb } from '../src/platform/db.js'
import { freePort } from './browser/browser.js'
import { createStore, SQUARESPACE_SECRET_HEX, type TestStore, testEnv } from './harness.js'

const SERVER = fileURLToPath(new URL('..', import.meta.url))

/** Starts src/main.ts and resolves once it listens; its output is kept for failure messages. */
async function startServer(env: Record<string, string>): Promise<{ child: ChildProcess; output: () => string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], { cwd: SERVER, env })
  let out = ''
  child.stderr?.on('data', (d) => {
    out += String(d)
  })
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${out}`)), 120_000)
    child.stdout?.on('data', (d) => {
      out += String(d)
      if (out.includes('Intelagent is running on')) {
        clearTimeout(timer)
        resolve()
      }
    })
    child.on('exit', (code) => reject(new Error(`server exited with ${code}:\n${out}`)))
  })
  return { child, output: () => out }
}

const exited = (child: ChildProcess) =>
  new Promise<number | null>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve(child.exitCode)
    else child.once('exit', (code) => resolve(code))
  })

async function until(what: string, check: () => boolean, output: () => string, ms = 60_000): Promise<void> {
  const deadline = performance.now() + ms
  while (!check()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}; server output:\n${output()}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

describe('SIGKILL after an acknowledged Squarespace notification', () => {
  let store: TestStore
  let api: Server
  const children: ChildProcess[] = []
  const orderId = randomBytes(12).toString('hex')
  const email = `crash-${randomBytes(4).toString('hex')}@example.com`
  const fetches: string[] = []
  let holdFirst = true

  beforeAll(async () => {
    store = await createStore()
    // The Orders API: the first fetch never gets an answer (the server dies waiting), later ones do.
    api = createServer((req, res) => {
      fetches.push(req.url ?? '')
      if (holdFirst) {
        holdFirst = false
        return
      }
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ id: orderId, customerEmail: email, lineItems: [{ sku: 'INTL-CHAT', productName: 'Intelagent Chatbot', quantity: 1 }] }))
    })
    await new Promise<void>((r) => api.listen(0, '127.0.0.1', r))
  })
  afterAll(async () => {
    for (const c of children) c.kill('SIGKILL')
    api.closeAllConnections()
    await new Promise((r) => api.close(r))
    await store.drop()
  })

  it('ends in exactly one license once a server runs again', { timeout: 240_000 }, async () => {
    const base = testEnv({ REDIS_PREFIX: store.prefix, DEMO: '0', LOG_LEVEL: 'warn' })
    const env: Record<string, string> = {
      ...(process.env as Record<string, string>),
      ...base,
      SQUARESPACE_API_URL: `http://127.0.0.1:${(api.address() as AddressInfo).port}`,
      // A short lease, so the second server takes the dead one's job over within seconds (starting it takes longer).
      JOBS_LEASE_MS: '5000',
    }
    if (base.DATABASE_URL) {
      const url = new URL(base.DATABASE_URL)
      url.searchParams.set('options', `-c search_path=${store.schema}`)
      env.DATABASE_URL = url.toString()
    }
    const note = JSON.stringify({ id: `ntf_${randomBytes(8).toString('hex')}`, topic: 'order.create', createdOn: new Date().toISOString(), data: { orderId } })
    const signature = createHmac('sha256', Buffer.from(SQUARESPACE_SECRET_HEX, 'hex')).update(note).digest('hex')

    const port = await freePort()
    const first = await startServer({ ...env, PORT: String(port) })
    children.push(first.child)
    // Five concurrent deliveries of the same notification: all acknowledged, one job.
    const answers = await Promise.all(
      Array.from({ length: 5 }, () =>
        fetch(`http://127.0.0.1:${port}/api/webhooks/squarespace`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'squarespace-signature': signature },
          body: note,
        }),
      ),
    )
    expect(answers.map((r) => r.status)).toEqual([200, 200, 200, 200, 200])
    await until('the first server to fetch the order', () => fetches.length === 1, first.output)
    first.child.kill('SIGKILL')
    await exited(first.child)

    const secondPort = await freePort()
    const second = await startServer({ ...env, PORT: String(secondPort) })
    children.push(second.child)
    await until('the second server to fetch the order', () => fetches.length >= 2, second.output)
    // SIGTERM lets the running job finish before the process exits.
    second.child.kill('SIGTERM')
    expect(await exited(second.child), second.output()).toBe(0)
    expect(fetches).toEqual([`/1.0/commerce/orders/${orderId}`, `/1.0/commerce/orders/${orderId}`])

    const db = await createDb({ databaseUrl: base.DATABASE_URL, dataDir: base.DATA_DIR as string, schema: store.schema })
    try {
      const licenses = await db.selectFrom('licenses').selectAll().where('external_order_id', '=', orderId).execute()
      expect(licenses).toHaveLength(1)
      expect(licenses[0]).toMatchObject({ email, products: ['chatbot'], source: 'squarespace' })
      const jobs = await db.selectFrom('jobs').selectAll().where('name', '=', 'squarespace.order').execute()
      expect(jobs).toHaveLength(1)
      expect(jobs[0]).toMatchObject({ status: 'done', attempts: 2 })
      const events = await db.selectFrom('webhook_events').select('status').where('source', '=', 'squarespace').execute()
      expect(events).toEqual([{ status: 'processed' }])
    } finally {
      await db.destroy()
    }
  })
})
