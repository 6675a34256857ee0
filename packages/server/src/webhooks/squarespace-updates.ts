// Squarespace order.update: the job fetches the order as it is now and, when it was cancelled (fulfillmentStatus
// CANCELED) or refunded in full (refundedTotal ≥ grandTotal), takes back what that order granted
// (licenses/lifecycle.ts endOrder): its products and tier, or the whole license, suspended, when nothing is left.
import { sql } from 'kysely'
import { endOrder } from '../licenses/lifecycle.js'
import type { Deps } from '../platform/context.js'
import type { JobHandler } from '../platform/jobs.js'
import { fetchOrder, markEvent, type OrderJob, orderWithdrawn, SQUARESPACE_ORDER_JOB } from './squarespace.js'

export function squarespaceUpdateJob(deps: Deps): JobHandler<OrderJob> {
  return {
    async run({ eventRowId, orderId }) {
      // The order's own create job still running: wait for it (this job retries), so a cancellation that overtakes
      // the issue is not lost.
      const pending = await deps.db
        .selectFrom('jobs')
        .select('id')
        .where('name', '=', SQUARESPACE_ORDER_JOB)
        .where('status', 'in', ['queued', 'running'])
        .where(sql<boolean>`payload->>'orderId' = ${orderId}`)
        .executeTakeFirst()
      if (pending) throw new Error('the order is not processed yet; retrying after it')
      const known = await deps.db
        .selectFrom('license_orders')
        .select(['status'])
        .where('source', '=', 'squarespace')
        .where('order_id', '=', orderId)
        .executeTakeFirst()
      // An order that never made a license (nothing mapped, or not processed yet: its own job fetches the order as it
      // is then, and issues nothing for a withdrawn order) or one already taken back: nothing to do.
      if (known?.status !== 'active') {
        await markEvent(deps, deps.db, eventRowId, 'ignored', known ? `the order was already ${known.status}` : 'no license holds this order')
        return
      }
      const order = await fetchOrder(deps, orderId)
      const withdrawn = orderWithdrawn(order)
      if (!withdrawn) {
        await markEvent(deps, deps.db, eventRowId, 'ignored', 'neither a cancellation nor a full refund')
        return
      }
      // Idempotent: a rerun finds the order ended and changes nothing.
      const result = await endOrder(deps.db, { source: 'squarespace', orderId, end: withdrawn, actor: 'squarespace', now: new Date(deps.clock.now()) })
      if (result) {
        deps.logger.info('squarespace order withdrawn', {
          licenseId: result.after.id,
          orderId,
          end: withdrawn,
          status: result.after.status,
        })
      }
      await markEvent(deps, deps.db, eventRowId, 'processed', null)
    },
    async onDead(trx, { eventRowId, orderId }, error) {
      await markEvent(deps, trx, eventRowId, 'failed', error)
      deps.logger.warn('squarespace order update processing failed', { orderId, error })
    },
  }
}
