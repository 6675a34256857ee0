// Production entry: validated config, migrations, the app on @hono/node-server, demo data in development.
import type { AddressInfo } from 'node:net'
import { createApp } from './app.js'
import { ensureDemo } from './demo.js'
import { loadConfig } from './platform/config.js'
import { createDeps } from './platform/deps.js'
import { type Closer, checkPortFree, httpCloser, listen, runClosers, startupMessage } from './platform/lifecycle.js'

async function main(): Promise<void> {
  const config = loadConfig()
  if (config.port !== 0) await checkPortFree(config.port, config.host)
  const draining = new AbortController()
  const deps = await createDeps(config, { draining: draining.signal })
  const demo = config.demo ? await ensureDemo(deps) : undefined
  const intelagent = await createApp(deps, demo ? { demo } : {})
  const server = await listen(intelagent.app.fetch, config.port, config.host)
  // In order: stop taking requests and finish the ones in flight, then background work, then the stores.
  const closers: Closer[] = [
    httpCloser(server),
    { name: 'tasks', close: () => deps.tasks.idle(), cut: () => deps.tasks.pending().join(', ') },
    { name: 'app', close: () => intelagent.close() },
    { name: 'cache', close: () => deps.cache.close() },
    { name: 'db', close: () => deps.db.destroy() },
  ]
  const url = config.publicUrl
  const port = (server.address() as AddressInfo | null)?.port ?? config.port
  const lines = [
    '',
    `  Intelagent is running on ${url}  (${config.databaseUrl ? 'Postgres' : `PGlite in ${config.dataDir}`}, ${config.redisUrl ? 'Redis' : 'in-process cache'}, port ${port})`,
    `  Dashboard      ${url}/dashboard`,
    `  Demo site      ${url}/demo`,
    `  API reference  ${url}/api/openapi.json`,
  ]
  if (demo) {
    lines.push(
      '',
      `  Demo license   ${demo.license.key}   (email ${demo.license.email}; register with it in the dashboard)`,
      `  Chatbot key    ${demo.chatbotKey}`,
      `  Sales key      ${demo.salesKey}`,
    )
  }
  process.stdout.write(`${lines.join('\n')}\n\n`)

  let stopping = false
  const shutdown = async (signal: string) => {
    if (stopping) return
    stopping = true
    const started = performance.now()
    deps.logger.info('shutting down', { signal, graceMs: config.shutdownGraceMs })
    // SSE streams watch this signal and end with a retry hint, so they do not hold the HTTP step open.
    draining.abort()
    const cut = await runClosers(closers, config.shutdownGraceMs, deps.logger)
    deps.logger.info('shutdown complete', { ms: Math.round(performance.now() - started), cut })
    process.exit(0)
  }
  process.on('SIGINT', shutdown)
  process.on('SIGTERM', shutdown)
}

main().catch((err: unknown) => {
  // Mistakes an operator can fix get one line; anything else is a bug and keeps its stack.
  process.stderr.write(`${startupMessage(err) ?? String((err as Error)?.stack ?? err)}\n`)
  process.exit(1)
})
