// Products: configure each bought product, its key and embed code, rotation and revocation, allowed origins,
// reply settings and the knowledge Q&A the bot answers from.
import type { Engine, PlanFeature, Product, ProductKey, ProductSettings, SecretName, WidgetLocale, WidgetProduct } from '@intelagent/sdk'
import { useEffect, useState } from 'preact/hooks'
import type { Me } from '../api.js'
import { api } from '../api.js'
import { CopyButton, ErrorNote, Link, SaveFooter, useAction, useLoad } from '../components.js'
import { embedCode, formatWhen, PRODUCT_LABELS, parseOrigins } from '../format.js'
import { EngineTest } from './engine-test.js'
import { KnowledgeSourcesPanel } from './knowledge-sources.js'

const isWidget = (p: Product): p is WidgetProduct => p === 'chatbot' || p === 'sales-agent'

/** What the license's plan includes (GET /api/plans); until it loads every control stays open and the server decides. */
interface PlanFeatures {
  has: (f: PlanFeature) => boolean
  /** "AI reply engines … need the professional plan or higher." */
  needs: (f: PlanFeature) => string
}

function usePlanFeatures(tier: string | null): PlanFeatures {
  const catalog = useLoad(() => api.billing.catalog(), [])
  const plan = catalog.data?.plans.find((p) => p.tier === tier)
  return {
    has: (f) => (plan ? plan.features[f] === true : true),
    needs: (f) => {
      const info = catalog.data?.features.find((x) => x.id === f)
      return info?.firstTier ? `${info.name}: needs the ${info.firstTier} plan or higher.` : `${info?.name ?? f}: not part of your plan.`
    },
  }
}

/** Why a control is off, and where to upgrade. */
function UpgradeHint({ id, text }: { id: string; text: string }) {
  return (
    <p class="hint" id={id}>
      {text} <Link to="/billing">Upgrade your plan</Link>
    </p>
  )
}

export function ProductsPage({ me }: { me: Me }) {
  const keys = useLoad(async () => (await api.keys.list()).data, [])
  // Members see their products but do not manage keys (team roles: the server refuses them too).
  const manage = me.teamRole !== 'member'
  return (
    <>
      <h1>Products</h1>
      {manage && me.products.some(isWidget) && (
        <p class="page-intro">
          New here? <Link to="/setup">Set up your bot from your website</Link> in a few steps.
        </p>
      )}
      {!manage && <p class="hint page-intro">You are a member of this team: the owner and admins set products up and manage their keys.</p>}
      {me.products.length === 0 && <p>This license has no products yet.</p>}
      <ErrorNote error={keys.error} />
      {keys.data &&
        me.products.map((p) =>
          isWidget(p) ? (
            <WidgetProductCard
              key={p}
              product={p}
              keys={keys.data?.filter((k) => k.product === p) ?? []}
              onChanged={keys.reload}
              manage={manage}
              tier={me.tier}
            />
          ) : (
            <SecretProductCard key={p} product={p} keys={keys.data?.filter((k) => k.product === p) ?? []} onChanged={keys.reload} manage={manage} />
          ),
        )}
      {keys.loading && !keys.data && <p class="muted">Loading keys…</p>}
    </>
  )
}

const currentKey = (keys: ProductKey[]) => keys.find((k) => k.status === 'active' && k.expiresAt === null)

