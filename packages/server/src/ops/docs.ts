// /api/docs: the interactive API reference (Scalar), rendered in the browser from /api/openapi.json. Everything is
// served from here (no CDN): the page, Scalar's standalone bundle from node_modules, and a start script, so the
// page runs under a CSP with no inline script and no eval. Styles are the exception: Scalar's components render
// <style> elements of their own, which no nonce reaches, so this page alone allows inline styles.
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { z } from '@hono/zod-openapi'
import type { Context } from 'hono'
import type { Deps } from '../platform/context.js'
import { createRouter } from '../platform/http.js'
import { access, declareRoute } from '../platform/route.js'

const text = (type: string, description: string) => ({ description, content: { [type]: { schema: z.string() } } })

const page = declareRoute({
  method: 'get',
  path: '/api/docs',
  operationId: 'apiReference',
  summary: 'The interactive API reference (HTML)',
  tag: 'ops',
  access: access.public,
  hide: true,
  responses: { 200: text('text/html', 'The reference page') },
})

const bundle = declareRoute({
  method: 'get',
  path: '/api/docs/scalar.js',
  operationId: 'apiReferenceBundle',
  summary: 'The reference page’s Scalar bundle',
  tag: 'ops',
  access: access.public,
  hide: true,
  responses: { 200: text('text/javascript', 'Scalar’s standalone bundle') },
})

const start = declareRoute({
  method: 'get',
  path: '/api/docs/start.js',
  operationId: 'apiReferenceStart',
  summary: 'The reference page’s start script',
  tag: 'ops',
  access: access.public,
  hide: true,
  responses: { 200: text('text/javascript', 'Starts Scalar on the page') },
})

/** Scalar's options: the document of this server, no fonts or proxy from elsewhere, no telemetry. */
const START_SCRIPT = `// Starts the API reference (a file, so the page's CSP needs no inline script).
window.Scalar.createApiReference('#app', {
  url: '/api/openapi.json',
  withDefaultFonts: false,
  hideClientButton: false,
  telemetry: false,
  persistAuth: false,
  defaultOpenAllTags: false,
  // Scalar's light theme greys, method colours, string highlights and badges are too faint for WCAG AA contrast.
  customCss: [
    '.light-mode { --scalar-color-2: #595959; --scalar-color-3: #5e5e5e; --scalar-sidebar-color-2: #595959;',
    '  --scalar-color-blue: #00569a; --scalar-color-green: #006b45; --scalar-color-orange: #a04a00; --scalar-color-red: #b3261e;',
    '  --scalar-color-purple: #6a3ea8; --scalar-color-yellow: #6e5300; }',
    '.light-mode .sidebar-search-placeholder { color: #595959; }',
    '.light-mode .hljs-string, .light-mode .hljs-attr { color: #116329; } .light-mode .badge { color: #1b1b1b !important; }',
  ].join(' '),
})

// What Scalar's own markup lacks for WCAG 2.1 AA, mended as it renders: icon-only copy buttons get a name,
// response cards that would share one region name get distinct ones, and a button whose label hides its visible
// text says it.
function mend() {
  for (const b of document.querySelectorAll('button:not([aria-label]):not([aria-labelledby])')) {
    if (!b.innerText.trim()) b.setAttribute('aria-label', b.classList.contains('scalar-code-copy') ? 'Copy to clipboard' : b.getAttribute('title') || 'More options')
  }
  const seen = new Map()
  for (const r of document.querySelectorAll('[role="region"][aria-labelledby]')) {
    const name = (document.getElementById(r.getAttribute('aria-labelledby'))?.textContent ?? '').trim()
    const n = (seen.get(name) ?? 0) + 1
    seen.set(name, n)
    if (n > 1) {
      r.removeAttribute('aria-labelledby')
      r.setAttribute('aria-label', (r.getAttribute('aria-label') || 'Example responses') + ' ' + n)
    }
  }
  for (const b of document.querySelectorAll('button.show-more[aria-label]')) {
    const text = b.textContent.trim()
    if (text && !b.getAttribute('aria-label').toLowerCase().startsWith(text.toLowerCase())) b.setAttribute('aria-label', text + ': ' + b.getAttribute('aria-label'))
  }
}
let queued = false
new MutationObserver(() => {
  if (queued) return
  queued = true
  requestAnimationFrame(() => {
    queued = false
    mend()
  })
}).observe(document.body, { childList: true, subtree: true })
`

const HTML = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <link rel="icon" href="data:," />
    <title>Intelagent API reference</title>
  </head>
  <body>
    <div id="app"></div>
    <script src="/api/docs/scalar.js"></script>
    <script src="/api/docs/start.js"></script>
  </body>
</html>
`

const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

/** Scalar's standalone browser bundle, next to its package's entry point. */
function bundlePath(): string {
  const entry = createRequire(import.meta.url).resolve('@scalar/api-reference')
  return join(dirname(entry), 'browser', 'standalone.js')
}

export function docsRoutes(_deps: Deps) {
  const app = createRouter()
  let code: string | undefined

  app.openapi(page, (c) => {
    c.header('Content-Security-Policy', CSP)
    c.header('Cache-Control', 'no-cache')
    return c.html(HTML, 200)
  })

  const script = (c: Context, body: string) =>
    c.body(body, 200, { 'Content-Type': 'text/javascript; charset=utf-8', 'Cache-Control': 'public, max-age=3600' }) as never

  app.openapi(bundle, (c) => {
    code ??= readFileSync(bundlePath(), 'utf8')
    return script(c, code)
  })
  app.openapi(start, (c) => script(c, START_SCRIPT))

  return app
}
