// "Test connection" beside the reply engine settings: one sample visitor message to the engine as the form has it
// (saved or not), and what happened, told in a live region.
import type { EngineTestParams, EngineTestResult, WidgetProduct } from '@intelagent/sdk'
import { useState } from 'preact/hooks'
import { api } from '../api.js'
import { ErrorNote, useAction } from '../components.js'
import { ConnectionOutcome } from '../connection-report.js'

const KIND = { answer: 'Reply', fallback: 'Reply (the engine did not know, so the fallback)', deferred: 'Reply' } as const

function EngineOutcome({ result }: { result: EngineTestResult }) {
  return (
    <ConnectionOutcome report={result} title={result.ok ? 'The engine answered.' : 'The engine did not answer.'}>
      <dl class="facts">
        <dt>Sample message</dt>
        <dd>{result.question}</dd>
        {result.reply && (
          <>
            <dt>{KIND[result.reply.kind]}</dt>
            <dd>{result.reply.kind === 'deferred' ? 'The flow will post its answer later.' : result.reply.text}</dd>
          </>
        )}
      </dl>
    </ConnectionOutcome>
  )
}

/** `draft` gives the engine settings as the form has them now. */
export function EngineTest({ product, draft }: { product: WidgetProduct; draft: () => EngineTestParams }) {
  const [result, setResult] = useState<EngineTestResult | null>(null)
  const { busy, error, run } = useAction()
  const hint = `${product}-engine-test-hint`
  const test = () =>
    run(async () => {
      setResult(null)
      setResult(await api.settings.testEngine(product, draft()))
    })
  return (
    <div class="row">
      <div class="actions">
        <button
          type="button"
          class="button-secondary"
          // The form's own checks first (an empty URL, a timeout out of range): the browser says what is wrong.
          onClick={(e) => (e.currentTarget.form?.reportValidity() ?? true) && test()}
          disabled={busy}
          aria-describedby={hint}
        >
          Test connection
        </button>
      </div>
      <p class="hint" id={hint}>
        Sends one sample visitor message to the engine as set above, saved or not, with the stored key or secret. Nothing is kept.
      </p>
      <div aria-live="polite">
        {busy && <p class="muted">Testing the connection…</p>}
        {result && <EngineOutcome result={result} />}
      </div>
      <ErrorNote error={error} />
    </div>
  )
}
