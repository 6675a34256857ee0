// Real Redis and Postgres servers a fault test starts, kills and restarts on its own port, and the real
// server entry point (src/main.ts) as a child process. A missing binary fails the test: CI installs them.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { freePort } from './browser/browser.js'

export const SERVER_DIR = fileURLToPath(new URL('..', import.meta.url))

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Polls `check` until it holds; throws with `what` after `ms`. */
export async function waitFor(what: string, check: () => boolean | Promise<boolean>, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms
  for (;;) {
    if (await check()) return
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(50)
  }
}

function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode)
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)))
}

export interface RedisServer {
  port: number
  url: string
  /** SIGKILL: no goodbye to the clients, like a crashed or partitioned Redis. */
  kill(): Promise<void>
  start(): Promise<void>
  stop(): Promise<void>
}

export async function startRedis(): Promise<RedisServer> {
  let bin: string
  try {
    bin = execFileSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' }).trim()
  } catch {
    throw new Error('redis-server is not on PATH: install it (apt-get install redis-server; .ci/run does it)')
  }
  const port = await freePort()
  let child: ChildProcess | undefined
  const server: RedisServer = {
    port,
    url: `redis://127.0.0.1:${port}`,
    async start() {
      const proc = spawn(bin, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] })
      child = proc
      let out = ''
      proc.stdout?.on('data', (d) => {
        out += String(d)
      })
      await waitFor(`redis-server on port ${port}`, () => {
        if (proc.exitCode !== null) throw new Error(`redis-server exited with ${proc.exitCode}:\n${out}`)
        return out.includes('Ready to accept connections')
      })
    },
    async kill() {
      if (!child) return
      child.kill('SIGKILL')
      await exited(child)
      child = undefined
    },
    stop: () => server.kill(),
  }
  await server.start()
  return server
}

export interface PostgresServer {
  port: number
  url: string
  /** `pg_ctl stop -m immediate`: every backend dies at once, as in a crash or a failover. */
  stop(): Promise<void>
  start(): Promise<void>
  /** Stops the cluster for good and forgets its data. */
  destroy(): Promise<void>
}

/** A throwaway Postgres cluster (Debian's packages), trust auth, on its own port and socket directory. */
export async function startPostgres(): Promise<PostgresServer> {
  const root = '/usr/lib/postgresql'
  const version = existsSync(root)
    ? readdirSync(root)
        .filter((v) => existsSync(join(root, v, 'bin', 'initdb')))
        .sort((a, b) => Number(b) - Number(a))[0]
    : undefined
  if (!version) throw new Error(`no initdb under ${root}/*/bin: install Debian's postgresql package (.ci/run does it)`)
  const bin = join(root, version, 'bin')
  const dir = mkdtempSync(join(tmpdir(), 'intl-pg-'))
  const data = join(dir, 'data')
  const asRoot = process.getuid?.() === 0
  // Postgres refuses to run as root; as root, run it as the postgres user in a directory it owns.
  if (asRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim())
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim())
    chownSync(dir, uid, gid)
    chmodSync(dir, 0o700)
  }
  const run = (tool: string, args: string[]) =>
    execFileSync(asRoot ? 'runuser' : join(bin, tool), asRoot ? ['-u', 'postgres', '--', join(bin, tool), ...args] : args, {
      cwd: dir,
      stdio: ['ignore', 'pipe', 'pipe'],
      encoding: 'utf8',
    })
  run('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8'])
  const port = await freePort()
  const server: PostgresServer = {
    port,
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    async start() {
      run('pg_ctl', [
        '-D',
        data,
        '-l',
        join(dir, 'log'),
        '-w',
        '-o',
        `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off`,
        'start',
      ])
    },
    async stop() {
      run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop'])
    },
    async destroy() {
      try {
        run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop'])
      } catch {
        // already stopped
      }
      execFileSync('rm', ['-rf', dir])
    },
  }
  await server.start()
  return server
}

export interface ServerProcess {
  child: ChildProcess
  port: number
  base: string
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string
  stderr(): string
  /** Resolves with the exit code once the process is gone. */
  exited(): Promise<number | null>
  /** The demo chatbot key printed at start (NODE_ENV=test runs with demo data). */
  chatbotKey: string
  stop(): Promise<void>
}

