import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { configure, newCustomer } from './fixtures.js'
import { createTestApp, type TestApp } from './harness.js'

describe('smoke', () => {
  let app: TestApp
  beforeAll(async () => {
    app = await createTestApp()
  })
  afterAll(async () => app.shutdown())

  it('answers health, registers, configures and resolves', async () => {
    expect((await app.request('/healthz')).status).toBe(200)
    const ready = await app.request('/readyz')
    expect(ready.status).toBe(200)
    const customer = await newCustomer(app)
    const me = await app.request('/api/auth/me', { token: customer.token })
    expect(me.status).toBe(200)
    expect(((await me.json()) as { user: { licenseKey: string } }).user.licenseKey).toBe(customer.licenseKey)
    const chat = await configure(app, customer, 'chatbot')
    expect(chat.key).toMatch(/^chat_/)
    expect(chat.embedCode).toContain('data-product-key')
    const resolved = await app.keys.resolve(chat.key)
    expect(resolved.licenseId).toBe(customer.licenseId)
  })

  it('describes every route in /api/openapi.json, request bodies included', async () => {
    type Schema = { $ref?: string; properties?: Record<string, unknown> }
    const doc = (await (await app.request('/api/openapi.json')).json()) as {
      paths: Record<string, Record<string, { requestBody?: { content: Record<string, { schema: Schema }> } }>>
      components: { schemas: Record<string, Schema> }
    }
    for (const path of [
      '/api/auth/register',
      '/api/products/{product}/configure',
      '/api/widget/conversations/{id}/messages',
      '/api/webhooks/squarespace',
      '/api/api-keys',
      '/readyz',
    ]) {
      expect(doc.paths[path], path).toBeDefined()
    }
    // Named schemas are components, referenced from the operation.
    const schema = doc.paths['/api/auth/register']?.post?.requestBody?.content['application/json']?.schema
    const resolved = schema?.$ref ? doc.components.schemas[schema.$ref.replace('#/components/schemas/', '')] : schema
    const register = resolved?.properties ?? {}
    expect(Object.keys(register).sort()).toEqual(['email', 'license_key', 'password'])
  })
})
