// issueLicense and endOrder compose into a caller's transaction (issue 8 §5): what they write commits or rolls back
// with the caller's own work, events and audit entries included.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { uniqueEmail } from '../../test/fixtures.js'
import { createTestApp, type TestApp } from '../../test/harness.js'
import { endOrder } from './lifecycle.js'
import { type IssueLicenseInput, issueLicense } from './queries.js'

describe('license changes in a caller’s transaction', () => {
  let app: TestApp
  beforeAll(async () => {
    app = await createTestApp()
  })
  afterAll(async () => {
    await app.shutdown()
  })

  const order = (email: string, orderId: string): IssueLicenseInput => ({ source: 'n8n', orderId, email, products: ['chatbot'], tier: 'professional' })

  it('rolls an issued license back with the caller’s transaction: no license, order, audit entry or event is left', async () => {
    const email = uniqueEmail('rollback')
    const orderId = `compose-${Date.now()}-rb`
    await expect(
      app.deps.db.transaction().execute(async (trx) => {
        const { license, created } = await issueLicense(trx, order(email, orderId))
        expect(created).toBe(true)
        // Inside the transaction the caller sees it.
        expect(await trx.selectFrom('licenses').select('id').where('id', '=', license.id).executeTakeFirst()).toBeDefined()
        throw new Error('the caller’s own step failed')
      }),
    ).rejects.toThrow('the caller’s own step failed')
    const db = app.deps.db
    expect(await db.selectFrom('licenses').select('id').where('email', '=', email).execute()).toEqual([])
    expect(await db.selectFrom('license_orders').select('order_id').where('order_id', '=', orderId).execute()).toEqual([])
    const events = await db.selectFrom('events').select('data').where('type', '=', 'license.created').execute()
    expect(events.filter((e) => (e.data as { orderId: string | null }).orderId === orderId)).toEqual([])
  })

  it('commits an issued license and an ended order together with the caller’s work', async () => {
    const email = uniqueEmail('commit')
    const orderId = `compose-${Date.now()}-ok`
    const { license } = await app.deps.db.transaction().execute(async (trx) => {
      const issued = await issueLicense(trx, order(email, orderId))
      const ended = await endOrder(trx, { source: 'n8n', orderId, end: 'refunded', actor: 'test', now: new Date() })
      expect(ended?.after.status).toBe('suspended')
      return issued
    })
    const row = await app.deps.db.selectFrom('licenses').select(['status', 'products']).where('id', '=', license.id).executeTakeFirstOrThrow()
    expect(row).toEqual({ status: 'suspended', products: [] })
  })
})
