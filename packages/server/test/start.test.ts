// The README's start command: the compiled entry point (`pnpm build` → `node dist/main.js`, no tsx at run time)
// on embedded defaults (PGlite + in-process cache), printing a demo license and serving the API, the demo page and
// the widget; and the package's `bin` working through a symlink, as npm installs it.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { mkdtempSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { normalizeLicenseKey } from '../src/licenses/license-key.js'
import { ensureBuilt, freePort } from './browser/browser.js'

const SERVER = fileURLToPath(new URL('..', import.meta.url))

describe('pnpm start', () => {
  let child: ChildProcess | undefined
  afterAll(() => {
    child?.kill('SIGTERM')
  })

  // A fresh PGlite cluster and the migrations take most of the start; a loaded CI machine needs the long timeout.
  it('starts on PGlite and the in-process cache, prints a demo license and serves the product', { timeout: 120_000 }, async () => {
    ensureBuilt('@intelagent/widget', 'packages/widget/dist/widget.js')
    ensureBuilt('@intelagent/server', 'packages/server/dist/main.js')
    const port = await freePort()
    const env: Record<string, string> = {
      ...(process.env as Record<string, string>),
      PORT: String(port),
      DATA_DIR: mkdtempSync(join(tmpdir(), 'intl-start-')),
      LOG_LEVEL: 'warn',
    }
    delete env.DATABASE_URL
    delete env.REDIS_URL
    delete env.NODE_ENV
    child = spawn(process.execPath, ['dist/main.js'], { cwd: SERVER, env })
    let out = ''
    child.stderr?.on('data', (d) => {
      out += String(d)
    })
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no demo license printed:\n${out}`)), 110_000)
      child?.stdout?.on('data', (d) => {
        out += String(d)
        if (out.includes('Sales key')) {
          clearTimeout(timer)
          resolve()
        }
      })
      child?.on('exit', (code) => reject(new Error(`server exited with ${code}:\n${out}`)))
    })
    expect(out).toContain('PGlite')
    expect(out).toContain('in-process cache')
    const license = /Demo license\s+(INTL-\S+)/.exec(out)?.[1] ?? ''
    expect(normalizeLicenseKey(license)).toBe(license)
    const base = `http://localhost:${port}`
    expect(await (await fetch(`${base}/readyz`)).json()).toEqual({ status: 'ready', postgres: 'up', redis: 'in-process' })
    const demo = await fetch(`${base}/demo`)
    expect(demo.status).toBe(200)
    expect(await demo.text()).toMatch(/data-product-key="chat_/)
    expect((await fetch(`${base}/widget.js`)).status).toBe(200)
  })

  it('the CLI bin prints its usage for --help and exits 0, also through a symlink', () => {
    ensureBuilt('@intelagent/server', 'packages/server/dist/cli.js')
    const link = join(mkdtempSync(join(tmpdir(), 'intl-bin-')), 'intelagent')
    symlinkSync(join(SERVER, 'dist/cli.js'), link)
    const out = execFileSync(process.execPath, [link, '--help'], { encoding: 'utf8' })
    expect(out).toMatch(/^Usage: intelagent <command>/)
    expect(out).toContain('issue-license')
  })
})