function WidgetProductCard({
  product,
  keys,
  onChanged,
  manage,
  tier,
}: {
  product: WidgetProduct
  keys: ProductKey[]
  onChanged: () => void
  manage: boolean
  tier: string | null
}) {
  const key = currentKey(keys)
  const retiring = keys.filter((k) => k.status === 'active' && k.expiresAt !== null)
  const { busy, error, run } = useAction()
  const label = PRODUCT_LABELS[product]
  const headingId = `product-${product}`

  const configure = () => run(() => api.products.configure(product)).then((ok) => ok && onChanged())
  const rotate = () => {
    if (!key || !confirm(`Issue a new ${label} key? The current key keeps working for 24 hours, so update your site within a day.`)) return
    void run(() => api.keys.rotate(key.id, { gracePeriodSeconds: 86_400 })).then((ok) => ok && onChanged())
  }
  const revoke = (k: ProductKey) => {
    if (!confirm(`Revoke ${k.start}…? The widget on every site using it stops working within a second.`)) return
    void run(() => api.keys.revoke(k.id)).then((ok) => ok && onChanged())
  }

  return (
    <section class="card" aria-labelledby={headingId}>
      <h2 id={headingId}>{label}</h2>
      <ErrorNote error={error} />
      {!key ? (
        <p>
          Not set up yet.{' '}
          {manage && (
            <button type="button" onClick={configure} disabled={busy}>
              Set up the {label.toLowerCase()}
            </button>
          )}
        </p>
      ) : (
        <>
          <dl class="facts">
            <dt>Product key</dt>
            <dd>
              <code>{key.key}</code> <CopyButton text={key.key ?? ''} label="Copy key" />
            </dd>
            <dt>Created</dt>
            <dd>{formatWhen(key.createdAt)}</dd>
            <dt>Last used</dt>
            <dd>{key.lastUsedAt ? formatWhen(key.lastUsedAt) : 'never'}</dd>
          </dl>
          <h3>Embed code</h3>
          <p class="hint">Paste this before &lt;/body&gt; on every page that should show the widget.</p>
          <pre class="code">
            <code>{embedCode(location.origin, key.key ?? '')}</code>
          </pre>
          <CopyButton text={embedCode(location.origin, key.key ?? '')} label="Copy embed code" />
          {manage && (
            <div class="actions">
              <button type="button" class="button-secondary" onClick={rotate} disabled={busy}>
                Rotate key
              </button>
              <button type="button" class="button-danger" onClick={() => revoke(key)} disabled={busy}>
                Revoke key
              </button>
            </div>
          )}
          {manage && retiring.length > 0 && (
            <ul class="plain">
              {retiring.map((k) => (
                <li key={k.id}>
                  Previous key <code>{k.start}…</code> works until {formatWhen(k.expiresAt ?? '')}.{' '}
                  <button type="button" class="link" onClick={() => revoke(k)}>
                    Revoke now
                  </button>
                </li>
              ))}
            </ul>
          )}
          {manage && <OriginsForm productKey={key} onSaved={onChanged} />}
          <SettingsForm product={product} tier={tier} />
          <KnowledgePanel product={product} />
          <KnowledgeSourcesPanel product={product} manage={manage} />
        </>
      )}
    </section>
  )
}

function OriginsForm({ productKey, onSaved }: { productKey: ProductKey; onSaved: () => void }) {
  const [text, setText] = useState(productKey.allowedOrigins.join('\n'))
  const [saved, setSaved] = useState(false)
  const { busy, error, run, setError } = useAction()
  const id = `origins-${productKey.id}`

  async function save(e: Event) {
    e.preventDefault()
    setSaved(false)
    const { origins, invalid } = parseOrigins(text)
    if (invalid.length) return setError(new Error(`Not an origin: ${invalid.join(', ')} (write them like https://shop.example.com)`))
    if (await run(() => api.keys.setOrigins(productKey.id, origins))) {
      setText(origins.join('\n'))
      setSaved(true)
      onSaved()
    }
  }

  return (
    <form class="stack" onSubmit={save}>
      <h3>
        <label for={id}>Allowed websites</label>
      </h3>
      <p class="hint" id={`${id}-hint`}>
        One origin per line, e.g. https://shop.example.com or https://*.example.com. Leave empty to allow any site.
      </p>
      <textarea id={id} rows={3} value={text} onInput={(e) => setText(e.currentTarget.value)} aria-describedby={`${id}-hint`} spellcheck={false} />
      <SaveFooter error={error} busy={busy} label="Save websites" status={saved ? 'Saved' : ''} />
    </form>
  )
}

/** The server's limits for suggested questions (settings.ts); it refuses more with 422 validation_failed. */
const MAX_SUGGESTIONS = 5
const MAX_SUGGESTION_LENGTH = 120
const fiveFields = (questions: string[]) => Array.from({ length: MAX_SUGGESTIONS }, (_, i) => questions[i] ?? '')

const ENGINES: { value: Engine; label: string }[] = [
  { value: 'knowledge', label: 'Knowledge base (answers from your Q&A below)' },
  { value: 'webhook', label: 'n8n webhook' },
  { value: 'openai', label: 'OpenAI-compatible model' },
]

function SettingsForm({ product, tier }: { product: WidgetProduct; tier: string | null }) {
  const loaded = useLoad(() => api.settings.get(product), [product])
  const features = usePlanFeatures(tier)
  return (
    <>
      <h3>Bot settings</h3>
      <ErrorNote error={loaded.error} />
      {loaded.loading && !loaded.data && <p class="muted">Loading settings…</p>}
      {loaded.data && <SettingsFields product={product} initial={loaded.data} features={features} />}
    </>
  )
}

