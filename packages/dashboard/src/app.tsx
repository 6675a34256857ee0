// The shell: who is signed in (cookie session), the sign-in and registration screens, and the page layout.
import { AuthenticationError } from '@intelagent/sdk'
import { useEffect, useRef, useState } from 'preact/hooks'
import { api, type Me, signIn } from './api.js'
import { ErrorNote, Link, useAction } from './components.js'
import { AccountPage } from './pages/account.js'
import { ConfirmEmailPage, ForgotPasswordPage, ResetPasswordPage } from './pages/account-recovery.js'
import { AnalyticsPage } from './pages/analytics.js'
import { ApiKeysPage } from './pages/api-keys.js'
import { AuditPage } from './pages/audit.js'
import { BillingPage } from './pages/billing.js'
import { ConversationsPage } from './pages/conversations.js'
import { EnrichmentPage } from './pages/enrichment.js'
import { FiguresPage } from './pages/figures.js'
import { AcceptInvitePage } from './pages/invite.js'
import { LeadsPage } from './pages/leads.js'
import { LicensesPage } from './pages/licenses.js'
import { ProductsPage } from './pages/products.js'
import { SetupPage } from './pages/setup.js'
import { TeamPage } from './pages/team.js'
import { UnansweredPage } from './pages/unanswered.js'
import { UsageBanner, UsagePage } from './pages/usage.js'
import { WebhooksPage } from './pages/webhooks.js'
import { navigate, useRoute } from './router.js'

export function App() {
  const [me, setMe] = useState<Me | null | undefined>(undefined)
  const [error, setError] = useState<unknown>(null)
  const path = useRoute()

  async function refresh() {
    try {
      setMe((await api.auth.me()).user)
    } catch (err) {
      if (err instanceof AuthenticationError) setMe(null)
      else setError(err)
    }
  }
  useEffect(() => {
    void refresh()
  }, [])

  // Reached from an email or the sign-in screen, signed in or not.
  if (path === '/forgot-password') return <ForgotPasswordPage />
  if (path === '/reset-password') return <ResetPasswordPage />
  if (path === '/confirm-email') return <ConfirmEmailPage />
  if (error) {
    return (
      <main class="center">
        <h1>Intelagent</h1>
        <ErrorNote error={error} />
      </main>
    )
  }
  // An invitation link works signed in or not: accepting signs in as the invited account.
  if (location.pathname.replace(/\/+$/, '') === '/dashboard/invite') return <AcceptInvitePage onJoined={refresh} />
  if (me === undefined) return <p class="center muted">Loading…</p>
  if (me === null) return <AuthScreen onSignedIn={refresh} />
  return <Shell me={me} onSignedOut={() => setMe(null)} onRefresh={refresh} />
}

function AuthScreen({ onSignedIn }: { onSignedIn: () => Promise<void> }) {
  // The purchase email links to /dashboard/register?license=KEY: register, with the key filled in.
  const licenseParam = new URLSearchParams(location.search).get('license') ?? ''
  const [mode, setMode] = useState<'login' | 'register'>(
    location.hash === '#register' || location.pathname.endsWith('/register') || licenseParam ? 'register' : 'login',
  )
  const [email, setEmail] = useState('')
  const [password, setPassword] = useState('')
  const [licenseKey, setLicenseKey] = useState(licenseParam)
  const { busy, error, run, setError } = useAction()
  const heading = useRef<HTMLHeadingElement>(null)

  function switchTo(next: 'login' | 'register') {
    setMode(next)
    setError(null)
    heading.current?.focus()
  }

  async function submit(e: Event) {
    e.preventDefault()
    const ok = await run(() =>
      signIn((client) =>
        mode === 'login' ? client.auth.login({ email, password }) : client.auth.register({ email, password, licenseKey: licenseKey.trim().toUpperCase() }),
      ),
    )
    if (ok) {
      if (location.pathname.endsWith('/register')) navigate('/')
      await onSignedIn()
    }
  }

  return (
    <main class="auth">
      <h1 ref={heading} tabIndex={-1}>
        {mode === 'login' ? 'Sign in to Intelagent' : 'Create your Intelagent account'}
      </h1>
      <form onSubmit={submit} class="stack">
        <label>
          Email
          <input type="email" autoComplete="email" required value={email} onInput={(e) => setEmail(e.currentTarget.value)} />
        </label>
        <label>
          Password
          <input
            type="password"
            autoComplete={mode === 'login' ? 'current-password' : 'new-password'}
            required
            minLength={mode === 'register' ? 10 : 1}
            value={password}
            onInput={(e) => setPassword(e.currentTarget.value)}
            aria-describedby={mode === 'register' ? 'password-hint' : undefined}
          />
        </label>
        {mode === 'register' && (
          <>
            <p id="password-hint" class="hint">
              At least 10 characters.
            </p>
            <label>
              License key
              <input
                required
                autoComplete="off"
                spellcheck={false}
                placeholder="INTL-XXXX-XXXX-XXXX"
                pattern="[Ii][Nn][Tt][Ll](-[0-9A-Za-z]{4}){3}"
                value={licenseKey}
                onInput={(e) => setLicenseKey(e.currentTarget.value)}
                aria-describedby="license-hint"
              />
            </label>
            <p id="license-hint" class="hint">
              From your purchase email. Register with the email address you bought with.
            </p>
          </>
        )}
        <ErrorNote error={error} />
        <button type="submit" disabled={busy}>
          {busy ? 'Please wait…' : mode === 'login' ? 'Sign in' : 'Create account'}
        </button>
      </form>
      {mode === 'login' && (
        <p>
          <Link to="/forgot-password">Forgot password?</Link>
        </p>
      )}
      <p>
        {mode === 'login' ? 'New here with a license key? ' : 'Already registered? '}
        <button type="button" class="link" onClick={() => switchTo(mode === 'login' ? 'register' : 'login')}>
          {mode === 'login' ? 'Create an account' : 'Sign in'}
        </button>
      </p>
    </main>
  )
}

