// Writes the OpenAPI document the server serves at /api/openapi.json to a file (default: stdout), built from the
// real app on embedded defaults, so CI can lint it and generate the SDK's and widget's wire types from it.
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createApp } from '../src/app.js'
import { loadConfig } from '../src/platform/config.js'
import { closeDeps, createDeps } from '../src/platform/deps.js'
import { createLogger } from '../src/platform/logger.js'

const out = process.argv[2]
const config = loadConfig({ DATA_DIR: mkdtempSync(join(tmpdir(), 'intl-openapi-')), LOG_LEVEL: 'silent', PUBLIC_URL: 'https://intelagent.example.com' })
const deps = await createDeps(config, { logger: createLogger('silent'), db: { memory: true } })
const app = await createApp(deps)
const doc = await (await app.app.request('/api/openapi.json')).json()
const text = `${JSON.stringify(doc, null, 2)}\n`
if (out) writeFileSync(out, text)
else process.stdout.write(text)
await app.close()
await closeDeps(deps)
