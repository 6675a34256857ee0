// The operators' job view through the SDK against the real server, in process: dead jobs are listed without
// their payloads and can be sent round again; customers and strangers are refused.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { hashPassword } from '../../server/src/account/password.js'
import { enqueue } from '../../server/src/platform/jobs.js'
import { newCustomer, uniqueEmail } from '../../server/test/fixtures.js'
import { createTestApp, type TestApp } from '../../server/test/harness.js'
import { AuthenticationError, ConflictError, Intelagent, NotFoundError, PermissionError, ValidationError } from '../src/index.js'

let app: TestApp
const inProcess = (url: string, init: RequestInit) => Promise.resolve(app.app.request(url, init))
const client = (token?: string) => new Intelagent({ baseUrl: 'http://intelagent.test', fetch: inProcess, maxRetries: 0, ...(token ? { token } : {}) })

beforeAll(async () => {
  app = await createTestApp()
})
afterAll(async () => {
  await app?.shutdown()
})

describe('sdk.jobs (operators)', () => {
  it('lists a dead job without its payload, retries it, and refuses what is not a dead job', async () => {
    let failing = true
    let runs = 0
    app.jobs.register('test.flaky', {
      run: async () => {
        runs++
        if (failing) throw new Error('upstream unavailable')
      },
    })
    const id = (await enqueue(app.deps.db, 'test.flaky', { apiKey: 'sk-never-shown-0123' }, { maxAttempts: 1 })) as string
    await app.jobs.idle()

    const email = uniqueEmail('ops')
    await app.deps.db
      .insertInto('users')
      .values({ license_id: null, email, password_hash: await hashPassword('operator password', app.config.scryptLogN), role: 'admin' })
      .execute()
    const ops = client()
    await ops.auth.login({ email, password: 'operator password' })

    const dead = await ops.jobs.list({ status: 'dead' })
    const job = dead.data.find((j) => j.id === id)
    expect(job).toMatchObject({ id, name: 'test.flaky', status: 'dead', attempts: 1, maxAttempts: 1, lastError: 'upstream unavailable', lockedBy: null })
    expect(JSON.stringify(dead.data)).not.toContain('sk-never-shown')
    expect((await ops.jobs.list({ status: 'queued' })).data.map((j) => j.id)).not.toContain(id)

    failing = false
    const retried = await ops.jobs.retry(id)
    expect(retried).toMatchObject({ id, status: 'queued', attempts: 0, lastError: 'upstream unavailable' })
    await app.jobs.idle()
    expect(runs).toBe(2)
    expect((await ops.jobs.list({ status: 'done' })).data.find((j) => j.id === id)).toMatchObject({ status: 'done', attempts: 1 })

    await expect(ops.jobs.retry(id)).rejects.toBeInstanceOf(ConflictError)
    await expect(ops.jobs.retry('job_000000000000000000000000')).rejects.toBeInstanceOf(NotFoundError)
    await expect(ops.jobs.retry('not-a-job')).rejects.toBeInstanceOf(ValidationError)
    await expect(ops.jobs.list({ status: 'lost' as never })).rejects.toBeInstanceOf(ValidationError)
    const audit = await app.deps.db.selectFrom('audit_log').select(['actor', 'target']).where('action', '=', 'job.retried').execute()
    expect(audit).toEqual([{ actor: email, target: id }])
  })

  it('refuses customers and callers without credentials', async () => {
    const customer = await newCustomer(app)
    await expect(client(customer.token).jobs.list()).rejects.toBeInstanceOf(PermissionError)
    await expect(client(customer.token).jobs.retry('job_000000000000000000000000')).rejects.toBeInstanceOf(PermissionError)
    await expect(client().jobs.list()).rejects.toBeInstanceOf(AuthenticationError)
  })
})
