// The real entry points as child processes: a PGlite DATA_DIR has one owner, startup mistakes are one clear
// line, and SIGTERM drains (in-flight requests finish, SSE streams end with a retry hint) and exits 0.
import { existsSync, mkdtempSync } from 'node:fs'
import { request } from 'node:http'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Agent, fetch as undiciFetch } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { freePort } from './browser/browser.js'
import { childEnv, runToExit, type ServerProcess, startServer, waitFor, widgetClient } from './services.js'
import { StreamReader } from './sse.js'

const tempDir = () => mkdtempSync(join(tmpdir(), 'intl-life-'))

/** A startup failure as an operator should see it: non-zero exit, one line on stderr, no stack trace. */
function expectOneLine(result: { code: number | null; stderr: string }, pattern: RegExp): void {
  expect(result.code).not.toBe(0)
  expect(result.code).not.toBeNull()
  const lines = result.stderr.trim().split('\n')
  expect(lines, result.stderr).toHaveLength(1)
  expect(lines[0]).toMatch(pattern)
  expect(result.stderr).not.toMatch(/\n\s+at /)
}

/** A POST whose body arrives in two parts: in flight from the moment the server has read its headers. */
function slowPost(url: string, headers: Record<string, string>, body: string) {
  const req = request(url, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), expect: '100-continue' },
  })
  // Node answers 100 Continue once it has parsed the headers and handed the request to the app.
  const received = new Promise<void>((resolve) => req.once('continue', resolve))
  const answer = new Promise<{ status: number; body: string }>((resolve, reject) => {
    req.once('response', (res) => {
      let text = ''
      res.on('data', (d) => {
        text += String(d)
      })
      res.once('end', () => resolve({ status: res.statusCode ?? 0, body: text }))
      res.once('error', reject)
    })
    req.once('error', reject)
  })
  answer.catch(() => undefined)
  const half = Math.floor(body.length / 2)
  return {
    async started() {
      req.flushHeaders()
      await received
      req.write(body.slice(0, half))
    },
    finish() {
      req.end(body.slice(half))
    },
    answer,
  }
}

describe('process lifecycle on a PGlite DATA_DIR', () => {
  let server: ServerProcess
  let dataDir: string

  beforeAll(async () => {
    dataDir = tempDir()
    server = await startServer({ DATA_DIR: dataDir, LOG_LEVEL: 'info', SHUTDOWN_GRACE_MS: '2000' })
  }, 120_000)
  afterAll(async () => server?.stop())

  it('a second process on the same DATA_DIR (the CLI or another server) refuses with one clear line', async () => {
    const [cli, second] = await Promise.all([
      runToExit(childEnv({ DATA_DIR: dataDir }), 'src/cli.ts', ['migrate']),
      runToExit(childEnv({ DATA_DIR: dataDir, PORT: String(await freePort()) })),
    ])
    const message = new RegExp(`^DATA_DIR .* is in use by another Intelagent process \\(pid ${server.child.pid}\\)`)
    expectOneLine(cli, message)
    expectOneLine(second, message)
    expect(server.child.exitCode).toBeNull()
    expect((await fetch(`${server.base}/readyz`)).status).toBe(200)
  })

  it('SIGTERM: stops accepting, finishes the request in flight, ends SSE with a retry hint, cuts what outlives the grace, exits 0', async () => {
    const widget = widgetClient(server)
    const visit = await widget.start()
    const stream = new StreamReader(await widget.events(visit))
    await stream.until((t) => t.includes('retry:'))
    const url = `${server.base}/api/widget/conversations`
    const body = JSON.stringify({ pageUrl: 'https://example.com/pricing' })
    const slow = slowPost(url, widget.headers(), body)
    const stuck = slowPost(url, widget.headers(), body)
    await Promise.all([slow.started(), stuck.started()])

    server.child.kill('SIGTERM')
    await waitFor('the server to start shutting down', () => server.output().includes('"shutting down"'))
    // A new connection (not one of fetch's pooled keep-alive sockets, which the server closes as they turn idle).
    await expect(undiciFetch(`${server.base}/healthz`, { dispatcher: new Agent() })).rejects.toThrow()
    // The request that was in flight completes normally.
    slow.finish()
    expect(await slow.answer).toMatchObject({ status: 201 })
    // The open stream gets a final event with a reconnect hint, and ends.
    const text = await stream.until((t) => t.includes('event: shutdown'))
    expect(text).toMatch(/event: shutdown\ndata: \{"reason":"server_shutdown"\}\nretry: \d+\n\n/)
    await stream.until(() => false, 10_000)
    expect(stream.ended).toBe(true)
    // The request whose body never comes is cut when the grace period runs out; the process still exits 0.
    await expect(stuck.answer).rejects.toThrow()
    expect(await server.exited()).toBe(0)
    const log = server
      .output()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { msg: string; step?: string; cut?: unknown })
    expect(log.find((l) => l.msg === 'shutdown cut')).toMatchObject({ step: 'http', cut: '1 request still in flight' })
    expect(log.find((l) => l.msg === 'shutdown complete')).toMatchObject({ cut: ['http'] })
  })

  it('the lock goes with the process: the CLI opens the DATA_DIR once the server has exited', async () => {
    const cli = await runToExit(childEnv({ DATA_DIR: dataDir }), 'src/cli.ts', ['migrate'])
    expect(cli).toMatchObject({ code: 0, stderr: '' })
    expect(cli.stdout).toContain('Database is up to date')
  })
})

// Independent child processes: run side by side.
describe.concurrent('startup errors', () => {
  it('a port already in use: one clear line, before any database work', async () => {
    const port = await freePort()
    const squatter = createServer()
    await new Promise<void>((resolve) => squatter.listen(port, '127.0.0.1', resolve))
    try {
      const dataDir = tempDir()
      const result = await runToExit(childEnv({ DATA_DIR: dataDir, PORT: String(port), HOST: '127.0.0.1' }))
      expectOneLine(result, new RegExp(`^Cannot listen: port ${port} on 127\\.0\\.0\\.1 is already in use`))
      expect(existsSync(join(dataDir, 'pgdata'))).toBe(false)
    } finally {
      squatter.close()
    }
  })

  it('bad configuration: one line per mistake, exit 1, no stack trace', async () => {
    const result = await runToExit(childEnv({ DATA_DIR: tempDir(), PORT: 'eighty' }))
    expect(result.code).toBe(1)
    expect(result.stderr).toMatch(/^Invalid configuration:\n {2}- PORT: .+\n$/)
    expect(result.stderr).not.toMatch(/\n\s+at /)
  })

  it('an unreachable database: one clear line, exit 1', async () => {
    const result = await runToExit(childEnv({ DATABASE_URL: `postgres://postgres:hunter2@127.0.0.1:${await freePort()}/nowhere` }))
    expectOneLine(result, /^Cannot reach the database \(check DATABASE_URL and that Postgres is running\): .*ECONNREFUSED/)
    expect(result.stderr).not.toContain('hunter2')
  })
})