function SettingsFields({ product, initial, features }: { product: WidgetProduct; initial: ProductSettings; features: PlanFeatures }) {
  const [branding, setBranding] = useState(initial.branding ?? true)
  const [botName, setBotName] = useState(initial.botName)
  const [greeting, setGreeting] = useState(initial.greeting)
  const [suggestions, setSuggestions] = useState(() => fiveFields(initial.suggestions ?? []))
  const [engine, setEngine] = useState<Engine>(initial.engine)
  const [color, setColor] = useState(initial.color)
  const [locale, setLocale] = useState<WidgetLocale>(initial.locale ?? 'auto')
  const [autoClose, setAutoClose] = useState(String(initial.autoCloseHours ?? 24))
  const [webhookUrl, setWebhookUrl] = useState(initial.webhook?.url ?? '')
  const [webhookTimeout, setWebhookTimeout] = useState(String(initial.webhook?.timeoutMs ?? 8000))
  const [baseUrl, setBaseUrl] = useState(initial.openai?.baseUrl ?? 'https://api.openai.com/v1')
  const [model, setModel] = useState(initial.openai?.model ?? 'gpt-4o-mini')
  const [systemPrompt, setSystemPrompt] = useState(initial.openai?.systemPrompt ?? 'You are a helpful assistant for this website. Answer briefly.')
  const [saved, setSaved] = useState(false)
  const { busy, error, run } = useAction()
  const id = (f: string) => `${product}-${f}`

  /** The engine as the form has it: saved by "Save settings", tested as it is by "Test connection". */
  const engineSettings = () => ({
    engine,
    ...(engine === 'webhook' ? { webhook: { url: webhookUrl.trim(), timeoutMs: Number(webhookTimeout) } } : {}),
    ...(engine === 'openai' ? { openai: { baseUrl: baseUrl.trim(), model: model.trim(), systemPrompt } } : {}),
  })

  async function save(e: Event) {
    e.preventDefault()
    setSaved(false)
    const questions = suggestions.map((q) => q.trim()).filter(Boolean)
    const patch = { botName, greeting, suggestions: questions, color, locale, branding, autoCloseHours: Number(autoClose), ...engineSettings() }
    const ok = await run(() => api.settings.update(product, patch))
    // Shown as saved: trimmed, without the gaps.
    if (ok) setSuggestions(fiveFields(questions))
    setSaved(ok)
  }

  return (
    <>
      <form class="stack" onSubmit={save}>
        <div class="row">
          <label for={id('name')}>Bot name</label>
          <input id={id('name')} required maxLength={60} value={botName} onInput={(e) => setBotName(e.currentTarget.value)} />
        </div>
        <div class="row">
          <label for={id('greeting')}>Greeting</label>
          <textarea id={id('greeting')} rows={2} maxLength={500} value={greeting} onInput={(e) => setGreeting(e.currentTarget.value)} />
        </div>
        <fieldset class="checks" aria-describedby={id('suggestions-hint')}>
          <legend>Suggested questions</legend>
          <p class="hint" id={id('suggestions-hint')}>
            Shown as buttons under the greeting until the visitor's first message; a click sends the question. Up to {MAX_SUGGESTIONS}, each up to{' '}
            {MAX_SUGGESTION_LENGTH} characters. Leave them empty to show none.
          </p>
          {suggestions.map((q, i) => (
            <div key={i}>
              <label class="visually-hidden" for={id(`suggestion-${i}`)}>
                Suggested question {i + 1}
              </label>
              <input
                id={id(`suggestion-${i}`)}
                maxLength={MAX_SUGGESTION_LENGTH}
                value={q}
                onInput={(e) => setSuggestions(suggestions.map((old, j) => (j === i ? e.currentTarget.value : old)))}
              />
            </div>
          ))}
        </fieldset>
        <div class="row">
          <label for={id('engine')}>Reply engine</label>
          <select
            id={id('engine')}
            value={engine}
            onChange={(e) => setEngine(e.currentTarget.value as Engine)}
            aria-describedby={features.has('aiEngines') ? undefined : id('engine-plan')}
          >
            {ENGINES.map((o) => (
              <option key={o.value} value={o.value} disabled={o.value !== 'knowledge' && o.value !== initial.engine && !features.has('aiEngines')}>
                {o.label}
              </option>
            ))}
          </select>
          {!features.has('aiEngines') && <UpgradeHint id={id('engine-plan')} text={features.needs('aiEngines')} />}
        </div>
        {engine === 'webhook' && (
          <>
            <div class="row">
              <label for={id('webhook')}>n8n webhook URL</label>
              <input
                id={id('webhook')}
                type="url"
                required
                value={webhookUrl}
                onInput={(e) => setWebhookUrl(e.currentTarget.value)}
                placeholder="https://n8n.example.com/webhook/intelagent-chat"
              />
            </div>
            <div class="row">
              <label for={id('webhook-timeout')}>Webhook timeout (ms)</label>
              <input
                id={id('webhook-timeout')}
                class="narrow"
                type="number"
                required
                min={500}
                max={30_000}
                step={100}
                value={webhookTimeout}
                onInput={(e) => setWebhookTimeout(e.currentTarget.value)}
              />
            </div>
          </>
        )}
        {engine === 'openai' && (
          <>
            <div class="row">
              <label for={id('openai-base')}>API base URL</label>
              <input
                id={id('openai-base')}
                type="url"
                required
                value={baseUrl}
                onInput={(e) => setBaseUrl(e.currentTarget.value)}
                aria-describedby={id('openai-base-hint')}
              />
              <p class="hint" id={id('openai-base-hint')}>
                Any OpenAI-compatible API (its /chat/completions must stream). Public addresses only.
              </p>
            </div>
            <div class="row">
              <label for={id('openai-model')}>Model</label>
              <input id={id('openai-model')} required maxLength={100} spellcheck={false} value={model} onInput={(e) => setModel(e.currentTarget.value)} />
            </div>
            <div class="row">
              <label for={id('openai-prompt')}>System prompt</label>
              <textarea id={id('openai-prompt')} rows={3} maxLength={4000} value={systemPrompt} onInput={(e) => setSystemPrompt(e.currentTarget.value)} />
            </div>
          </>
        )}
        <EngineTest product={product} draft={engineSettings} />
        <div class="row">
          <label for={id('color')}>Colour</label>
          <input id={id('color')} type="color" value={color} onInput={(e) => setColor(e.currentTarget.value)} />
        </div>
        <div class="row">
          <label class="check" for={id('branding')}>
            <input
              id={id('branding')}
              type="checkbox"
              checked={branding}
              disabled={branding && !features.has('removeBranding')}
              onChange={(e) => setBranding(e.currentTarget.checked)}
              aria-describedby={features.has('removeBranding') ? undefined : id('branding-plan')}
            />
            <span>Show “Powered by Intelagent” in the widget</span>
          </label>
          {!features.has('removeBranding') && <UpgradeHint id={id('branding-plan')} text={features.needs('removeBranding')} />}
        </div>
        <div class="row">
          <label for={id('locale')}>Widget language</label>
          <select id={id('locale')} value={locale} onChange={(e) => setLocale(e.currentTarget.value as WidgetLocale)} aria-describedby={id('locale-hint')}>
            {LOCALES.map((o) => (
              <option key={o.value} value={o.value}>
                {o.label}
              </option>
            ))}
          </select>
          <p class="hint" id={id('locale-hint')}>
            The widget's own buttons and messages. Your greeting and answers stay as you write them. A page can still choose with Intelagent('setLocale', …).
          </p>
        </div>
        <div class="row">
          <label for={id('auto-close')}>Close conversations after (hours without a message)</label>
          <input
            id={id('auto-close')}
            class="narrow"
            type="number"
            required
            min={0}
            max={720}
            step={1}
            value={autoClose}
            onInput={(e) => setAutoClose(e.currentTarget.value)}
            aria-describedby={id('auto-close-hint')}
          />
          <p class="hint" id={id('auto-close-hint')}>
            0 keeps conversations open until you close them. A new visitor message reopens a closed conversation.
          </p>
        </div>
        <SaveFooter error={error} busy={busy} label="Save settings" status={saved ? 'Saved' : ''} />
      </form>
      <IdentitySecret product={product} features={features} />
      {engine === 'webhook' && (
        <SecretForm
          product={product}
          name="webhook_signing_secret"
          label="n8n signing secret"
          hint="Signs every call to your n8n webhook and verifies the replies your flow posts back (X-Intelagent-Signature); use the same secret in your n8n flow. Without one, the webhook engine is not called."
        />
      )}
      {engine === 'openai' && (
        <SecretForm product={product} name="openai_api_key" label="OpenAI API key" hint="Sent only to the API base URL above, as its Bearer token." />
      )}
    </>
  )
}

