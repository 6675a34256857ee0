// Pages reached from an email or from the sign-in screen, signed in or not: ask for a password-reset link, set a new
// password from the link, and confirm a new email address from the link.
import { useEffect, useRef, useState } from 'preact/hooks'
import { api } from '../api.js'
import { ErrorNote, Link, useAction } from '../components.js'

const tokenFromUrl = (): string => new URLSearchParams(location.search).get('token') ?? ''

function Card({ title, children }: { title: string; children: preact.ComponentChildren }) {
  const heading = useRef<HTMLHeadingElement>(null)
  useEffect(() => heading.current?.focus(), [])
  return (
    <main class="auth">
      <h1 ref={heading} tabIndex={-1}>
        {title}
      </h1>
      {children}
    </main>
  )
}

export function ForgotPasswordPage() {
  const [email, setEmail] = useState('')
  const [sent, setSent] = useState(false)
  const { busy, error, run } = useAction()

  async function submit(e: Event) {
    e.preventDefault()
    if (await run(() => api.auth.requestPasswordReset({ email }))) setSent(true)
  }

  return (
    <Card title="Reset your password">
      {sent ? (
        <p class="note" role="status">
          If an account uses {email}, we sent it a link to choose a new password. The link works once, for an hour.
        </p>
      ) : (
        <form onSubmit={submit} class="stack">
          <p>Enter the email address of your account and we will send you a link to choose a new password.</p>
          <label>
            Email
            <input type="email" autoComplete="email" required value={email} onInput={(e) => setEmail(e.currentTarget.value)} />
          </label>
          <ErrorNote error={error} />
          <button type="submit" disabled={busy}>
            {busy ? 'Please wait…' : 'Send the link'}
          </button>
        </form>
      )}
      <p>
        <Link to="/">Back to sign in</Link>
      </p>
    </Card>
  )
}

export function ResetPasswordPage() {
  const [token] = useState(tokenFromUrl)
  const [password, setPassword] = useState('')
  const [confirm, setConfirm] = useState('')
  const [done, setDone] = useState(false)
  const { busy, error, run, setError } = useAction()

  async function submit(e: Event) {
    e.preventDefault()
    if (password !== confirm) {
      setError(new Error('The two passwords differ'))
      return
    }
    if (await run(() => api.auth.resetPassword({ token, password }))) setDone(true)
  }

  return (
    <Card title="Choose a new password">
      {!token ? (
        <p class="note note-error" role="alert">
          This page needs the link from your email. <Link to="/forgot-password">Ask for a new link</Link>.
        </p>
      ) : done ? (
        <p class="note" role="status">
          Your password is changed and every session was signed out. <Link to="/">Sign in</Link> with the new password.
        </p>
      ) : (
        <form onSubmit={submit} class="stack">
          <label>
            New password
            <input
              type="password"
              autoComplete="new-password"
              required
              minLength={10}
              value={password}
              onInput={(e) => setPassword(e.currentTarget.value)}
              aria-describedby="new-password-hint"
            />
          </label>
          <p id="new-password-hint" class="hint">
            At least 10 characters.
          </p>
          <label>
            New password again
            <input type="password" autoComplete="new-password" required minLength={10} value={confirm} onInput={(e) => setConfirm(e.currentTarget.value)} />
          </label>
          <ErrorNote error={error} />
          <button type="submit" disabled={busy}>
            {busy ? 'Please wait…' : 'Set the new password'}
          </button>
        </form>
      )}
    </Card>
  )
}

export function ConfirmEmailPage() {
  const [token] = useState(tokenFromUrl)
  const [email, setEmail] = useState<string | null>(null)
  const { busy, error, run } = useAction()

  async function confirm() {
    await run(async () => setEmail((await api.auth.confirmEmail({ token })).email))
  }

  return (
    <Card title="Confirm your new email address">
      {!token ? (
        <p class="note note-error" role="alert">
          This page needs the link from your email.
        </p>
      ) : email ? (
        <p class="note" role="status">
          Your account’s email address is now {email}. <Link to="/">Go to the dashboard</Link>
        </p>
      ) : (
        <div class="stack">
          <p>Confirm to make this the email address of your Intelagent account.</p>
          <ErrorNote error={error} />
          <button type="button" onClick={confirm} disabled={busy}>
            {busy ? 'Please wait…' : 'Confirm the new address'}
          </button>
        </div>
      )}
    </Card>
  )
}
