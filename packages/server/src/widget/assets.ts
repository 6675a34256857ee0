// Static files: the widget loader and its content-hashed chunks, the demo site, and the dashboard SPA.
import { existsSync, readFileSync } from 'node:fs'
import { extname, join, normalize, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import { z } from '@hono/zod-openapi'
import type { Context } from 'hono'
import type { Deps } from '../platform/context.js'
import { createRouter, errorBody } from '../platform/http.js'
import { access, declareRoute } from '../platform/route.js'

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url))
export const WIDGET_DIST = join(ROOT, 'packages/widget/dist')
export const DASHBOARD_DIST = join(ROOT, 'packages/dashboard/dist')
export const SITE_DIR = join(ROOT, 'examples/site')

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.html': 'text/html; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.map': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
}

/** Reads a file under `dir`, refusing anything that escapes it. */
function readUnder(dir: string, rel: string): Buffer | undefined {
  const path = normalize(join(dir, rel))
  // The separator matters: "/dist-other/x" starts with "/dist" too.
  if (!path.startsWith(dir + sep) || !existsSync(path)) return undefined
  try {
    return readFileSync(path)
  } catch {
    return undefined
  }
}

function send(c: Context, body: Buffer | string, file: string, cache: string): Response {
  c.header('Content-Type', TYPES[extname(file)] ?? 'application/octet-stream')
  c.header('Cache-Control', cache)
  c.header('X-Content-Type-Options', 'nosniff')
  return c.body(typeof body === 'string' ? body : new Uint8Array(body))
}

const script = (description: string) => ({
  description,
  content: { 'text/javascript': { schema: z.string().openapi({ description: 'JavaScript' }) } },
})

export const widgetLoaderRoute = declareRoute({
  method: 'get',
  path: '/widget.js',
  operationId: 'getWidgetLoader',
  summary: 'The widget loader the embed code’s script tag loads (cached for five minutes)',
  tag: 'widget',
  access: access.public,
  errors: ['not_found'],
  responses: { 200: script('The loader; it loads the content-hashed chunks below') },
})

export const widgetChunkRoute = declareRoute({
  method: 'get',
  path: '/widget/{file}',
  operationId: 'getWidgetChunk',
  summary: 'A content-hashed widget chunk (cached for a year, immutable)',
  tag: 'widget',
  access: access.public,
  errors: ['not_found'],
  request: { params: z.object({ file: z.string().openapi({ example: 'chat-3f9a1c2b.js' }) }) },
  responses: { 200: script('The chunk') },
})

export interface DemoKeys {
  chatbotKey: string
  salesKey: string
}

export function assetRoutes(deps: Deps, demoKeys: () => DemoKeys | undefined) {
  const app = createRouter()
  const missing = (c: Context, what: string) => c.json(errorBody(c as never, 'not_found', `${what} is not built; run pnpm build`), 404)

  app.openapi(widgetLoaderRoute, (c) => {
    const file = readUnder(WIDGET_DIST, 'widget.js')
    if (!file) return missing(c, 'The widget')
    // The loader's URL never changes, so it is cached briefly; the chunks it names are immutable.
    c.header('Access-Control-Allow-Origin', '*')
    return send(c, file, 'widget.js', 'public, max-age=300, stale-while-revalidate=86400')
  })

  app.openapi(widgetChunkRoute, (c) => {
    const name = c.req.valid('param').file
    const file = readUnder(join(WIDGET_DIST, 'widget'), name)
    if (!file) return missing(c, `widget/${name}`)
    c.header('Access-Control-Allow-Origin', '*')
    return send(c, file, name, 'public, max-age=31536000, immutable')
  })

  const demoPage = (page: string) => (c: Context) => {
    const keys = demoKeys()
    const html = readUnder(SITE_DIR, page)
    if (!keys || !html) return c.json(errorBody(c as never, 'not_found', 'The demo is off on this server'), 404)
    const body = html.toString('utf8').replaceAll('__PRODUCT_KEY__', keys.chatbotKey).replaceAll('__SALES_KEY__', keys.salesKey)
    return send(c, body, page, 'no-store')
  }
  app.get('/demo', demoPage('index.html'))
  app.get('/demo/', demoPage('index.html'))
  app.get('/demo/sales', demoPage('sales.html'))
  app.get('/demo/:file{.+\\.(css|svg|png|js)}', (c) => {
    const name = c.req.param('file')
    const file = readUnder(SITE_DIR, name)
    return file ? send(c, file, name, 'public, max-age=300') : missing(c, name)
  })

  const dashboard = (c: Context) => {
    const rel = c.req.path.replace(/^\/dashboard\/?/, '')
    const asset = rel && !rel.endsWith('/') ? readUnder(DASHBOARD_DIST, rel) : undefined
    if (asset) return send(c, asset, rel, rel.startsWith('assets/') ? 'public, max-age=31536000, immutable' : 'no-cache')
    const index = readUnder(DASHBOARD_DIST, 'index.html')
    if (!index) return missing(c, 'The dashboard')
    c.header(
      'Content-Security-Policy',
      "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'",
    )
    return send(c, index, 'index.html', 'no-cache')
  }
  app.get('/dashboard', dashboard)
  app.get('/dashboard/*', dashboard)
  app.get('/', (c) => c.redirect(deps.config.demo ? '/demo' : '/dashboard'))

  return app
}
