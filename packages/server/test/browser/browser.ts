// Shared machinery of the browser tests: Debian's Chromium through playwright-core, the app served for real on
// 127.0.0.1, and pages that record every CSP violation, console error and uncaught exception.
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { type AddressInfo, createServer } from 'node:net'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { type ServerType, serve } from '@hono/node-server'
import { type Browser, type BrowserContext, chromium, type Locator, type Page } from 'playwright-core'
import { expect } from 'vitest'
import { createTestApp, type TestApp } from '../harness.js'

export const CHROMIUM = '/usr/bin/chromium'
export const ROOT = fileURLToPath(new URL('../../../../', import.meta.url))
export const OUT = join(ROOT, 'packages/server/test-output')

export async function freePort(): Promise<number> {
  const probe = createServer()
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve))
  const { port } = probe.address() as AddressInfo
  await new Promise<void>((resolve) => probe.close(() => resolve()))
  return port
}

export function listen(fetch: (req: Request, env?: unknown) => Response | Promise<Response>, port: number): Promise<ServerType> {
  return new Promise((resolve) => {
    const server = serve({ fetch, port, hostname: '127.0.0.1' }, () => resolve(server))
  })
}

/** Builds a front-end package if its output is missing (a fresh clone that ran only the tests). */
export function ensureBuilt(pkg: '@intelagent/widget' | '@intelagent/dashboard' | '@intelagent/server', file: string): void {
  if (!existsSync(join(ROOT, file))) execFileSync('pnpm', ['--filter', pkg, 'build'], { cwd: ROOT, stdio: 'inherit' })
}

export interface Served {
  app: TestApp
  base: string
  server: ServerType
  close(): Promise<void>
}

/** The app on a real port; PUBLIC_URL is that address, since embed code, CSRF and demo origins depend on it. */
export async function serveApp(options: { env?: Record<string, string> } = {}): Promise<Served> {
  mkdirSync(OUT, { recursive: true })
  const port = await freePort()
  const base = `http://127.0.0.1:${port}`
  const app = await createTestApp({ env: { ...options.env, PUBLIC_URL: base } })
  const server = await listen((req, env) => app.app.fetch(req, env), port)
  return {
    app,
    base,
    server,
    async close() {
      await new Promise((resolve) => server.close(resolve))
      await app.shutdown()
    },
  }
}

/** Debian's Chromium; a missing browser fails the run loudly instead of skipping the tests. */
export function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install chromium (./run test does it)`)
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  })
}

export interface Problem {
  kind: 'csp' | 'console' | 'pageerror'
  text: string
  url: string
}

/** A page that records every CSP violation (shadow roots included), console error and uncaught exception. */
export async function watchedPage(context: BrowserContext): Promise<{ page: Page; problems: Problem[] }> {
  const page = await context.newPage()
  const problems: Problem[] = []
  await page.exposeFunction('__reportCsp', (text: string) => problems.push({ kind: 'csp', text, url: page.url() }))
  await page.addInitScript(() => {
    document.addEventListener(
      'securitypolicyviolation',
      (e) => (window as unknown as { __reportCsp(t: string): void }).__reportCsp(`${e.violatedDirective} ${e.blockedURI} ${e.sample}`),
      true,
    )
  })
  page.on('console', (msg) => {
    if (msg.type() === 'error') problems.push({ kind: 'console', text: msg.text(), url: msg.location().url })
  })
  page.on('pageerror', (err) => problems.push({ kind: 'pageerror', text: err.message, url: page.url() }))
  return { page, problems }
}

/** Creates the license's account through the dashboard's own form and waits for the Products page. */
export async function registerInDashboard(page: Page, base: string, license: { email: string; key: string }, password: string): Promise<void> {
  const h1 = (name: string) => page.getByRole('heading', { level: 1, name, exact: true })
  await page.goto(`${base}/dashboard#register`)
  await h1('Create your Intelagent account').waitFor({ state: 'visible', timeout: 30_000 })
  await page.getByLabel('Email').fill(license.email)
  await page.getByLabel('Password').fill(password)
  await page.getByLabel('License key').fill(license.key)
  await page.getByRole('button', { name: 'Create account' }).click()
  await h1('Products').waitFor({ state: 'visible', timeout: 30_000 })
}

