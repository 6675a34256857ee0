// How an enrichment result reads on screen (leads and the enrichment page): company, flags, source, and a score
// whose reasons open on demand (a native <details>, keyboard and screen-reader friendly, CSP-safe).
import type { EnrichCompany, EnrichResult } from '@intelagent/sdk'

const BASIS: Record<EnrichCompany['basis'], string> = { known: 'known company', guessed: 'guessed from the domain', webhook: 'from your webhook' }

export function CompanyCell({ result, typed }: { result: EnrichResult | null; typed?: string | null }) {
  const company = result?.company
  if (!company) return <>{typed ?? ''}</>
  return (
    <>
      <span>{company.name}</span> <span class="muted small">({BASIS[company.basis]})</span>
      {typed && typed !== company.name && <p class="muted small">Typed: {typed}</p>}
      {company.industry && <p class="muted small">{[company.industry, company.size ?? company.employees].filter(Boolean).join(' · ')}</p>}
    </>
  )
}

/** Free mail, disposable and role-address badges; nothing for a business address. */
export function EmailFlags({ result }: { result: EnrichResult }) {
  const flags = [result.disposable && 'Disposable', result.freeMail && 'Free mail', result.roleAddress && 'Role address'].filter(Boolean) as string[]
  if (flags.length === 0) return null
  return (
    <ul class="flags" aria-label="Email flags">
      {flags.map((f) => (
        <li key={f} class={f === 'Disposable' ? 'flag flag-bad' : 'flag'}>
          {f}
        </li>
      ))}
    </ul>
  )
}

export function sourceText(source: EnrichResult['source']): string {
  const channel = source.channel[0]?.toUpperCase() + source.channel.slice(1)
  const via = source.utm.source ?? source.referrer ?? source.clickId
  return via ? `${channel} · ${via}` : channel
}

const band = (score: number): string => (score >= 70 ? 'high' : score >= 40 ? 'mid' : 'low')

/** The score, with its reasons as a tooltip and, opened, as a list. */
export function ScoreDetails({ result }: { result: EnrichResult }) {
  return (
    <details class="score">
      <summary title={result.reasons.join('\n')}>
        <span class={`score-badge score-${band(result.score)}`}>{result.score}</span>
        <span class="visually-hidden"> out of 100; </span>
        <span class="muted small">why</span>
      </summary>
      <ul class="reasons">
        {result.reasons.map((r) => (
          <li key={r}>{r}</li>
        ))}
      </ul>
    </details>
  )
}