/** Environment for a child server: test secrets, quiet logs, and none of the parent's DATABASE_URL/REDIS_URL. */
export function childEnv(extra: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {}
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v
  delete env.DATABASE_URL
  delete env.REDIS_URL
  return {
    ...env,
    NODE_ENV: 'test',
    JWT_SECRET: 'j'.repeat(40),
    KEY_PEPPER: 'p'.repeat(40),
    ENCRYPTION_KEYS: Buffer.alloc(32, 7).toString('base64'),
    SCRYPT_LOG_N: '12',
    LOG_LEVEL: 'warn',
    ...extra,
  }
}

/** Runs src/main.ts (or `script`) once to completion: exit code and output. */
export function runToExit(
  env: Record<string, string>,
  script = 'src/main.ts',
  args: string[] = [],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], { cwd: SERVER_DIR, env })
  let stdout = ''
  let stderr = ''
  child.stdout?.on('data', (d) => {
    stdout += String(d)
  })
  child.stderr?.on('data', (d) => {
    stderr += String(d)
  })
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, stdout, stderr })))
}

/** Starts the real entry point and waits until it listens; `env` is added to childEnv(). */
export async function startServer(env: Record<string, string>): Promise<ServerProcess> {
  const port = env.PORT ? Number(env.PORT) : await freePort()
  const base = `http://127.0.0.1:${port}`
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: SERVER_DIR,
    env: childEnv({ PORT: String(port), HOST: '127.0.0.1', PUBLIC_URL: base, ...env }),
  })
  let out = ''
  let err = ''
  child.stdout?.on('data', (d) => {
    out += String(d)
  })
  child.stderr?.on('data', (d) => {
    err += String(d)
  })
  await waitFor(
    'the server to listen',
    () => {
      if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}:\n${out}${err}`)
      return out.includes('Chatbot key')
    },
    // A fresh PGlite cluster is created on the first start: seconds on an idle machine, far more on a busy one.
    110_000,
  ).catch((e: Error) => {
    child.kill('SIGKILL')
    throw new Error(`${e.message}; output so far:\n${out}${err}`)
  })
  return {
    child,
    port,
    base,
    output: () => out + err,
    stderr: () => err,
    exited: () => exited(child),
    chatbotKey: /Chatbot key\s+(chat_\S+)/.exec(out)?.[1] ?? '',
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return
      child.kill('SIGKILL')
      await exited(child)
    },
  }
}

export interface Visit {
  id: string
  token: string
}

/** A visitor on a child server's demo chatbot, through the public widget API a page would use. */
export function widgetClient(server: { base: string; chatbotKey: string }) {
  const headers = (extra: Record<string, string> = {}) => ({ 'x-product-key': server.chatbotKey, origin: server.base, ...extra })
  // A request that hangs fails the test rather than waiting for the test timeout.
  const timeout = () => AbortSignal.timeout(15_000)
  return {
    headers,
    get: (path: string) => fetch(`${server.base}${path}`, { headers: headers(), signal: timeout() }),
    async start(): Promise<Visit> {
      const res = await fetch(`${server.base}/api/widget/conversations`, { method: 'POST', headers: headers(), signal: timeout() })
      if (res.status !== 201) throw new Error(`starting a conversation answered ${res.status}: ${await res.text()}`)
      const body = (await res.json()) as { conversation: { id: string }; visitorToken: string }
      return { id: body.conversation.id, token: body.visitorToken }
    },
    send: (visit: Visit, text: string, clientMessageId: string) =>
      fetch(`${server.base}/api/widget/conversations/${visit.id}/messages`, {
        method: 'POST',
        headers: headers({ 'content-type': 'application/json', authorization: `Bearer ${visit.token}` }),
        body: JSON.stringify({ clientMessageId, text }),
        signal: timeout(),
      }),
    /** Every stored message of the conversation, paged by seq. */
    async messages(visit: Visit): Promise<{ seq: number; text: string; role: string }[]> {
      const all: { seq: number; text: string; role: string }[] = []
      for (;;) {
        const res = await fetch(`${server.base}/api/widget/conversations/${visit.id}/messages?after=${all.at(-1)?.seq ?? 0}`, {
          headers: headers({ authorization: `Bearer ${visit.token}` }),
          signal: timeout(),
        })
        const page = ((await res.json()) as { messages: { seq: number; text: string; role: string }[] }).messages
        if (page.length === 0) return all
        all.push(...page)
      }
    },
    events: (visit: Visit) =>
      fetch(`${server.base}/api/widget/conversations/${visit.id}/events?token=${encodeURIComponent(visit.token)}`, { headers: headers() }),
  }
}
