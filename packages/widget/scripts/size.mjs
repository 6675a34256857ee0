// Size budget, checked after every build: gzip sizes of the loader and of loader + chat chunk (+ one language chunk).
// The budget numbers live here and nowhere else (the size test imports them).
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'

/** Bytes, gzip level 9. */
export const BUDGET = { loader: 3072, total: 20480 }

export const DIST = fileURLToPath(new URL('../dist/', import.meta.url))

const gz = (path) => gzipSync(readFileSync(path), { level: 9 }).length

/**
 * Measures a built dist/: the loader, the chat chunk, and the language chunks (each loaded only by pages in
 * that language). `total` is what one visitor downloads at most: loader + chat + the largest language chunk.
 */
export function measure(dist = DIST) {
  const loader = gz(join(dist, 'widget.js'))
  const chunks = readdirSync(join(dist, 'widget')).filter((f) => f.endsWith('.js'))
  const chatFile = chunks.find((f) => /^chat-[\w-]+\.js$/.test(f))
  if (!chatFile) throw new Error(`no chat chunk in ${join(dist, 'widget')}`)
  const chat = gz(join(dist, 'widget', chatFile))
  const locales = Object.fromEntries(chunks.filter((f) => f !== chatFile).map((f) => [f, gz(join(dist, 'widget', f))]))
  const largestLocale = Math.max(0, ...Object.values(locales))
  return { loader, chat, locales, largestLocale, total: loader + chat + largestLocale, chunks }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const m = measure()
  const row = (name, bytes, budget) => `${name.padEnd(16)} ${String(bytes).padStart(6)} B gzip  (budget ${budget} B, ${bytes <= budget ? 'ok' : 'OVER'})`
  console.log(row('loader', m.loader, BUDGET.loader))
  const detail = `chat ${m.chat} B + largest of ${Object.keys(m.locales).length} language chunks ${m.largestLocale} B`
  console.log(`${row('loader + chat', m.total, BUDGET.total)}  (${detail})`)
  if (m.loader > BUDGET.loader || m.total > BUDGET.total) {
    console.error('widget size budget exceeded')
    process.exit(1)
  }
}