const NAV = [
  { to: '/', label: 'Products' },
  { to: '/conversations', label: 'Conversations' },
  { to: '/unanswered', label: 'Unanswered' },
  { to: '/leads', label: 'Leads' },
  { to: '/analytics', label: 'Analytics' },
  { to: '/enrichment', label: 'Enrichment' },
  { to: '/webhooks', label: 'Webhooks' },
  { to: '/usage', label: 'Usage' },
  { to: '/api-keys', label: 'API keys' },
  { to: '/audit', label: 'Audit log' },
  { to: '/billing', label: 'Billing' },
  { to: '/team', label: 'Team' },
  { to: '/account', label: 'Account' },
] as const

/** Operators have no license of their own: their console is the license list. */
const OPERATOR_NAV = [
  { to: '/', label: 'Licenses' },
  { to: '/figures', label: 'Figures' },
  { to: '/account', label: 'Account' },
] as const

function navFor(me: Me) {
  if (me.role === 'admin') return OPERATOR_NAV
  return NAV.filter(
    (n) =>
      (n.to !== '/enrichment' || me.products.includes('data-enrichment')) &&
      (n.to !== '/api-keys' || me.teamRole !== 'member') &&
      (n.to !== '/billing' || me.teamRole !== 'member') &&
      (n.to !== '/webhooks' || me.teamRole !== 'member'),
  )
}

function Shell({ me, onSignedOut, onRefresh }: { me: Me; onSignedOut: () => void; onRefresh: () => Promise<void> }) {
  const path = useRoute()
  const section = `/${path.split('/')[1] ?? ''}`
  const { busy, error, run } = useAction()
  const main = useRef<HTMLElement>(null)
  // Billing shows only where the server has it on (without STRIPE_SECRET_KEY its routes answer 503 not_configured).
  const [billingOn, setBillingOn] = useState(false)
  useEffect(() => {
    if (me.role === 'admin') return
    api.billing.plans().then(
      (p) => setBillingOn(p.enabled),
      () => setBillingOn(false),
    )
  }, [me.role])
  const shown = (to: string): boolean => {
    if (to === '/enrichment') return me.products.includes('data-enrichment')
    if (to === '/billing') return billingOn
    if (to === '/figures') return me.role === 'admin'
    return true
  }

  // Move focus to the new page's content after navigation, as a page load would.
  useEffect(() => {
    main.current?.focus()
  }, [section])

  async function logout() {
    if (await run(() => api.auth.logout())) {
      navigate('/')
      onSignedOut()
    }
  }

  let page = me.role === 'admin' ? <LicensesPage /> : <ProductsPage me={me} />
  if (section === '/account') page = <AccountPage onSignedOut={onSignedOut} />
  else if (me.role === 'admin') {
    if (section === '/figures') page = <FiguresPage />
    else if (section !== '/') page = <NotFound />
  } else if (section === '/team') page = <TeamPage me={me} />
  else if (section === '/conversations') page = <ConversationsPage me={me} selectedId={path.split('/')[2]} />
  else if (section === '/leads') page = <LeadsPage me={me} />
  else if (section === '/unanswered') page = <UnansweredPage me={me} />
  else if (section === '/enrichment') page = <EnrichmentPage me={me} />
  else if (section === '/audit') page = <AuditPage />
  else if (section === '/api-keys') page = me.teamRole === 'member' ? <NotFound /> : <ApiKeysPage />
  else if (section === '/billing') page = me.teamRole === 'member' ? <NotFound /> : <BillingPage onPlan={(plan) => void (plan !== me.tier && onRefresh())} />
  else if (section === '/webhooks') page = me.teamRole === 'member' ? <NotFound /> : <WebhooksPage />
  else if (section === '/usage') page = <UsagePage />
  else if (section === '/setup') page = me.teamRole === 'member' ? <NotFound /> : <SetupPage products={me.products} />
  else if (section === '/analytics') page = <AnalyticsPage me={me} />
  else if (section !== '/') page = <NotFound />

  return (
    <>
      <a class="skip" href="#content">
        Skip to content
      </a>
      <header class="topbar">
        <span class="brand">Intelagent</span>
        <nav aria-label="Main">
          <ul>
            {navFor(me)
              .filter((n) => shown(n.to))
              .map((n) => (
                <li key={n.to}>
                  <Link to={n.to} current={section === n.to}>
                    {n.label}
                  </Link>
                </li>
              ))}
            <li>
              <a href="/api/docs">API reference</a>
            </li>
          </ul>
        </nav>
        <span class="who">
          <span class="muted">{me.email}</span>
          {me.tier && <span class="badge">{me.tier}</span>}
          {me.teamRole && me.teamRole !== 'owner' && <span class="badge">{me.teamRole}</span>}
          <button type="button" class="button-secondary" onClick={logout} disabled={busy}>
            Log out
          </button>
        </span>
      </header>
      <ErrorNote error={error} />
      <main id="content" ref={main} tabIndex={-1}>
        {me.role !== 'admin' && <UsageBanner section={section} />}
        {page}
      </main>
    </>
  )
}

function NotFound() {
  return (
    <>
      <h1>Page not found</h1>
      <p>
        <Link to="/">Back to your products</Link>
      </p>
    </>
  )
}