/** What the page keeps in localStorage (the widget's visitor, conversation and outbox), parsed. */
export const stored = (page: Page) =>
  page.evaluate(() => {
    const out: Record<string, unknown> = {}
    for (let i = 0; i < localStorage.length; i++) out[localStorage.key(i)!] = JSON.parse(localStorage.getItem(localStorage.key(i)!)!)
    return out
  })

/** Opens the dashboard in a watched page of `context`, signs in, and resolves on the Products page. */
export async function signInDashboard(context: BrowserContext, base: string, who: { email: string }, password: string) {
  const watched = await watchedPage(context)
  const h1 = (name: string) => watched.page.getByRole('heading', { level: 1, name, exact: true })
  await watched.page.goto(`${base}/dashboard`)
  await h1('Sign in to Intelagent').waitFor({ state: 'visible', timeout: 30_000 })
  await watched.page.getByLabel('Email').fill(who.email)
  await watched.page.getByLabel('Password').fill(password)
  await watched.page.getByRole('button', { name: 'Sign in' }).click()
  await h1('Products').waitFor({ state: 'visible', timeout: 30_000 })
  return watched
}

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8')

/**
 * WCAG 2.1 A/AA and best-practice violations on the page (axe-core), as `{id, targets}`. Finite animations (a
 * panel fading in) finish first, in the document and in shadow roots: contrast mid-fade is not what a person reads.
 */
export async function axe(page: Page) {
  await page.addScriptTag({ content: axeSource })
  return page.evaluate(async () => {
    // A page still rendering (a list mounting its items, a panel filling in) is measured once it has settled: no DOM
    // change for 300 ms (at most 5 s of waiting), in the document and in open shadow roots.
    await new Promise<void>((resolve) => {
      let quiet: ReturnType<typeof setTimeout>
      const observer = new MutationObserver(() => {
        clearTimeout(quiet)
        quiet = setTimeout(done, 300)
      })
      const done = () => {
        observer.disconnect()
        clearTimeout(cap)
        resolve()
      }
      const cap = setTimeout(done, 5_000)
      const watched: Node[] = [document]
      for (const el of document.querySelectorAll('*')) if (el.shadowRoot) watched.push(el.shadowRoot)
      for (const node of watched) observer.observe(node, { subtree: true, childList: true, attributes: true, characterData: true })
      quiet = setTimeout(done, 300)
    })
    const roots: (Document | ShadowRoot)[] = [document]
    for (const el of document.querySelectorAll('*')) if (el.shadowRoot) roots.push(el.shadowRoot)
    const running = new Set(roots.flatMap((r) => r.getAnimations()))
    await Promise.all(
      [...running].filter((a) => a.effect?.getComputedTiming().iterations !== Number.POSITIVE_INFINITY).map((a) => a.finished.catch(() => undefined)),
    )
    const run = (window as unknown as { axe: { run(ctx: unknown, opts: unknown): Promise<{ violations: { id: string; nodes: { target: unknown }[] }[] }> } })
      .axe
    const { violations } = await run.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] } })
    return violations.map((v) => ({ id: v.id, targets: v.nodes.map((n) => JSON.stringify(n.target)) }))
  })
}

/** The widget's custom element, and what the widget tests wait for at most before a poll fails. */
export const WIDGET = 'intelagent-widget'
export const SOON = { timeout: 15_000 }
/** The widget's parts, inside its shadow root. */
export const launcher = (page: Page) => page.locator(`${WIDGET} button.l`)
export const panel = (page: Page) => page.locator(`${WIDGET} section.p`)
export const composer = (page: Page) => page.locator(`${WIDGET} textarea#ia-in`)
export const bubbles = (page: Page, text: string) => page.locator(`${WIDGET} .m .b`, { hasText: text })
/** Polls until `loc` is shown (or hidden). */
export const visible = (loc: Locator, want: boolean) => expect.poll(() => loc.isVisible(), SOON).toBe(want)
/** Waits until the locator matches `n` elements. */
export const count = (loc: Locator, n: number, timeout = SOON.timeout) => expect.poll(() => loc.count(), { timeout }).toBe(n)
/** Waits until the attribute has `value` (null: absent). */
export const attribute = (loc: Locator, name: string, value: string | null) => expect.poll(() => loc.getAttribute(name), SOON).toBe(value)
