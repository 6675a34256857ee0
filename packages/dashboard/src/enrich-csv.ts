// CSV in and out for the enrichment page: rows from a header-row CSV (quotes, commas, CRLF handled by papaparse),
// the inputs the API takes, chunks of the batch size, and the enriched CSV to download.
import { ENRICH_BATCH_LIMIT, type EnrichBatchItem, type EnrichInput, isEnrichError } from '@intelagent/sdk'
import Papa from 'papaparse'

export const INPUT_FIELDS = ['email', 'domain', 'ip', 'userAgent', 'referrer', 'pageUrl'] as const
type InputField = (typeof INPUT_FIELDS)[number]

/** More rows than this are refused: a page, not a bulk pipeline (the API and SDK take any number in chunks). */
export const MAX_ROWS = 5000

// Header names as people write them: any case, spaces, dashes or underscores (User-Agent, page_url, Referer).
const ALIASES: Record<string, InputField> = {
  email: 'email',
  emailaddress: 'email',
  domain: 'domain',
  website: 'domain',
  ip: 'ip',
  ipaddress: 'ip',
  useragent: 'userAgent',
  ua: 'userAgent',
  referrer: 'referrer',
  referer: 'referrer',
  pageurl: 'pageUrl',
  page: 'pageUrl',
  url: 'pageUrl',
}

export interface ParsedCsv {
  /** The header row as given. */
  columns: string[]
  /** Which input field each recognised column feeds. */
  mapping: Partial<Record<InputField, string>>
  /** Each data row as given, by column name. */
  rows: Record<string, string>[]
  /** What the API receives for each row (empty cells left out). */
  inputs: EnrichInput[]
}

export class CsvError extends Error {}

export function parseInputCsv(text: string): ParsedCsv {
  const parsed = Papa.parse<Record<string, string>>(text.replace(/^\uFEFF/, ''), {
    header: true,
    skipEmptyLines: 'greedy',
    transformHeader: (h) => h.trim(),
  })
  const columns = (parsed.meta.fields ?? []).filter((f) => f !== '')
  const mapping: Partial<Record<InputField, string>> = {}
  for (const column of columns) {
    const field = ALIASES[column.toLowerCase().replace(/[\s_-]+/g, '')]
    if (field && !mapping[field]) mapping[field] = column
  }
  if (Object.keys(mapping).length === 0) {
    throw new CsvError(`No column to enrich from: the header row needs at least one of ${INPUT_FIELDS.join(', ')} (found: ${columns.join(', ') || 'nothing'})`)
  }
  // A quote never closed swallows the rest of the file: say where instead of enriching half a row.
  const fatal = parsed.errors.find((e) => e.code === 'MissingQuotes')
  if (fatal) throw new CsvError(`Row ${(fatal.row ?? 0) + 2}: a quoted value is never closed`)
  const rows = parsed.data
  if (rows.length === 0) throw new CsvError('The CSV has a header row but no data rows')
  if (rows.length > MAX_ROWS) throw new CsvError(`The CSV has ${rows.length} rows; this page takes up to ${MAX_ROWS} at a time`)
  const inputs = rows.map((row) => {
    const input: EnrichInput = {}
    for (const field of INPUT_FIELDS) {
      const column = mapping[field]
      const value = column ? row[column]?.trim() : undefined
      if (value) input[field] = value
    }
    return input
  })
  return { columns, mapping, rows, inputs }
}

/** Splits a list into chunks the batch endpoint takes. */
export function chunks<T>(items: T[], size = ENRICH_BATCH_LIMIT): T[][] {
  const out: T[][] = []
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size))
  return out
}

export const OUTPUT_COLUMNS = [
  'company_domain',
  'company',
  'company_basis',
  'free_mail',
  'disposable',
  'role_address',
  'country',
  'device',
  'browser',
  'os',
  'source_channel',
  'source_referrer',
  'utm_source',
  'utm_medium',
  'utm_campaign',
  'utm_term',
  'utm_content',
  'score',
  'reasons',
  'error',
] as const

function outputCells(item: EnrichBatchItem): Record<(typeof OUTPUT_COLUMNS)[number], string> {
  const empty = Object.fromEntries(OUTPUT_COLUMNS.map((c) => [c, ''])) as Record<(typeof OUTPUT_COLUMNS)[number], string>
  if (isEnrichError(item)) return { ...empty, error: item.error.message }
  const flag = (b: boolean) => (b ? 'yes' : 'no')
  return {
    ...empty,
    company_domain: item.domain ?? '',
    company: item.company?.name ?? '',
    company_basis: item.company?.basis ?? '',
    free_mail: flag(item.freeMail),
    disposable: flag(item.disposable),
    role_address: flag(item.roleAddress),
    country: item.country ?? '',
    device: item.device ?? '',
    browser: item.browser ?? '',
    os: item.os ?? '',
    source_channel: item.source.channel,
    source_referrer: item.source.referrer ?? '',
    utm_source: item.source.utm.source ?? '',
    utm_medium: item.source.utm.medium ?? '',
    utm_campaign: item.source.utm.campaign ?? '',
    utm_term: item.source.utm.term ?? '',
    utm_content: item.source.utm.content ?? '',
    score: String(item.score),
    reasons: item.reasons.join(' | '),
  }
}

/**
 * The input CSV with the enrichment appended, row for row. Cells that a spreadsheet would run as a formula
 * (=, +, -, @ first) are escaped: the data came from visitors and CSV uploads, not from the owner.
 */
export function enrichedCsv(parsed: Pick<ParsedCsv, 'columns' | 'rows'>, results: EnrichBatchItem[]): string {
  // A column of the input with an output column's name (say "company") keeps its data; ours becomes enriched_company.
  const added = OUTPUT_COLUMNS.map((c) => (parsed.columns.includes(c) ? `enriched_${c}` : c))
  const data = parsed.rows.map((row, i) => {
    const result = results[i]
    const cells = result ? outputCells(result) : undefined
    return [...parsed.columns.map((c) => row[c] ?? ''), ...OUTPUT_COLUMNS.map((c) => cells?.[c] ?? '')]
  })
  return Papa.unparse({ fields: [...parsed.columns, ...added], data }, { escapeFormulae: true, newline: '\r\n' })
}
