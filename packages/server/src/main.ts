// Production entry: validated config, migrations, the app on @hono/node-server, demo data in development.
import { serve } from '@hono/node-server'
import { createApp } from './app.js'
import { ensureDemo } from './demo.js'
import { ConfigError, loadConfig } from './platform/config.js'
import { closeDeps, createDeps } from './platform/deps.js'

async function main(): Promise<void> {
  let config: ReturnType<typeof loadConfig>
  try {
    config = loadConfig()
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`)
      process.exit(1)
    }
    throw err
  }
  const deps = await createDeps(config)
  const demo = config.demo ? await ensureDemo(deps) : undefined
  const intelagent = await createApp(deps, demo ? { demo } : {})
  const server = serve({ fetch: intelagent.app.fetch, port: config.port, hostname: config.host }, (info) => {
    const url = config.publicUrl
    const lines = [
      '',
      `  Intelagent is running on ${url}  (${config.databaseUrl ? 'Postgres' : `PGlite in ${config.dataDir}`}, ${config.redisUrl ? 'Redis' : 'in-process cache'}, port ${info.port})`,
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
  })
  const shutdown = async () => {
    server.close()
    await intelagent.close()
    await closeDeps(deps)
    process.exit(0)
  }
  process.on('SIGINT', shutdown)
  process.on('SIGTERM', shutdown)
}

await main()
