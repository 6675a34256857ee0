// Pure helpers for what the dashboard shows: times, origins, labels, and merging live updates into lists.
import type { AnalyticsParams, ConversationSummary, Message, Product } from '@intelagent/sdk'

const pad = (n: number): string => String(n).padStart(2, '0')

/** "just now", "5 min ago", "3 h ago" within a day; the local date and time after that. */
export function formatWhen(iso: string, now: number = Date.now()): string {
  const t = Date.parse(iso)
  if (Number.isNaN(t)) return ''
  const seconds = Math.round((now - t) / 1000)
  if (seconds < 45 && seconds > -45) return 'just now'
  if (seconds > 0 && seconds < 3600) return `${Math.round(seconds / 60)} min ago`
  if (seconds > 0 && seconds < 86_400) return `${Math.floor(seconds / 3600)} h ago`
  const d = new Date(t)
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`
}

const ORIGIN = /^https?:\/\/(\*\.)?[a-zA-Z0-9.-]+(:\d{1,5})?$/

/** Reads origins typed one per line (or comma separated); a trailing slash or path is dropped, duplicates removed. */
export function parseOrigins(text: string): { origins: string[]; invalid: string[] } {
  const origins: string[] = []
  const invalid: string[] = []
  for (const raw of text.split(/[\s,]+/)) {
    if (!raw) continue
    const m = /^(https?:\/\/[^/?#]+)(?:[/?#].*)?$/i.exec(raw)
    const origin = m?.[1] ? m[1].replace(/^HTTP/i, (s) => s.toLowerCase()) : raw
    if (!ORIGIN.test(origin)) invalid.push(raw)
    else if (!origins.includes(origin)) origins.push(origin)
  }
  return { origins, invalid }
}

export const PRODUCT_LABELS: Record<Product, string> = {
  chatbot: 'Chatbot',
  'sales-agent': 'Sales agent',
  'data-enrichment': 'Data enrichment',
  'setup-agent': 'Setup agent',
}

export const ROLE_LABELS: Record<Message['role'], string> = { visitor: 'Visitor', assistant: 'Bot', agent: 'You (agent)', system: 'System' }

export function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, Math.max(0, max - 1)).trimEnd()}…`
}

/** The script tag for a publishable key, as the server's configure answer builds it. */
export const embedCode = (origin: string, key: string): string => `<script src="${origin}/widget.js" data-product-key="${key}" async></script>`

/** Adds messages not yet shown (by id), keeping seq order: live events and reloads may overlap. */
export function mergeMessages(shown: Message[], incoming: Message[]): Message[] {
  const ids = new Set(shown.map((m) => m.id))
  const fresh = incoming.filter((m) => !ids.has(m.id))
  if (fresh.length === 0) return shown
  return [...shown, ...fresh].sort((a, b) => a.seq - b.seq)
}

/** A conversation list after a live message: that conversation moves to the top with its new last message. */
export function applyLiveMessage(list: ConversationSummary[], conversationId: string, message: Message): ConversationSummary[] {
  const current = list.find((c) => c.id === conversationId)
  if (!current) return list
  // A message's seq is its conversation's count when it was stored: a reload that already counted it (it raced
  // this live event) must not count it twice, and an older message must not replace the last one.
  if (message.seq <= current.messageCount) return [...list]
  const updated: ConversationSummary = {
    ...current,
    lastMessage: { text: message.text, role: message.role, createdAt: message.createdAt },
    messageCount: message.seq,
    updatedAt: message.createdAt,
  }
  return [updated, ...list.filter((c) => c.id !== conversationId)]
}

/** "850 ms", "12 s", "3 min 5 s", "1 h 2 min"; "none" when nothing was answered. */
export function formatDuration(ms: number | null): string {
  if (ms === null) return 'none'
  if (ms < 1000) return `${Math.round(ms)} ms`
  const s = Math.round(ms / 1000)
  if (s < 60) return `${s} s`
  const m = Math.floor(s / 60)
  if (m < 60) return s % 60 ? `${m} min ${s % 60} s` : `${m} min`
  const h = Math.floor(m / 60)
  return m % 60 ? `${h} h ${m % 60} min` : `${h} h`
}

/** The CSV of the same figures: a plain link, so the browser downloads it with the session cookie. */
export function analyticsExportUrl(params: AnalyticsParams): string {
  const qs = new URLSearchParams()
  for (const [k, v] of Object.entries(params)) if (v) qs.set(k, String(v))
  return `/api/analytics/export?${qs}`
}
