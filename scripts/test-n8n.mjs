#!/usr/bin/env node
// `pnpm test:n8n`: the examples in examples/n8n/ against a real n8n and a real Intelagent server on this machine.
// Installs n8n once into ~/.cache/intelagent-n8n/<version> (outside the repo, reused), starts the server on embedded
// defaults and n8n on loopback, imports and publishes both workflows, then orders a license and runs a chat round trip
// through them. Prints each check with its time; exits 1 on the first failure (logs are kept and their paths printed).
//
// Options: --keep (leave the temp folder with logs and databases), --examples=<dir> (other workflow files, same names).
import { spawn } from 'node:child_process'
import { randomBytes, randomUUID } from 'node:crypto'
import { cpSync, createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, request as httpRequest } from 'node:http'
import { homedir, tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The n8n the examples are tested with: 2.8 is what the examples were written against (issue 11). */
const N8N_VERSION = '2.8.4'
const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)))
const SERVER_DIR = join(ROOT, 'packages/server')
const args = new Set(process.argv.slice(2))
const examplesArg = process.argv.find((a) => a.startsWith('--examples='))
const EXAMPLES = examplesArg ? resolve(examplesArg.slice('--examples='.length)) : join(ROOT, 'examples/n8n')
const LICENSE_FILE = 'intelagent-license-workflow.json'
const CHAT_FILE = 'intelagent-chat-reply-workflow.json'
const CACHE = process.env.INTELAGENT_N8N_CACHE ?? join(homedir(), '.cache', 'intelagent-n8n', N8N_VERSION)
const ORIGIN = 'https://shop.example.com'

const started = performance.now()
const results = []
const children = []
const work = mkdtempSync(join(tmpdir(), 'intelagent-n8n-'))
const secs = (ms) => `${(ms / 1000).toFixed(1)} s`

async function check(name, fn) {
  const t0 = performance.now()
  try {
    const detail = await fn()
    const ms = performance.now() - t0
    results.push({ name, ok: true, ms })
    console.log(`  ok    ${name} (${secs(ms)})${detail ? ` — ${detail}` : ''}`)
  } catch (err) {
    const ms = performance.now() - t0
    results.push({ name, ok: false, ms })
    console.log(`  FAIL  ${name} (${secs(ms)})\n        ${String(err?.stack ?? err).replaceAll('\n', '\n        ')}`)
    throw err
  }
}

function expect(condition, message) {
  if (!condition) throw new Error(message)
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

/** Ends a wait at once (a process died) instead of being retried until the timeout. */
class Fatal extends Error {}

/** Polls until fn returns a truthy value; the last error or value is in the timeout message. */
async function until(what, fn, timeoutMs, everyMs = 500) {
  const deadline = Date.now() + timeoutMs
  let last
  while (Date.now() < deadline) {
    try {
      const value = await fn()
      if (value) return value
      last = value
    } catch (err) {
      if (err instanceof Fatal) throw err
      last = err?.message ?? err
    }
    await sleep(everyMs)
  }
  throw new Error(`timed out after ${secs(timeoutMs)} waiting for ${what} (last: ${typeof last === 'string' ? last : JSON.stringify(last)})`)
}

function freePort() {
  return new Promise((resolvePort, reject) => {
    const probe = createServer()
    probe.once('error', reject)
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address()
      probe.close(() => resolvePort(port))
    })
  })
}

/** Runs a command to completion, output appended to a log file; rejects with the log's tail on a non-zero exit. */
function run(cmd, argv, options, logFile) {
  return new Promise((resolveRun, reject) => {
    const log = createWriteStream(logFile, { flags: 'a' })
    log.write(`\n$ ${cmd} ${argv.join(' ')}\n`)
    const child = spawn(cmd, argv, { ...options, stdio: ['ignore', 'pipe', 'pipe'] })
    child.stdout.pipe(log, { end: false })
    child.stderr.pipe(log, { end: false })
    child.once('error', reject)
    child.once('close', (code) => {
      log.end(() => {
        if (code === 0) resolveRun()
        else reject(new Error(`${cmd} ${argv.join(' ')} exited with ${code}\n${tail(logFile)}`))
      })
    })
  })
}