const LOCALES: { value: WidgetLocale; label: string }[] = [
  { value: 'auto', label: "The visitor's browser language" },
  { value: 'en', label: 'English' },
  { value: 'de', label: 'Deutsch' },
  { value: 'fr', label: 'Français' },
  { value: 'es', label: 'Español' },
  { value: 'nl', label: 'Nederlands' },
  { value: 'pt', label: 'Português' },
  { value: 'it', label: 'Italiano' },
  { value: 'ar', label: 'العربية' },
  { value: 'he', label: 'עברית' },
]

/**
 * The identity secret behind Intelagent('identify'): generated here and shown once (the site's server keeps it and
 * signs user ids with it); afterwards only its last characters. Generating again replaces it at once.
 */
function IdentitySecret({ product, features }: { product: WidgetProduct; features: PlanFeatures }) {
  const allowed = features.has('identity')
  const [stored, setStored] = useState<string | null>(null)
  const [fresh, setFresh] = useState<string | null>(null)
  const { busy, error, run } = useAction()
  const id = `${product}-identity`

  useEffect(() => {
    let live = true
    api.secrets
      .list(product)
      .then((all) => {
        const found = all.find((s) => s.name === 'identity_secret')
        if (live && found) setStored(found.hint)
      })
      .catch(() => {})
    return () => {
      live = false
    }
  }, [product])

  const generate = () =>
    run(async () => {
      const made = await api.secrets.rotateIdentitySecret(product)
      setFresh(made.secret)
      setStored(made.hint)
    })

  return (
    <section class="stack" aria-labelledby={`${id}-title`}>
      <h3 id={`${id}-title`}>Identity verification</h3>
      <p class="hint">
        Logged-in users of your site keep their conversations on every device. Your server signs each user id with this secret (<code>userHash</code> = hex
        HMAC-SHA256(secret, userId)) and the page passes it to <code>Intelagent('identify', …)</code>; a wrong hash is refused.
      </p>
      {fresh && (
        <div class="stack">
          <p>Copy it now: it is not shown again.</p>
          <pre class="code">
            <code id={`${id}-value`}>{fresh}</code>
          </pre>
          <CopyButton text={fresh} label="Copy identity secret" />
        </div>
      )}
      <ErrorNote error={error} />
      <p class="muted" role="status">
        {stored !== null ? `Stored: ends in …${stored}` : 'No identity secret yet.'}
      </p>
      <div>
        <button type="button" class="button-secondary" onClick={generate} disabled={busy || !allowed} aria-describedby={allowed ? undefined : `${id}-plan`}>
          {stored !== null ? 'Replace the identity secret (the current one stops working)' : 'Generate an identity secret'}
        </button>
      </div>
      {!allowed && <UpgradeHint id={`${id}-plan`} text={features.needs('identity')} />}
    </section>
  )
}

