// The license's audit log: sign-ins, key changes, settings, newest first.
import { api } from '../api.js'
import { ErrorNote, useLoad } from '../components.js'
import { formatWhen } from '../format.js'

const ACTIONS: Record<string, string> = {
  'license.issued': 'License issued',
  'license.suspended': 'License suspended',
  'license.reactivated': 'License reactivated',
  'account.registered': 'Account registered',
  'auth.login': 'Signed in',
  'auth.login_failed': 'Failed sign-in',
  'auth.logout': 'Signed out',
  'key.created': 'Key created',
  'key.rotated': 'Key rotated',
  'key.revoked': 'Key revoked',
  'key.origins_updated': 'Allowed websites changed',
  'settings.updated': 'Settings changed',
  'knowledge.added': 'Knowledge added',
  'knowledge.deleted': 'Knowledge deleted',
  'knowledge.source_added': 'Knowledge source added',
  'knowledge.source_synced': 'Knowledge source synced',
  'knowledge.source_deleted': 'Knowledge source deleted',
  'conversation.replied': 'Replied in a conversation',
}

const KEY_KINDS: Record<string, string> = { intl_sk: 'API key', agnt: 'Setup agent key', data: 'Data enrichment key' }

export function AuditPage() {
  const entries = useLoad(async () => (await api.audit.list({ limit: 200 })).data, [])
  return (
    <>
      <h1>Audit log</h1>
      <p class="hint">Security-relevant actions on this license, newest first (last 200).</p>
      <ErrorNote error={entries.error} />
      {entries.loading && !entries.data && <p class="muted">Loading…</p>}
      {entries.data && (
        <div class="table-wrap">
          <table>
            <caption class="visually-hidden">Audit log entries</caption>
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">What</th>
                <th scope="col">Who</th>
                <th scope="col">Target</th>
                <th scope="col">IP address</th>
              </tr>
            </thead>
            <tbody>
              {entries.data.map((e) => (
                <tr key={e.id} class={e.action === 'auth.login_failed' ? 'row-warn' : undefined}>
                  <td>
                    <time dateTime={e.createdAt} title={e.createdAt}>
                      {formatWhen(e.createdAt)}
                    </time>
                  </td>
                  <td>{ACTIONS[e.action] ?? e.action}</td>
                  <td>{e.actor ?? (e.actorKind && KEY_KINDS[e.actorKind]) ?? ''}</td>
                  <td>
                    <code>{e.target ?? ''}</code>
                  </td>
                  <td>{e.ip ?? ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  )
}
