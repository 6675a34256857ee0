// /api/admin: operators list licenses and suspend or reactivate one (its keys stop working within a second).

import { dropLicenseCaches } from '../auth/license-caches.js'
import type { KeyResolver } from '../keys/resolver.js'
import { publicLicense } from '../licenses/queries.js'
import { AdminLicenseList, AdminLicenseResult, LicenseParams, LicenseStatusInput, LimitQuery } from '../licenses/schemas.js'
import { actorOf, audit } from '../platform/audit.js'
import type { Deps } from '../platform/context.js'
import { notFound } from '../platform/errors.js'
import { emit } from '../platform/events.js'
import { clientIp, createRouter, jsonBody } from '../platform/http.js'
import { access, declareRoute, json } from '../platform/route.js'

const listLicenses = declareRoute({
  method: 'get',
  path: '/api/admin/licenses',
  operationId: 'adminListLicenses',
  summary: 'Operators: every license, newest first',
  tag: 'admin',
  access: access.operator,
  request: { query: LimitQuery },
  responses: { 200: json(AdminLicenseList, 'Licenses, newest first') },
})

const setLicenseStatus = declareRoute({
  method: 'post',
  path: '/api/admin/licenses/{id}/status',
  operationId: 'adminSetLicenseStatus',
  summary: 'Operators: suspend, revoke or reactivate a license (its keys, sessions and streams follow within a second)',
  tag: 'admin',
  access: access.operator,
  errors: ['not_found'],
  request: { params: LicenseParams, body: jsonBody(LicenseStatusInput) },
  responses: { 200: json(AdminLicenseResult, 'The license with its new status') },
})

export function adminRoutes(deps: Deps, keys: KeyResolver) {
  const app = createRouter()
  app.openapi(listLicenses, async (c) => {
    const rows = await deps.db.selectFrom('licenses').selectAll().orderBy('created_at', 'desc').limit(c.req.valid('query').limit).execute()
    return c.json({ licenses: rows.map((l) => ({ id: l.id, ...publicLicense(l) })) }, 200)
  })

  app.openapi(setLicenseStatus, async (c) => {
    const { id } = c.req.valid('param')
    const { status } = c.req.valid('json')
    const row = await deps.db.transaction().execute(async (trx) => {
      // Locked while it changes, so the event names the status it really changed from.
      const before = await trx.selectFrom('licenses').select('status').where('id', '=', id).forUpdate().executeTakeFirst()
      if (!before) return undefined
      const updated = await trx
        .updateTable('licenses')
        .set({ status, updated_at: new Date(deps.clock.now()) })
        .where('id', '=', id)
        .returningAll()
        .executeTakeFirstOrThrow()
      if (before.status !== status) {
        await emit(
          trx,
          status === 'suspended'
            ? { type: 'license.suspended', licenseId: id, data: { licenseId: id, previousStatus: before.status } }
            : { type: 'license.updated', licenseId: id, data: { licenseId: id, changes: ['status'], status, claimed: updated.claimed_at !== null } },
        )
      }
      return updated
    })
    if (!row) throw notFound('License')
    // Keys (product keys and intl_sk_ API keys alike), cached sessions and open streams carry the license status:
    // dropped on every instance so the change applies at once.
    await dropLicenseCaches(deps, keys, id)
    await audit(deps.db, {
      licenseId: id,
      ...actorOf(c.get('principal')),
      action: status === 'active' ? 'license.reactivated' : 'license.suspended',
      target: row.key,
      ip: clientIp(c),
      meta: { status },
    })
    return c.json({ license: { id: row.id, ...publicLicense(row) } }, 200)
  })

  return app
}