/**
 * Stores an integration secret. The value is write-only: the field is emptied after saving and only the hint the
 * server returns (the last characters) is shown; there is no way to read a stored secret back.
 */
function SecretForm({ product, name, label, hint }: { product: WidgetProduct; name: SecretName; label: string; hint: string }) {
  const [value, setValue] = useState('')
  const [stored, setStored] = useState<string | null>(null)
  const { busy, error, run } = useAction()
  const id = `${product}-secret-${name}`

  // Show whether one is already stored (its hint only) when the form appears.
  useEffect(() => {
    let live = true
    api.secrets
      .list(product)
      .then((all) => {
        const found = all.find((s) => s.name === name)
        if (live && found) setStored(found.hint)
      })
      .catch(() => {})
    return () => {
      live = false
    }
  }, [product, name])

  async function save(e: Event) {
    e.preventDefault()
    const ok = await run(async () => setStored((await api.secrets.set(product, name, value)).hint))
    if (ok) setValue('')
  }

  return (
    <form class="stack secret-form" onSubmit={save}>
      <div class="row">
        <label for={id}>{label}</label>
        <input
          id={id}
          type="password"
          required
          minLength={8}
          maxLength={500}
          autoComplete="off"
          spellcheck={false}
          value={value}
          onInput={(e) => setValue(e.currentTarget.value)}
          aria-describedby={`${id}-hint`}
        />
        <p class="hint" id={`${id}-hint`}>
          {hint} Stored encrypted and never shown again; saving replaces the stored one.
        </p>
      </div>
      <SaveFooter error={error} busy={busy} label={`Save ${label}`} status={stored !== null ? `Saved: ends in …${stored}` : ''} />
    </form>
  )
}

