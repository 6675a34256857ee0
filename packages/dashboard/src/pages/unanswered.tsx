// Questions the bot could not answer, most asked first. The owner answers one in place (it becomes a Q&A pair
// in the knowledge base, so the bot answers it from then on) or dismisses it.
import type { UnansweredQuestion, WidgetProduct } from '@intelagent/sdk'
import { useState } from 'preact/hooks'
import type { Me } from '../api.js'
import { api } from '../api.js'
import { ErrorNote, Link, useAction, useLoad } from '../components.js'
import { formatWhen, PRODUCT_LABELS } from '../format.js'

export function UnansweredPage({ me }: { me: Me }) {
  const products = me.products.filter((p): p is WidgetProduct => p === 'chatbot' || p === 'sales-agent')
  const [product, setProduct] = useState<WidgetProduct | undefined>(products[0])
  const loaded = useLoad(() => (product ? api.unanswered.list(product) : Promise.resolve([])), [product])
  const [status, setStatus] = useState('')
  const questions = loaded.data ?? []
  const drop = (id: string, message: string) => {
    loaded.set((prev) => prev?.filter((q) => q.id !== id))
    setStatus(message)
  }

  return (
    <>
      <h1>Unanswered questions</h1>
      <p class="muted">What visitors asked that the bot did not know, most asked first. An answer here becomes a Q&A pair in the knowledge base.</p>
      {products.length === 0 && <p>Unanswered questions come from the chatbot and the sales agent; this license has neither.</p>}
      {products.length > 1 && (
        <fieldset class="tabs">
          <legend class="visually-hidden">Product</legend>
          {products.map((p) => (
            <label key={p} class={p === product ? 'tab tab-active' : 'tab'}>
              <input type="radio" name="unanswered-product" value={p} checked={p === product} onChange={() => setProduct(p)} />
              {PRODUCT_LABELS[p]}
            </label>
          ))}
        </fieldset>
      )}
      <ErrorNote error={loaded.error} />
      <p class="muted" role="status">
        {status}
      </p>
      {product && !loaded.loading && questions.length === 0 && <p class="muted">Nothing unanswered. Questions the bot cannot answer show up here.</p>}
      <ol class="plain unanswered">
        {product &&
          questions.map((q) => (
            <li key={q.id}>
              <Question product={product} q={q} onDone={drop} />
            </li>
          ))}
      </ol>
    </>
  )
}

function Question({ product, q, onDone }: { product: WidgetProduct; q: UnansweredQuestion; onDone: (id: string, message: string) => void }) {
  const [answer, setAnswer] = useState('')
  const { busy, error, run } = useAction()
  const field = `answer-${q.id}`
  const title = `q-${q.id}`

  async function save(e: Event) {
    e.preventDefault()
    const text = answer.trim()
    if (!text) return
    await run(async () => {
      await api.unanswered.answer(product, q.id, text)
      onDone(q.id, `Answered “${q.question}”: the bot answers it from now on.`)
    })
  }
  const dismiss = () =>
    run(async () => {
      await api.unanswered.dismiss(product, q.id)
      onDone(q.id, `Dismissed “${q.question}”.`)
    })

  return (
    <article class="card" aria-labelledby={title}>
      <h2 id={title} class="question">
        {q.question}
      </h2>
      <p class="muted">
        Asked {q.count === 1 ? 'once' : `${q.count} times`} · last {formatWhen(q.lastAskedAt)}
        {q.exampleConversationId && (
          <>
            {' · '}
            <Link to={`/conversations/${q.exampleConversationId}`}>see the conversation</Link>
          </>
        )}
      </p>
      <form onSubmit={save}>
        <label for={field}>Answer</label>
        <textarea id={field} rows={3} maxLength={50000} value={answer} onInput={(e) => setAnswer(e.currentTarget.value)} />
        <ErrorNote error={error} />
        <div class="actions">
          <button type="submit" disabled={busy || !answer.trim()}>
            Save answer
          </button>
          <button type="button" class="button-secondary" onClick={dismiss} disabled={busy}>
            Dismiss
          </button>
        </div>
      </form>
    </article>
  )
}
