import { type RouteConfig, z } from '@hono/zod-openapi'
import { describe, expect, it } from 'vitest'
import { createRouter } from './http.js'
import { access, type Declared, declareRoute, json } from './route.js'

describe('declareRoute', () => {
  const route = declareRoute({
    method: 'post',
    path: '/api/things/{id}',
    operationId: 'updateThing',
    summary: 'Update a thing',
    tag: 'things',
    access: access.customer('settings:write'),
    errors: ['not_found'],
    request: { params: z.object({ id: z.uuid() }), body: { required: true, content: { 'application/json': { schema: z.object({ name: z.string() }) } } } },
    responses: { 200: json(z.object({ id: z.string(), name: z.string() }), 'The thing') },
  })

  it('refuses to build a route that declares no access', () => {
    expect(() =>
      declareRoute({ method: 'get', path: '/api/x', operationId: 'x', summary: 'x', tag: 'x', responses: { 200: { description: 'x' } } } as never),
    ).toThrow(/declares no access: it will not mount/)
  })

  it('documents every error its access, budget, idempotency, schemas and own list imply, in the one envelope', () => {
    const config = route as unknown as Omit<RouteConfig, 'responses'> & { responses: Record<number, { description: string }> } & Record<string, unknown>
    expect(Object.keys(config.responses).sort()).toEqual(['200', '400', '401', '403', '404', '409', '413', '415', '422', '429', '503'])
    expect(config.responses[403]?.description).toContain('`insufficient_scope`')
    expect(config.responses[409]?.description).toContain('`idempotency_conflict`')
    expect(config.security).toEqual([{ session: [] }, { sessionCookie: [] }, { secretKey: [] }])
    expect(config['x-budget']).toBe('api')
  })

  it('runs the installed guard with the declaration before the handler, and the handler gets typed input', async () => {
    const app = createRouter()
    const seen: Declared[] = []
    app.use('*', async (c, next) => {
      c.set('guard', {
        async run(_c, declared, nextFn) {
          seen.push(declared)
          await nextFn()
          return undefined
        },
      })
      await next()
    })
    app.openapi(route, (c) => c.json({ id: c.req.valid('param').id, name: c.req.valid('json').name }, 200))
    const id = '00000000-0000-4000-8000-000000000001'
    const res = await app.request(`/api/things/${id}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name":"a"}' })
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ id, name: 'a' })
    expect(seen.map((d) => [d.operationId, d.access, d.budget, d.idempotent])).toEqual([
      ['updateThing', { kind: 'customer', scope: 'settings:write' }, 'api', true],
    ])
  })
})