function KnowledgePanel({ product }: { product: WidgetProduct }) {
  const items = useLoad(async () => (await api.knowledge.list(product)).data, [product])
  const [question, setQuestion] = useState('')
  const [answer, setAnswer] = useState('')
  const { busy, error, run } = useAction()
  const id = (f: string) => `${product}-kb-${f}`

  async function add(e: Event) {
    e.preventDefault()
    const ok = await run(async () => {
      const item = await api.knowledge.add(product, { kind: 'qa', title: question.trim(), body: answer.trim() })
      items.set((prev) => [...(prev ?? []), item])
    })
    if (ok) {
      setQuestion('')
      setAnswer('')
      document.getElementById(id('q'))?.focus()
    }
  }

  const remove = (itemId: string) =>
    run(async () => {
      await api.knowledge.delete(product, itemId)
      items.set((prev) => prev?.filter((i) => i.id !== itemId))
    })

  return (
    <>
      <h3>Questions and answers</h3>
      <ErrorNote error={items.error ?? error} />
      {items.loading && !items.data && <p class="muted">Loading answers…</p>}
      {items.data?.length === 0 && <p class="muted">No answers yet: add the questions visitors ask most.</p>}
      {items.data && items.data.length > 0 && (
        <ul class="qa">
          {items.data.map((i) => (
            <li key={i.id}>
              <p class="qa-q">{i.title}</p>
              <p class="qa-a">{i.body}</p>
              <button type="button" class="link" onClick={() => remove(i.id)} disabled={busy} aria-label={`Delete “${i.title}”`}>
                Delete
              </button>
            </li>
          ))}
        </ul>
      )}
      <form class="stack" onSubmit={add}>
        <div class="row">
          <label for={id('q')}>Question</label>
          <input id={id('q')} required maxLength={300} value={question} onInput={(e) => setQuestion(e.currentTarget.value)} />
        </div>
        <div class="row">
          <label for={id('a')}>Answer</label>
          <textarea id={id('a')} required rows={3} value={answer} onInput={(e) => setAnswer(e.currentTarget.value)} />
        </div>
        <div class="actions">
          <button type="submit" disabled={busy}>
            Add answer
          </button>
        </div>
      </form>
    </>
  )
}

function SecretProductCard({ product, keys, onChanged, manage }: { product: Product; keys: ProductKey[]; onChanged: () => void; manage: boolean }) {
  const [secret, setSecret] = useState<string | null>(null)
  const { busy, error, run } = useAction()
  const label = PRODUCT_LABELS[product]
  const active = keys.filter((k) => k.status === 'active')

  async function create() {
    await run(async () => {
      const res = await api.products.configure(product, { newKey: true })
      setSecret(res.key)
      onChanged()
    })
  }
  const revoke = (k: ProductKey) => {
    if (!confirm(`Revoke ${k.start}…? Integrations using it stop working within a second.`)) return
    void run(() => api.keys.revoke(k.id)).then((ok) => ok && onChanged())
  }

  return (
    <section class="card" aria-labelledby={`product-${product}`}>
      <h2 id={`product-${product}`}>{label}</h2>
      <p class="hint">Secret keys are for servers and automation only: never put them in a web page.</p>
      <ErrorNote error={error} />
      {secret && (
        <div class="note note-ok" role="status">
          <p>
            Your new key is shown <strong>only now</strong>. Store it in your secret manager.
          </p>
          <code class="secret">{secret}</code> <CopyButton text={secret} label="Copy secret key" />
        </div>
      )}
      {active.length > 0 ? (
        <ul class="plain">
          {active.map((k) => (
            <li key={k.id}>
              <code>{k.start}…</code> created {formatWhen(k.createdAt)}, last used {k.lastUsedAt ? formatWhen(k.lastUsedAt) : 'never'}
              {k.expiresAt ? `, expires ${formatWhen(k.expiresAt)}` : ''}.{' '}
              {manage && (
                <button type="button" class="link" onClick={() => revoke(k)} disabled={busy}>
                  Revoke
                </button>
              )}
            </li>
          ))}
        </ul>
      ) : (
        <p class="muted">No active keys.</p>
      )}
      {manage && (
        <button type="button" onClick={create} disabled={busy}>
          Create a key
        </button>
      )}
    </section>
  )
}
