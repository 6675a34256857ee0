// The size budget as a test: the loader and loader + chat chunk, gzipped, against the numbers in scripts/size.mjs.
import { execFileSync } from 'node:child_process'
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { beforeAll, describe, expect, it } from 'vitest'
import { BUDGET, DIST, measure } from '../scripts/size.mjs'

const PKG = fileURLToPath(new URL('..', import.meta.url))

function newestSource(dir: string): number {
  return readdirSync(dir, { withFileTypes: true }).reduce((max, e) => {
    const path = join(dir, e.name)
    return Math.max(max, e.isDirectory() ? newestSource(path) : statSync(path).mtimeMs)
  }, 0)
}

/** Rebuilds unless dist/ is newer than every source file and the build config. */
function ensureFreshBuild(): void {
  const loader = join(DIST, 'widget.js')
  const sources = Math.max(newestSource(join(PKG, 'src')), statSync(join(PKG, 'vite.config.ts')).mtimeMs)
  if (existsSync(loader) && statSync(loader).mtimeMs >= sources) return
  execFileSync(process.execPath, [join(PKG, 'node_modules/vite/bin/vite.js'), 'build'], { cwd: PKG, stdio: 'pipe' })
}

describe('widget size budget', () => {
  let sizes: ReturnType<typeof measure>
  beforeAll(() => {
    ensureFreshBuild()
    sizes = measure()
  }, 120_000)

  it('keeps the loader within 3 KiB gzip', () => {
    expect(BUDGET.loader).toBe(3072)
    expect(sizes.loader).toBeGreaterThan(500)
    expect(sizes.loader).toBeLessThanOrEqual(BUDGET.loader)
  })

  it('keeps loader + chat chunk + the largest language chunk within 20 KiB gzip', () => {
    expect(BUDGET.total).toBe(20480)
    expect(sizes.total).toBe(sizes.loader + sizes.chat + sizes.largestLocale)
    expect(sizes.total).toBeLessThanOrEqual(BUDGET.total)
  })

  it('ships one content-hashed chat chunk that the loader names, and one small chunk per language', () => {
    const chat = sizes.chunks.filter((f) => f.startsWith('chat-'))
    expect(chat).toHaveLength(1)
    const loader = readFileSync(join(DIST, 'widget.js'), 'utf8')
    expect(loader).toContain(`widget/${chat[0]}`)
    // A classic script: no top-level import/export statements.
    expect(loader).not.toMatch(/^\s*(import|export)\s/m)
    const languages = Object.keys(sizes.locales)
      .map((f) => f.split('-')[0])
      .sort()
    expect(languages).toEqual(['ar', 'de', 'es', 'fr', 'he', 'it', 'nl', 'pt'])
    for (const bytes of Object.values(sizes.locales)) expect(bytes).toBeLessThan(1024)
    // English lives in the chat chunk; every other language is imported on demand by its content-hashed name.
    const chunk = readFileSync(join(DIST, 'widget', chat[0]!), 'utf8')
    for (const file of Object.keys(sizes.locales)) expect(chunk).toContain(`import(\`./${file}\`)`)
  })
})
