// IP address → ISO country code, offline, from the CSV ranges of @ip-location-db/geo-whois-asn-country (CC BY 4.0,
// NRO; see docs/enrichment.md). Private, loopback and other reserved addresses have no country.
import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import ipaddr from 'ipaddr.js'
import { isPublicAddress } from '../platform/outbound.js'

const DATA_PACKAGE = '@ip-location-db/geo-whois-asn-country'

/** Sorted, non-overlapping inclusive ranges; IPv6 addresses as four 32-bit words, most significant first. */
interface Tables {
  v4Start: Uint32Array
  v4End: Uint32Array
  v4Country: Uint16Array
  v6Start: Uint32Array
  v6End: Uint32Array
  v6Country: Uint16Array
}

const countryCode = (packed: number): string => String.fromCharCode(packed >> 8, packed & 0xff)

function countRows(buf: Uint8Array): number {
  let rows = 0
  for (let i = 0; i < buf.length; i++) if (buf[i] === 10) rows++
  // A last line without a newline is a row too.
  return buf.length > 0 && buf[buf.length - 1] !== 10 ? rows + 1 : rows
}

/**
 * Parses `start,end,CC` lines whose addresses are decimal numbers (the package's `-num.csv` files) into `words`
 * 32-bit words per address. Byte-level on purpose: the IPv6 file holds 216k rows of 39-digit numbers, and
 * String.split plus BigInt took seconds where this takes a fraction of one.
 */
function parseNumCsv(buf: Uint8Array, words: 1 | 4): { start: Uint32Array; end: Uint32Array; country: Uint16Array } {
  const rows = countRows(buf)
  const start = new Uint32Array(rows * words)
  const end = new Uint32Array(rows * words)
  const country = new Uint16Array(rows)
  let i = 0
  let row = 0
  // Decimal digits into base-2^32 limbs (least significant limb last in the output).
  const readNumber = (out: Uint32Array, at: number) => {
    const limbs = [0, 0, 0, 0]
    while (i < buf.length && buf[i] !== 44) {
      let carry = (buf[i] as number) - 48
      for (let k = 3; k >= 4 - words; k--) {
        const v = (limbs[k] as number) * 10 + carry
        limbs[k] = v % 0x1_0000_0000
        carry = Math.floor(v / 0x1_0000_0000)
      }
      i++
    }
    i++
    for (let k = 0; k < words; k++) out[at + k] = limbs[4 - words + k] as number
  }
  while (i < buf.length && row < rows) {
    if (buf[i] === 10 || buf[i] === 13) {
      i++
      continue
    }
    readNumber(start, row * words)
    readNumber(end, row * words)
    country[row] = ((buf[i] as number) << 8) | (buf[i + 1] as number)
    while (i < buf.length && buf[i] !== 10) i++
    row++
  }
  return { start: start.subarray(0, row * words), end: end.subarray(0, row * words), country: country.subarray(0, row) }
}

/** Compares address `a` (words) with the range bound at `index` in `bounds`. */
function compare(a: Uint32Array | number[], bounds: Uint32Array, index: number, words: number): number {
  for (let k = 0; k < words; k++) {
    const x = a[k] as number
    const y = bounds[index * words + k] as number
    if (x !== y) return x < y ? -1 : 1
  }
  return 0
}

/** The country of the range holding `addr`, if any: the last range starting at or below it, if it ends at or above it. */
function lookup(addr: Uint32Array | number[], start: Uint32Array, end: Uint32Array, country: Uint16Array, words: number): string | null {
  let lo = 0
  let hi = country.length - 1
  let found = -1
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1
    if (compare(addr, start, mid, words) >= 0) {
      found = mid
      lo = mid + 1
    } else hi = mid - 1
  }
  if (found === -1 || compare(addr, end, found, words) > 0) return null
  return countryCode(country[found] as number)
}

async function loadTables(): Promise<Tables> {
  const require = createRequire(import.meta.url)
  const file = (name: string) => require.resolve(`${DATA_PACKAGE}/${name}`)
  const [v4, v6] = await Promise.all([readFile(file('geo-whois-asn-country-ipv4-num.csv')), readFile(file('geo-whois-asn-country-ipv6-num.csv'))])
  const a = parseNumCsv(v4, 1)
  const b = parseNumCsv(v6, 4)
  return { v4Start: a.start, v4End: a.end, v4Country: a.country, v6Start: b.start, v6End: b.end, v6Country: b.country }
}

// The tables are reference data read from an installed package: the same for every app instance and tenant and
// never written after the load, so one copy per process (about 10 MB) rather than one per app. Loaded on the
// first lookup, not at start, so processes that never see an IP address never pay for it.
let loading: Promise<Tables> | undefined

function tables(): Promise<Tables> {
  loading ??= loadTables().catch((err) => {
    loading = undefined
    throw err
  })
  return loading
}

export type IpCountry = { country: string; reason?: undefined } | { country: null; reason: 'invalid' | 'reserved' | 'unknown' }

/** The country of a public address; `reserved` for private, loopback, link-local, CGNAT, documentation and the like. */
export async function countryOfIp(raw: string): Promise<IpCountry> {
  let ip: ipaddr.IPv4 | ipaddr.IPv6
  try {
    ip = ipaddr.process(raw.trim())
  } catch {
    return { country: null, reason: 'invalid' }
  }
  if (!isPublicAddress(ip.toString())) return { country: null, reason: 'reserved' }
  const t = await tables()
  let country: string | null
  if (ip.kind() === 'ipv4') {
    const [a, b, c, d] = (ip as ipaddr.IPv4).octets as [number, number, number, number]
    country = lookup([((a << 24) >>> 0) + (b << 16) + (c << 8) + d], t.v4Start, t.v4End, t.v4Country, 1)
  } else {
    const p = (ip as ipaddr.IPv6).parts
    const words = [0, 1, 2, 3].map((k) => (((p[2 * k] as number) << 16) >>> 0) + (p[2 * k + 1] as number))
    country = lookup(words, t.v6Start, t.v6End, t.v6Country, 4)
  }
  // The data marks some ranges with placeholder codes ("ZZ" unassigned, "EU"/"AP" regional registries): not countries.
  if (!country || !/^[A-Z]{2}$/.test(country) || country === 'ZZ' || country === 'EU' || country === 'AP') return { country: null, reason: 'unknown' }
  return { country }
}

/**
 * What a lead keeps of the visitor's address: the network, not the host (IPv4 /24, IPv6 /48), enough for a country
 * and no more. Returns null for anything that is not an IP address.
 */
export function anonymizeIp(raw: string): string | null {
  try {
    const ip = ipaddr.process(raw.trim())
    if (ip.kind() === 'ipv4') {
      const [a, b, c] = (ip as ipaddr.IPv4).octets
      return `${a}.${b}.${c}.0`
    }
    const p = (ip as ipaddr.IPv6).parts
    return new ipaddr.IPv6([p[0] as number, p[1] as number, p[2] as number, 0, 0, 0, 0, 0]).toString()
  } catch {
    return null
  }
}
