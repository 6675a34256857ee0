// Account settings: change the password (other sessions end) and see every signed-in session, signing out any.
import type { AccountSession } from '@intelagent/sdk'
import { useState } from 'preact/hooks'
import { api } from '../api.js'
import { ErrorNote, SaveFooter, useAction, useLoad } from '../components.js'
import { formatWhen } from '../format.js'

export function AccountPage({ onSignedOut }: { onSignedOut: () => void }) {
  const sessions = useLoad(() => api.account.sessions(), [])
  return (
    <>
      <h1>Account settings</h1>
      <PasswordForm onChanged={sessions.reload} />
      <section aria-labelledby="account-sessions">
        <h2 id="account-sessions">Where you are signed in</h2>
        <ErrorNote error={sessions.error} />
        {sessions.loading && !sessions.data && <p class="muted">Loading sessions…</p>}
        {sessions.data && <Sessions sessions={sessions.data} onChanged={sessions.reload} onSignedOut={onSignedOut} />}
      </section>
    </>
  )
}

function PasswordForm({ onChanged }: { onChanged: () => void }) {
  const [current, setCurrent] = useState('')
  const [next, setNext] = useState('')
  const [status, setStatus] = useState('')
  const { busy, error, run } = useAction()

  async function save(e: Event) {
    e.preventDefault()
    setStatus('')
    let ended = 0
    if (await run(async () => (ended = (await api.account.changePassword({ currentPassword: current, newPassword: next })).sessionsEnded))) {
      setCurrent('')
      setNext('')
      setStatus(`Password changed${ended ? `; ${ended} other session${ended === 1 ? '' : 's'} signed out` : ''}`)
      onChanged()
    }
  }

  return (
    <section class="card" aria-labelledby="account-password">
      <h2 id="account-password">Password</h2>
      <form class="stack" onSubmit={save}>
        <div class="row">
          <label for="current-password">Current password</label>
          <input
            id="current-password"
            type="password"
            autoComplete="current-password"
            required
            value={current}
            onInput={(e) => setCurrent(e.currentTarget.value)}
          />
        </div>
        <div class="row">
          <label for="new-password">New password</label>
          <input
            id="new-password"
            type="password"
            autoComplete="new-password"
            required
            minLength={10}
            value={next}
            onInput={(e) => setNext(e.currentTarget.value)}
            aria-describedby="new-password-hint"
          />
          <p class="hint" id="new-password-hint">
            At least 10 characters. Every other session is signed out.
          </p>
        </div>
        <SaveFooter error={error} busy={busy} label="Change password" status={status} />
      </form>
    </section>
  )
}

function Sessions({ sessions, onChanged, onSignedOut }: { sessions: AccountSession[]; onChanged: () => void; onSignedOut: () => void }) {
  const { busy, error, run } = useAction()
  const others = sessions.filter((s) => !s.current).length
  const signOut = (s: AccountSession) =>
    void run(() => api.account.revokeSession(s.id)).then((ok) => {
      if (ok && s.current) onSignedOut()
      else if (ok) onChanged()
    })
  const signOutOthers = () => {
    if (!confirm(`Sign out ${others} other session${others === 1 ? '' : 's'}?`)) return
    void run(() => api.account.revokeOtherSessions()).then((ok) => ok && onChanged())
  }
  return (
    <>
      <ErrorNote error={error} />
      {/* biome-ignore lint/a11y/noNoninteractiveTabindex: a table that scrolls sideways on a phone must be reachable by keyboard to scroll it (axe scrollable-region-focusable) */}
      <section class="table-wrap" tabIndex={0} aria-label="Your sessions">
        <table>
          <caption class="visually-hidden">Your sessions, this one first</caption>
          <thead>
            <tr>
              <th scope="col">Device</th>
              <th scope="col">IP address</th>
              <th scope="col">Signed in</th>
              <th scope="col">Last seen</th>
              <th scope="col">
                <span class="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {sessions.map((s) => (
              <tr key={s.id}>
                <th scope="row" title={s.userAgent ?? undefined}>
                  {s.device}
                  {s.current && <span class="badge">this device</span>}
                </th>
                <td>{s.ip ?? ''}</td>
                <td>{formatWhen(s.createdAt)}</td>
                <td>{s.lastSeenAt ? formatWhen(s.lastSeenAt) : ''}</td>
                <td>
                  <button
                    type="button"
                    class="button-secondary"
                    onClick={() => signOut(s)}
                    disabled={busy}
                    aria-label={s.current ? 'Sign out this device' : `Sign out ${s.device}, signed in ${formatWhen(s.createdAt)}`}
                  >
                    Sign out
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
      {others > 0 && (
        <div class="actions">
          <button type="button" class="button-danger" onClick={signOutOthers} disabled={busy}>
            Sign out all other sessions
          </button>
        </div>
      )}
    </>
  )
}
