import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, type TestApp } from '../../test/harness.js'
import { ensureDemo } from '../demo.js'

describe('static assets', () => {
  let app: TestApp
  beforeAll(async () => {
    app = await createTestApp()
    const demo = await ensureDemo(app.deps)
    app.setDemo({ chatbotKey: demo.chatbotKey, salesKey: demo.salesKey })
  })
  afterAll(async () => app.shutdown())

  it('serves the loader briefly cached and the chunks immutable, with CORS for any page', async () => {
    const loader = await app.request('/widget.js')
    expect(loader.status).toBe(200)
    expect(loader.headers.get('cache-control')).toContain('max-age=300')
    const chunk = /widget\/(chat-[\w-]+\.js)/.exec(await loader.text())?.[1]
    expect(chunk).toBeTruthy()
    const res = await app.request(`/widget/${chunk}`)
    expect(res.status).toBe(200)
    expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable')
    expect(res.headers.get('access-control-allow-origin')).toBe('*')
  })

  it('serves the demo page with the demo key filled in and a strict CSP', async () => {
    const res = await app.request('/demo')
    const html = await res.text()
    expect(html).not.toContain('__PRODUCT_KEY__')
    expect(html).toMatch(/data-product-key="chat_[0-9A-Za-z]{28}"/)
    expect(html).toContain("style-src 'self'")
  })

  it('never serves files outside the build folders', async () => {
    for (const path of [
      '/widget/..%2f..%2fpackage.json',
      '/widget/%2e%2e/%2e%2e/package.json',
      '/widget/..%2fwidget.js',
      '/demo/..%2f..%2fpackage.json.css',
      '/dashboard/..%2f..%2f..%2fpackage.json',
    ]) {
      const res = await app.request(path)
      expect(await res.text(), path).not.toContain('"name": "@intelagent')
    }
    // A sibling that merely shares the folder's name as a prefix (dist/widget.js beside dist/widget/).
    expect((await app.request('/widget/..%2fwidget.js')).status).toBe(404)
  })
})