/** Starts a long-running process in its own process group (so it and its helpers can be stopped together). */
function start(name, cmd, argv, options) {
  const logFile = join(work, `${name}.log`)
  const log = createWriteStream(logFile)
  const child = spawn(cmd, argv, { ...options, detached: true, stdio: ['ignore', 'pipe', 'pipe'] })
  child.stdout.pipe(log)
  child.stderr.pipe(log)
  child.exited = new Promise((r) => child.once('exit', r))
  children.push(child)
  return { child, logFile }
}

function tail(file, lines = 30) {
  if (!existsSync(file)) return ''
  return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n')
}

async function stopAll() {
  for (const child of children.reverse()) {
    if (child.exitCode !== null || child.signalCode !== null) continue
    try {
      process.kill(-child.pid, 'SIGTERM')
    } catch {}
    const stopped = await Promise.race([child.exited.then(() => true), sleep(15_000).then(() => false)])
    if (!stopped) {
      try {
        process.kill(-child.pid, 'SIGKILL')
      } catch {}
    }
  }
}

async function json(res) {
  const text = await res.text()
  try {
    return text ? JSON.parse(text) : undefined
  } catch {
    throw new Error(`${res.status} answered a body that is not JSON: ${text.slice(0, 300)}`)
  }
}

/**
 * A pass-through proxy in front of Intelagent for n8n's calls: it records each request, answers 503 to the first
 * request that carries an id starting with "flaky-" (an orderId or a replyId) and drops the connection of every one
 * whose id starts with "down-", so the retry paths run for real.
 */
function startGateway(target) {
  const seen = []
  const failed = new Set()
  const server = createServer((req, res) => {
    const chunks = []
    req.on('data', (c) => chunks.push(c))
    req.on('end', () => {
      const body = Buffer.concat(chunks)
      let id
      try {
        const parsed = JSON.parse(body.toString('utf8'))
        id = parsed.orderId ?? parsed.replyId
      } catch {}
      const entry = { method: req.method, path: req.url, id, status: 0 }
      seen.push(entry)
      if (typeof id === 'string' && id.startsWith('down-')) {
        entry.status = 'reset'
        req.socket.destroy()
        return
      }
      if (typeof id === 'string' && id.startsWith('flaky-') && !failed.has(id)) {
        failed.add(id)
        entry.status = 503
        res.writeHead(503, { 'content-type': 'application/json' })
        res.end(JSON.stringify({ error: { code: 'unavailable', message: 'Injected by the test gateway', requestId: 'gateway' } }))
        return
      }
      const headers = { ...req.headers, host: new URL(target).host }
      const upstream = httpRequest(new URL(req.url, target), { method: req.method, headers }, (up) => {
        entry.status = up.statusCode
        res.writeHead(up.statusCode, up.headers)
        up.pipe(res)
      })
      upstream.on('error', (err) => {
        entry.status = 599
        res.writeHead(502, { 'content-type': 'text/plain' })
        res.end(String(err))
      })
      upstream.end(body)
    })
  })
  return { server, seen }
}

