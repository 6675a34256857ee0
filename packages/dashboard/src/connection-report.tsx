// How a "test connection" went, step by step (DNS, TLS, HTTP status, latency, the start of the answer): one view
// for every integration that can be tested, webhook endpoints and reply engines alike.
import type { ConnectionReport } from '@intelagent/sdk'
import type { ComponentChildren } from 'preact'

const words = (s: string) => s.replace('_', ' ')

/** "DNS ok (127.0.0.1) · TLS ok (TLSv1.3) · HTTP 200 · 42 ms" */
export function connectionSteps(r: ConnectionReport): string {
  if (r.dns === 'not_used') return `Answered here, nothing called · ${r.latencyMs} ms`
  const dns = `DNS ${words(r.dns)}${r.addresses.length ? ` (${r.addresses.join(', ')})` : ''}`
  const tls = r.tls === 'ok' && r.tlsProtocol ? `TLS ok (${r.tlsProtocol})` : `TLS ${words(r.tls)}`
  const http = r.statusCode === null ? 'no HTTP answer' : `HTTP ${r.statusCode}`
  return [dns, tls, http, `${r.latencyMs} ms`].join(' · ')
}

/** The outcome as a note: the title, the steps, what the caller adds, the error and the start of the answer. */
export function ConnectionOutcome({ report, title, children }: { report: ConnectionReport; title: string; children?: ComponentChildren }) {
  const cert = report.certificate
  return (
    <div class={`note ${report.ok ? 'note-ok' : 'note-error'}`}>
      <p>
        <strong>{title}</strong> {connectionSteps(report)}
      </p>
      {cert?.subject && (
        <p>
          Certificate {cert.subject}
          {cert.issuer ? `, issued by ${cert.issuer}` : ''}
        </p>
      )}
      {children}
      {report.error && (
        <p>
          <code>{report.error.code}</code> {report.error.message}
        </p>
      )}
      {report.responseExcerpt && <pre class="code small">{report.responseExcerpt}</pre>}
    </div>
  )
}
