// Enrichment from a CSV: paste or upload rows (email, domain, ip, userAgent, referrer, pageUrl under a header row),
// run them through the batch endpoint 100 at a time, see the results, download the enriched CSV.
import type { EnrichBatchItem } from '@intelagent/sdk'
import { isEnrichError } from '@intelagent/sdk'
import { useEffect, useState } from 'preact/hooks'
import type { Me } from '../api.js'
import { api } from '../api.js'
import { ErrorNote, useAction } from '../components.js'
import { CsvError, chunks, enrichedCsv, INPUT_FIELDS, type ParsedCsv, parseInputCsv } from '../enrich-csv.js'
import { CompanyCell, EmailFlags, ScoreDetails, sourceText } from '../enrichment-view.js'

const SAMPLE = `email,domain,ip,userAgent,referrer,pageUrl
jane.doe@acme-widgets.com,,81.2.69.160,,https://www.google.com/,https://shop.example.com/pricing
info@globex.io,,,,,"https://shop.example.com/?utm_source=newsletter&utm_medium=email"`

export function EnrichmentPage({ me }: { me: Me }) {
  const [text, setText] = useState('')
  const [fileName, setFileName] = useState<string | null>(null)
  const [parsed, setParsed] = useState<ParsedCsv | null>(null)
  const [results, setResults] = useState<EnrichBatchItem[]>([])
  const [progress, setProgress] = useState('')
  const [download, setDownload] = useState<string | null>(null)
  const { busy, error, run, setError } = useAction()

  // An object URL holds the CSV in memory until revoked.
  useEffect(() => () => void (download && URL.revokeObjectURL(download)), [download])

  if (!me.products.includes('data-enrichment')) {
    return (
      <>
        <h1>Enrichment</h1>
        <p>This license did not buy data enrichment.</p>
      </>
    )
  }

  async function onFile(e: Event) {
    const file = (e.currentTarget as HTMLInputElement).files?.[0]
    if (!file) return
    setFileName(file.name)
    setText(await file.text())
  }

  async function submit(e: Event) {
    e.preventDefault()
    setResults([])
    setParsed(null)
    setDownload(null)
    let csv: ParsedCsv
    try {
      csv = parseInputCsv(text)
    } catch (err) {
      if (err instanceof CsvError) return setError(err)
      throw err
    }
    await run(async () => {
      const all: EnrichBatchItem[] = []
      setProgress(`Enriching ${csv.inputs.length} rows…`)
      for (const chunk of chunks(csv.inputs)) {
        all.push(...(await api.enrich.batch(chunk)))
        setProgress(`Enriched ${all.length} of ${csv.inputs.length} rows…`)
      }
      setParsed(csv)
      setResults(all)
      const failed = all.filter(isEnrichError).length
      setProgress(`Enriched ${all.length - failed} of ${csv.inputs.length} rows${failed ? `; ${failed} could not be enriched (see the error column)` : ''}.`)
      setDownload(URL.createObjectURL(new Blob([enrichedCsv(csv, all)], { type: 'text/csv;charset=utf-8' })))
    })
  }

  const label = (row: Record<string, string>, csv: ParsedCsv) =>
    (csv.mapping.email && row[csv.mapping.email]) || (csv.mapping.domain && row[csv.mapping.domain]) || (csv.mapping.ip && row[csv.mapping.ip]) || '—'

  return (
    <>
      <h1>Enrichment</h1>
      <p>
        Upload or paste a CSV with a header row and any of the columns <code>{INPUT_FIELDS.join(', ')}</code>. Other columns are kept and returned as they are.
        Each row is enriched offline (company, free or disposable email, role address, country, device, traffic source) and scored 0–100 with its reasons;
        company names marked “guessed” come from the domain and are not verified.
      </p>
      <form class="stack card" onSubmit={submit}>
        <label>
          CSV file
          <input type="file" accept=".csv,text/csv" onChange={onFile} aria-describedby="csv-file-hint" />
        </label>
        <p id="csv-file-hint" class="hint">
          {fileName ? `Loaded ${fileName}: its text is below.` : 'Or paste the rows below.'}
        </p>
        <label>
          CSV rows
          <textarea class="csv-input" required rows={8} spellcheck={false} value={text} placeholder={SAMPLE} onInput={(e) => setText(e.currentTarget.value)} />
        </label>
        <ErrorNote error={error} />
        <div class="actions">
          <button type="submit" disabled={busy || !text.trim()}>
            {busy ? 'Enriching…' : 'Enrich rows'}
          </button>
          <output aria-live="polite" class="muted">
            {progress}
          </output>
        </div>
      </form>
      {parsed && results.length > 0 && (
        <>
          {download && (
            <p>
              <a class="button" href={download} download={fileName ? `${fileName.replace(/\.csv$/i, '')}-enriched.csv` : 'enriched.csv'}>
                Download enriched CSV
              </a>
            </p>
          )}
          <div class="table-wrap">
            <table>
              <caption class="visually-hidden">Enriched rows, in the order of the CSV</caption>
              <thead>
                <tr>
                  <th scope="col">Row</th>
                  <th scope="col">Email, domain or IP</th>
                  <th scope="col">Company</th>
                  <th scope="col">Country</th>
                  <th scope="col">Device</th>
                  <th scope="col">Source</th>
                  <th scope="col">Score</th>
                </tr>
              </thead>
              <tbody>
                {results.map((r, i) => {
                  const row = parsed.rows[i] ?? {}
                  return (
                    <tr key={i} class={isEnrichError(r) ? 'row-warn' : undefined}>
                      <th scope="row">{i + 1}</th>
                      <td>
                        {label(row, parsed)}
                        {!isEnrichError(r) && <EmailFlags result={r} />}
                      </td>
                      {isEnrichError(r) ? (
                        <td colSpan={5}>{r.error.message}</td>
                      ) : (
                        <>
                          <td>
                            <CompanyCell result={r} />
                          </td>
                          <td>{r.country ?? ''}</td>
                          <td>{[r.device, r.browser, r.os].filter(Boolean).join(' · ')}</td>
                          <td>{sourceText(r.source)}</td>
                          <td>
                            <ScoreDetails result={r} />
                          </td>
                        </>
                      )}
                    </tr>
                  )
                })}
              </tbody>
            </table>
          </div>
        </>
      )}
    </>
  )
}