async function installN8n() {
  const marker = join(CACHE, '.installed')
  if (existsSync(marker) && readFileSync(marker, 'utf8').trim() === N8N_VERSION && existsSync(join(CACHE, 'node_modules/.bin/n8n'))) {
    return `cached in ${CACHE}`
  }
  mkdirSync(CACHE, { recursive: true })
  // One of n8n's dependencies pins xlsx to a CDN tarball; the registry's last xlsx keeps the install registry-only.
  const manifest = { name: 'intelagent-n8n-cache', private: true, dependencies: { n8n: N8N_VERSION }, overrides: { xlsx: '0.18.5' } }
  writeFileSync(join(CACHE, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`)
  console.log(`        installing n8n ${N8N_VERSION} into ${CACHE} (several minutes the first time)`)
  await run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: CACHE, env: process.env }, join(work, 'npm-install.log'))
  writeFileSync(marker, `${N8N_VERSION}\n`)
  return `installed into ${CACHE}`
}

async function main() {
  console.log(`n8n examples against n8n ${N8N_VERSION} (${EXAMPLES})`)
  const licenseWorkflow = JSON.parse(readFileSync(join(EXAMPLES, LICENSE_FILE), 'utf8'))
  const chatWorkflow = JSON.parse(readFileSync(join(EXAMPLES, CHAT_FILE), 'utf8'))
  expect(licenseWorkflow.id && chatWorkflow.id, 'both workflow files need a fixed "id" (publish:workflow takes it)')

  await check(`n8n ${N8N_VERSION} installed`, installN8n)

  const [serverPort, n8nPort, brokerPort, gatewayPort] = [await freePort(), await freePort(), await freePort(), await freePort()]
  const base = `http://127.0.0.1:${serverPort}`
  const n8nBase = `http://127.0.0.1:${n8nPort}`
  const gatewayBase = `http://127.0.0.1:${gatewayPort}`
  const platformSecret = randomBytes(32).toString('hex')
  const replySecret = randomBytes(32).toString('hex')

  // The server starts while n8n imports and publishes: they do not depend on each other, and n8n's commands are slow.
  const serverStartedAt = performance.now()
  const serverReady = (async () => {
    const env = { ...process.env }
    for (const name of ['DATABASE_URL', 'REDIS_URL', 'NODE_ENV', 'SQUARESPACE_WEBHOOK_SECRET', 'STRIPE_SECRET_KEY', 'METRICS_TOKEN']) delete env[name]
    Object.assign(env, {
      PORT: String(serverPort),
      HOST: '127.0.0.1',
      PUBLIC_URL: base,
      DATA_DIR: join(work, 'intelagent-data'),
      N8N_WEBHOOK_SECRET: platformSecret,
      // The chatbot's webhook engine calls the local n8n, which the SSRF guard refuses unless exempted.
      OUTBOUND_ALLOW_HOSTS: `127.0.0.1:${n8nPort}`,
      LOG_LEVEL: 'info',
    })
    const server = start('intelagent', join(SERVER_DIR, 'node_modules/.bin/tsx'), ['src/main.ts'], { cwd: SERVER_DIR, env })
    await until(
      'GET /readyz',
      async () => {
        if (server.child.exitCode !== null) throw new Fatal(`the server exited with ${server.child.exitCode}:\n${tail(server.logFile)}`)
        return (await fetch(`${base}/readyz`)).ok
      },
      180_000,
    )
    return performance.now() - serverStartedAt
  })()
  serverReady.catch(() => {}) // reported by its check below

  const gateway = startGateway(base)
  await new Promise((r) => gateway.server.listen(gatewayPort, '127.0.0.1', r))

  const n8nEnv = {
    ...process.env,
    N8N_USER_FOLDER: join(work, 'n8n-home'),
    N8N_ENCRYPTION_KEY: randomBytes(24).toString('hex'),
    N8N_PORT: String(n8nPort),
    N8N_LISTEN_ADDRESS: '127.0.0.1',
    N8N_HOST: '127.0.0.1',
    N8N_PROTOCOL: 'http',
    WEBHOOK_URL: `${n8nBase}/`,
    N8N_RUNNERS_BROKER_PORT: String(brokerPort),
    N8N_DIAGNOSTICS_ENABLED: 'false',
    N8N_VERSION_NOTIFICATIONS_ENABLED: 'false',
    N8N_TEMPLATES_ENABLED: 'false',
    N8N_PERSONALIZATION_ENABLED: 'false',
    DB_SQLITE_POOL_SIZE: '2',
    // What the README tells an n8n operator to set.
    INTELAGENT_URL: gatewayBase,
    INTELAGENT_N8N_SECRET: platformSecret,
    INTELAGENT_REPLY_SECRET: replySecret,
    NODE_FUNCTION_ALLOW_BUILTIN: 'crypto',
    N8N_BLOCK_ENV_ACCESS_IN_NODE: 'false',
  }
  const n8nBin = join(CACHE, 'node_modules/.bin/n8n')
  const cliLog = join(work, 'n8n-cli.log')

  // A caller for the chat workflow's "Answer later" trigger, as an owner's slow flow would call it; test-only.
  const callerId = 'IntlTestCaller01'
  const caller = {
    id: callerId,
    name: 'Intelagent test: answer later',
    nodes: [
      {
        parameters: { httpMethod: 'POST', path: 'intelagent-test-answer-later', responseMode: 'lastNode', options: {} },
        id: randomUUID(),
        name: 'Later',
        type: 'n8n-nodes-base.webhook',
        typeVersion: 2,
        position: [0, 0],
        webhookId: randomUUID(),
      },
      {
        parameters: { mode: 'runOnceForAllItems', jsCode: 'return $input.all().map((item) => ({ json: item.json.body }));' },
        id: randomUUID(),
        name: 'Body',
        type: 'n8n-nodes-base.code',
        typeVersion: 2,
        position: [240, 0],
      },
      {
        parameters: { source: 'database', workflowId: chatWorkflow.id, options: {} },
        id: randomUUID(),
        name: 'Answer later',
        type: 'n8n-nodes-base.executeWorkflow',
        typeVersion: 1,
        position: [480, 0],
      },
    ],
    connections: {
      Later: { main: [[{ node: 'Body', type: 'main', index: 0 }]] },
      Body: { main: [[{ node: 'Answer later', type: 'main', index: 0 }]] },
    },
    active: false,
    settings: { executionOrder: 'v1' },
  }

  await check('both workflows imported and published (n8n import:workflow, publish:workflow)', async () => {
    const dir = join(work, 'import')
    mkdirSync(dir)
    cpSync(join(EXAMPLES, LICENSE_FILE), join(dir, LICENSE_FILE))
    cpSync(join(EXAMPLES, CHAT_FILE), join(dir, CHAT_FILE))
    writeFileSync(join(dir, 'test-caller.json'), JSON.stringify(caller))
    await run(n8nBin, ['import:workflow', '--separate', `--input=${dir}`], { env: n8nEnv }, cliLog)
    for (const id of [licenseWorkflow.id, chatWorkflow.id, callerId]) await run(n8nBin, ['publish:workflow', `--id=${id}`], { env: n8nEnv }, cliLog)
    return `${licenseWorkflow.id}, ${chatWorkflow.id} (+ a test caller)`
  })

  await check('Intelagent server ready (PGlite, in-process cache; started alongside the import)', async () => `${base}, up after ${secs(await serverReady)}`)

  await check('n8n started with the published workflows (n8n start)', async () => {
    const n8n = start('n8n', n8nBin, ['start'], { env: n8nEnv })
    const n8nLog = n8n.logFile
    // n8n listens before it has activated anything; this line comes once every published workflow is live.
    await until(
      'n8n to finish starting',
      async () => {
        if (n8n.child.exitCode !== null) throw new Fatal(`n8n exited with ${n8n.child.exitCode}:\n${tail(n8nLog)}`)
        return readFileSync(n8nLog, 'utf8').includes('Editor is now accessible via')
      },
      300_000,
      1000,
    )
    const log = readFileSync(n8nLog, 'utf8')
    for (const id of [licenseWorkflow.id, chatWorkflow.id, callerId]) {
      expect(new RegExp(`Activated workflow .*${id}`).test(log), `workflow ${id} was not activated:\n${tail(n8nLog)}`)
    }
    return n8nBase
  })

  const email = `buyer-${randomBytes(4).toString('hex')}@example.com`
  const orderId = `order-${randomBytes(4).toString('hex')}`
  const order = (body) =>
    fetch(`${n8nBase}/webhook/intelagent-order`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
  const toIntelagent = (id) => gateway.seen.filter((s) => s.id === id)
  let licenseKey

  // Professional: the chat round trip below needs the webhook reply engine, which starter does not include (403
  // plan_feature_required, docs/usage.md).
  await check('license order through n8n: the caller gets the license JSON (201), not a 500', async () => {
    const res = await order({ orderId, email, products: ['chatbot'], tier: 'professional' })
    const body = await json(res)
    expect(res.status === 201, `expected 201, got ${res.status}: ${JSON.stringify(body)}`)
    expect(/^INTL-/.test(body?.license?.key ?? ''), `no license key in ${JSON.stringify(body)}`)
    expect(body.license.email === email, `license email ${body.license.email} is not ${email}`)
    expect(body.license.tier === 'professional', `license tier ${body.license.tier} is not the order's professional`)
    licenseKey = body.license.key
    return licenseKey
  })

  await check('the same order again: 200 with the same license (idempotent)', async () => {
    const res = await order({ orderId, email, products: ['chatbot'], tier: 'professional' })
    const body = await json(res)
    expect(res.status === 200, `expected 200, got ${res.status}: ${JSON.stringify(body)}`)
    expect(body?.license?.key === licenseKey, `another license: ${JSON.stringify(body)}`)
  })

  await check('a 4xx from Intelagent reaches the caller once, unretried', async () => {
    // Same order id, another email: Intelagent answers 409 idempotency_conflict, which no retry can change.
    const res = await order({ orderId, email: `other-${email}`, products: ['chatbot'] })
    const body = await json(res)
    expect(res.status === 409, `expected 409, got ${res.status}: ${JSON.stringify(body)}`)
    expect(body?.error?.code === 'idempotency_conflict', `expected idempotency_conflict, got ${JSON.stringify(body)}`)
    const calls = toIntelagent(orderId)
    expect(calls.length === 3, `expected 3 calls to Intelagent for ${orderId} (201, 200, 409), saw ${JSON.stringify(calls)}`)
  })

  await check('a 5xx from Intelagent is retried, and the caller gets the license', async () => {
    const flaky = `flaky-${randomBytes(4).toString('hex')}`
    const res = await order({ orderId: flaky, email: `flaky-${email}`, products: ['chatbot'] })
    const body = await json(res)
    expect(res.status === 201 && /^INTL-/.test(body?.license?.key ?? ''), `expected 201 with a license, got ${res.status}: ${JSON.stringify(body)}`)
    const statuses = toIntelagent(flaky).map((s) => s.status)
    expect(JSON.stringify(statuses) === '[503,201]', `expected a 503 then a 201, saw ${JSON.stringify(statuses)}`)
  })

  await check('Intelagent unreachable: network errors are retried, then the caller gets 502', async () => {
    const down = `down-${randomBytes(4).toString('hex')}`
    const res = await order({ orderId: down, email: `down-${email}`, products: ['chatbot'] })
    const body = await json(res)
    expect(res.status === 502, `expected 502, got ${res.status}: ${JSON.stringify(body)}`)
    expect(body?.error?.code === 'intelagent_unreachable', `expected intelagent_unreachable, got ${JSON.stringify(body)}`)
    const attempts = toIntelagent(down).length
    expect(attempts === 3, `expected 3 attempts, saw ${attempts}`)
  })

  let token
  await check('the license exists in Intelagent: registering with it works', async () => {
    const res = await fetch(`${base}/api/auth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, password: 'correct horse battery staple', license_key: licenseKey }),
    })
    const body = await json(res)
    expect(res.status === 201 && body?.token, `register answered ${res.status}: ${JSON.stringify(body)}`)
    token = body.token
  })

  const api = async (method, path, body) => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    })
    const parsed = await json(res)
    if (!res.ok) throw new Error(`${method} ${path} answered ${res.status}: ${JSON.stringify(parsed)}`)
    return parsed
  }

  let productKey
  const chatUrl = `${n8nBase}/webhook/intelagent-chat`
  await check("chatbot configured: webhook engine on the chat workflow's URL, the product's signing secret set", async () => {
    const configured = await api('POST', '/api/products/chatbot/configure', {
      allowedOrigins: [ORIGIN],
      settings: { engine: 'webhook', webhook: { url: chatUrl, timeoutMs: 15_000 } },
    })
    productKey = configured.key
    await api('PUT', '/api/products/chatbot/secrets/webhook_signing_secret', { value: replySecret })
    return chatUrl
  })

  const widget = (method, path, body, visitorToken) =>
    fetch(`${base}${path}`, {
      method,
      headers: {
        'x-product-key': productKey,
        origin: ORIGIN,
        'content-type': 'application/json',
        ...(visitorToken ? { authorization: `Bearer ${visitorToken}` } : {}),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    })
  let conversationId
  let visitorToken
  const messages = async () => {
    const res = await widget('GET', `/api/widget/conversations/${conversationId}/messages`, undefined, visitorToken)
    const body = await json(res)
    if (!res.ok) throw new Error(`GET messages answered ${res.status}: ${JSON.stringify(body)}`)
    return body.messages
  }

  await check('chat round trip: a visitor message is answered by the n8n workflow', async () => {
    const created = await widget('POST', '/api/widget/conversations', {})
    const conv = await json(created)
    expect(created.status === 201, `POST /api/widget/conversations answered ${created.status}: ${JSON.stringify(conv)}`)
    conversationId = conv.conversation.id
    visitorToken = conv.visitorToken
    const posted = await widget(
      'POST',
      `/api/widget/conversations/${conversationId}/messages`,
      { clientMessageId: 'm1', text: 'What are your prices?' },
      visitorToken,
    )
    expect(posted.status === 201, `POST message answered ${posted.status}: ${await posted.text()}`)
    const reply = await until(
      "the n8n workflow's reply in the conversation",
      async () => {
        const all = await messages()
        const after = all.filter((m) => m.seq > 2 && m.role !== 'visitor')
        if (after.length === 0) return undefined
        return after[0]
      },
      60_000,
    )
    expect(reply.role === 'assistant' && /plans start at/.test(reply.text), `expected the workflow's pricing answer, got ${JSON.stringify(reply)}`)
    return `"${reply.text}"`
  })

  const later = (body) =>
    fetch(`${n8nBase}/webhook/intelagent-test-answer-later`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
  const replyUrl = `${gatewayBase}/api/webhooks/n8n/replies`

  await check('deferred reply: "Answer later" signs with INTELAGENT_REPLY_SECRET, retries a 5xx, and the reply lands', async () => {
    const replyId = `flaky-${randomBytes(4).toString('hex')}`
    const res = await later({ conversationId, text: 'A colleague will follow up by email today.', replyId, replyUrl })
    expect(res.ok, `the caller workflow answered ${res.status}: ${await res.text()}`)
    await until(
      'the deferred reply in the conversation',
      async () => (await messages()).some((m) => m.text === 'A colleague will follow up by email today.'),
      30_000,
    )
    const statuses = toIntelagent(replyId).map((s) => s.status)
    expect(JSON.stringify(statuses) === '[503,201]', `expected a 503 then a 201, saw ${JSON.stringify(statuses)}`)
  })

  await check('deferred reply refused with a 4xx: the execution fails once, unretried', async () => {
    const replyId = `unknown-${randomBytes(4).toString('hex')}`
    const res = await later({ conversationId: randomUUID(), text: 'Into a conversation that does not exist', replyId, replyUrl })
    expect(res.status >= 500, `the caller workflow should fail, answered ${res.status}: ${await res.text()}`)
    const statuses = toIntelagent(replyId).map((s) => s.status)
    expect(JSON.stringify(statuses) === '[401]', `expected one 401, saw ${JSON.stringify(statuses)}`)
  })
}

let failed = false
try {
  await main()
} catch (err) {
  failed = true
  if (!results.some((r) => !r.ok)) console.log(`  FAIL  ${err?.stack ?? err}`)
} finally {
  await stopAll()
}
const passed = results.filter((r) => r.ok).length
console.log(`\nn8n examples: ${passed} passed, ${results.length - passed} failed in ${secs(performance.now() - started)}`)
if (failed || args.has('--keep')) {
  console.log(`logs and data kept in ${work}`)
  for (const name of ['intelagent.log', 'n8n.log', 'n8n-cli.log', 'npm-install.log']) {
    const file = join(work, name)
    if (failed && existsSync(file)) console.log(`\n--- ${file} (tail) ---\n${tail(file)}`)
  }
} else {
  rmSync(work, { recursive: true, force: true })
}
process.exit(failed ? 1 : 0)
