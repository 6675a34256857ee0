import type { EnrichBatchItem, EnrichResult } from '@intelagent/sdk'
import Papa from 'papaparse'
import { describe, expect, it } from 'vitest'
import { CsvError, chunks, enrichedCsv, MAX_ROWS, OUTPUT_COLUMNS, parseInputCsv } from '../src/enrich-csv.js'

const result = (over: Partial<EnrichResult> = {}): EnrichResult => ({
  domain: 'acme.com',
  company: { name: 'Acme', domain: 'acme.com', basis: 'guessed' },
  freeMail: false,
  disposable: false,
  roleAddress: false,
  country: 'GB',
  device: 'desktop',
  browser: 'Chrome 126',
  os: 'Windows',
  source: { channel: 'email', referrer: null, utm: { source: 'newsletter', medium: 'email' }, clickId: null },
  score: 80,
  reasons: ['Business email domain acme.com (+25)', 'IP address located in GB (+5)'],
  ...over,
})

describe('parseInputCsv', () => {
  it('reads quoted values with commas, quotes and line breaks, CRLF line ends, a BOM and header aliases', () => {
    const text =
      '\uFEFFName,E-mail,User-Agent,page_url,Referer\r\n' +
      '"Doe, Jane",jane@acme.com,"Mozilla/5.0 (Windows NT 10.0; Win64; x64) ""quoted""",https://s.example/?utm_source=a&b=1,\r\n' +
      '"Multi\r\nline",bob@gmail.com,,,https://www.google.com/\r\n' +
      '\r\n' +
      ',,,,\r\n'
    const parsed = parseInputCsv(text)
    expect(parsed.columns).toEqual(['Name', 'E-mail', 'User-Agent', 'page_url', 'Referer'])
    expect(parsed.mapping).toEqual({ email: 'E-mail', userAgent: 'User-Agent', pageUrl: 'page_url', referrer: 'Referer' })
    expect(parsed.rows).toHaveLength(2)
    expect(parsed.rows[0]?.Name).toBe('Doe, Jane')
    expect(parsed.rows[1]?.Name).toBe('Multi\r\nline')
    expect(parsed.inputs).toEqual([
      { email: 'jane@acme.com', userAgent: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) "quoted"', pageUrl: 'https://s.example/?utm_source=a&b=1' },
      { email: 'bob@gmail.com', referrer: 'https://www.google.com/' },
    ])
  })

  it('refuses a CSV without an input column, without rows, with an unclosed quote, or too long', () => {
    expect(() => parseInputCsv('name,phone\nAnn,123\n')).toThrow(CsvError)
    expect(() => parseInputCsv('name,phone\nAnn,123\n')).toThrow(/needs at least one of email, domain/)
    expect(() => parseInputCsv('email\n')).toThrow(/no data rows/)
    expect(() => parseInputCsv('email,name\na@b.com,"Ann\nb@c.com,Bob\n')).toThrow(/never closed/)
    expect(() => parseInputCsv(`domain\n${'acme.com\n'.repeat(MAX_ROWS + 1)}`)).toThrow(/up to 5000/)
  })
})

describe('chunks', () => {
  it('splits into batches of at most 100', () => {
    expect(chunks(Array.from({ length: 250 }, (_, i) => i)).map((c) => c.length)).toEqual([100, 100, 50])
    expect(chunks([])).toEqual([])
  })
})

describe('enrichedCsv', () => {
  it('appends the enrichment row for row, keeps clashing input columns, and escapes formulas', () => {
    const parsed = parseInputCsv('email,company\njane@acme.com,"=HYPERLINK(""http://evil"")"\nbroken,\n')
    const results: EnrichBatchItem[] = [result(), { error: { code: 'validation_failed', message: 'email: Invalid email address' } }]
    const csv = enrichedCsv(parsed, results)
    expect(csv.split('\r\n')).toHaveLength(3)
    const back = Papa.parse<string[]>(csv).data
    const header = back[0] ?? []
    expect(header.slice(0, 3)).toEqual(['email', 'company', 'company_domain'])
    expect(header).toContain('enriched_company')
    expect(header).toHaveLength(2 + OUTPUT_COLUMNS.length)
    const row = Object.fromEntries(header.map((h, i) => [h, back[1]?.[i]]))
    expect(row).toMatchObject({
      email: 'jane@acme.com',
      company: `'=HYPERLINK("http://evil")`,
      enriched_company: 'Acme',
      company_basis: 'guessed',
      free_mail: 'no',
      country: 'GB',
      source_channel: 'email',
      utm_source: 'newsletter',
      score: '80',
      reasons: 'Business email domain acme.com (+25) | IP address located in GB (+5)',
      error: '',
    })
    const failed = Object.fromEntries(header.map((h, i) => [h, back[2]?.[i]]))
    expect(failed).toMatchObject({ email: 'broken', enriched_company: '', score: '', error: 'email: Invalid email address' })
  })
})
