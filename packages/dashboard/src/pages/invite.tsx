// /dashboard/invite?token=…: join a team from an invitation link. A new account picks its password; an account
// without a team (removed earlier) enters its own. Signed in on success, like registration.
import { useRef, useState } from 'preact/hooks'
import { signIn } from '../api.js'
import { ErrorNote, useAction } from '../components.js'

export function AcceptInvitePage({ onJoined }: { onJoined: () => Promise<void> }) {
  const token = new URLSearchParams(location.search).get('token') ?? ''
  const [name, setName] = useState('')
  const [password, setPassword] = useState('')
  const { busy, error, run } = useAction()
  const heading = useRef<HTMLHeadingElement>(null)

  async function submit(e: Event) {
    e.preventDefault()
    const ok = await run(() => signIn((client) => client.team.accept({ token, password, ...(name.trim() ? { name: name.trim() } : {}) })))
    if (ok) {
      // The token is spent: keep it out of the address bar and history.
      history.replaceState(null, '', '/dashboard/')
      await onJoined()
    }
  }

  return (
    <main class="auth">
      <h1 ref={heading} tabIndex={-1}>
        Join your team on Intelagent
      </h1>
      {!token ? (
        <p class="note note-error" role="alert">
          This link has no invitation in it. Open the link from your invitation exactly as you received it.
        </p>
      ) : (
        <form onSubmit={submit} class="stack">
          <label>
            Your name (optional)
            <input autoComplete="name" maxLength={100} value={name} onInput={(e) => setName(e.currentTarget.value)} />
          </label>
          <label>
            Password
            <input
              type="password"
              autoComplete="new-password"
              required
              minLength={10}
              value={password}
              onInput={(e) => setPassword(e.currentTarget.value)}
              aria-describedby="invite-password-hint"
            />
          </label>
          <p id="invite-password-hint" class="hint">
            At least 10 characters. If you already have an Intelagent account without a team, enter its password.
          </p>
          <ErrorNote error={error} />
          <button type="submit" disabled={busy}>
            {busy ? 'Please wait…' : 'Join the team'}
          </button>
        </form>
      )}
      <p>
        <a href="/dashboard/">Sign in instead</a>
      </p>
    </main>
  )
}
