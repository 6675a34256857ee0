// The deploy files are checked the way a linter would read them, since no Docker engine runs here:
// compose.yaml with dclint (the Compose Specification's JSON schema and best-practice rules), the Dockerfile against hadolint-style rules,
// and the three files against each other (what the proxy balances is what compose runs).
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'

const ROOT = fileURLToPath(new URL('../../../', import.meta.url))
const read = (file: string) => readFileSync(join(ROOT, file), 'utf8')

interface Service {
  image?: string
  build?: unknown
  entrypoint?: string[]
  environment?: Record<string, string>
  depends_on?: Record<string, { condition: string }>
  healthcheck?: unknown
}

describe('compose.yaml', () => {
  const compose = parse(read('compose.yaml'), { merge: true }) as { services: Record<string, Service> }

  it('passes dclint (the Compose Specification schema plus its best-practice rules), with no warning', () => {
    const bin = join(ROOT, 'packages/server/node_modules/.bin/dclint')
    const out = spawnSync(bin, [join(ROOT, 'compose.yaml')], { encoding: 'utf8' })
    expect(`${out.stdout}${out.stderr}`.trim()).toBe('')
    expect(out.status).toBe(0)
  })

  it('runs Postgres, Redis, migrations once, and two server instances that wait for both', () => {
    const { services } = compose
    expect(Object.keys(services).sort()).toEqual(['migrate', 'postgres', 'proxy', 'redis', 'server-1', 'server-2'])
    expect(services.migrate?.entrypoint).toEqual(['node', 'packages/server/dist/cli.js', 'migrate'])
    expect(services.postgres?.healthcheck).toBeDefined()
    for (const name of ['server-1', 'server-2']) {
      const s = services[name] as Service
      expect(s.depends_on?.migrate?.condition).toBe('service_completed_successfully')
      expect(s.environment?.NODE_ENV).toBe('production')
      expect(s.environment?.REDIS_URL).toMatch(/^redis:\/\/redis:/)
      expect(s.environment?.DATABASE_URL).toMatch(/@postgres:5432\//)
      expect(s.environment?.INSTANCE_COUNT).toBe('2')
      expect(s.environment?.TRUST_PROXY).toBe('1')
    }
  })

  it('the proxy balances exactly the server services, on the port they listen on, unbuffered for SSE', () => {
    const caddy = read('deploy/Caddyfile')
    const upstreams = /reverse_proxy\s+([^{\n]+)/.exec(caddy)?.[1]?.trim().split(/\s+/)
    expect(upstreams).toEqual(['server-1:3000', 'server-2:3000'])
    expect(caddy).toMatch(/flush_interval -1/)
    expect(caddy).toMatch(/health_uri \/healthz/)
  })
})

describe('Dockerfile', () => {
  const text = read('Dockerfile')
  const lines = text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
  const stages = lines.reduce<string[][]>((acc, l) => {
    if (/^FROM /i.test(l)) acc.push([])
    acc.at(-1)?.push(l)
    return acc
  }, [])
  const last = stages.at(-1) ?? []

  it('pins every base image to a version (DL3006/DL3007: no untagged or latest images)', () => {
    const froms = lines.filter((l) => /^FROM /i.test(l)).map((l) => l.split(/\s+/)[1] ?? '')
    expect(froms.length).toBeGreaterThanOrEqual(2)
    for (const image of froms) {
      if (!image.includes(':') && !image.includes('$')) {
        // A reference to an earlier stage by name.
        expect(text).toMatch(new RegExp(`AS ${image}\\b`))
        continue
      }
      expect(image).not.toMatch(/:latest$/)
    }
  })

  it('runs as a non-root user in production mode with a health check on /healthz, exec-form entrypoint', () => {
    expect(last.find((l) => /^USER /.test(l))).toMatch(/^USER (node|\d{4,})$/)
    expect(last.some((l) => /^ENV .*NODE_ENV=production/.test(l))).toBe(true)
    expect(last.find((l) => /^HEALTHCHECK /.test(l))).toMatch(/\/healthz/)
    expect(last.find((l) => /^ENTRYPOINT /.test(l))).toBe('ENTRYPOINT ["node", "packages/server/dist/main.js"]')
  })

  it('uses COPY not ADD (DL3020), absolute WORKDIR (DL3000), pinned pnpm, and copies only files that exist', () => {
    expect(lines.some((l) => /^ADD /.test(l))).toBe(false)
    for (const l of lines.filter((l) => /^WORKDIR /.test(l))) expect(l).toMatch(/^WORKDIR \//)
    expect(text).toMatch(/ARG PNPM_VERSION=\d+\.\d+\.\d+/)
    expect(text).toContain(`PNPM_VERSION=${/PNPM_VERSION=(\S+)/.exec(read('.ci/run'))?.[1]}`)
    for (const l of lines.filter((l) => /^COPY (?!--from)/.test(l))) {
      const parts = l
        .split(/\s+/)
        .slice(1, -1)
        .filter((p) => !p.startsWith('--'))
      for (const p of parts) if (p !== '.') expect(existsSync(join(ROOT, p)), p).toBe(true)
    }
  })
})
