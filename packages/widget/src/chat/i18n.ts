// The widget's own words. English ships in the chat chunk; every other language is a small chunk of its own,
// imported only by the pages that need it, so the budget holds however many languages there are.
import type { Locale } from '../api'

export const en = {
  region: 'Chat',
  open: 'Open chat',
  openUnread: 'Open chat, {0} unread',
  close: 'Close chat',
  dialog: '{0} chat',
  connecting: 'Connecting…',
  online: 'Online',
  reconnecting: 'Reconnecting…',
  unavailable: 'Unavailable',
  retrying: 'Cannot reach the chat right now. Retrying…',
  notEnabled: 'This chat is not enabled for this website.',
  down: 'The chat is unavailable right now.',
  messages: 'Messages',
  sending: 'Sending…',
  waiting: 'Waiting for connection…',
  typing: '{0} is typing',
  you: 'You',
  agent: 'Agent',
  answer: 'Your answer',
  message: 'Message',
  typeAnswer: 'Type your answer…',
  typeMessage: 'Type your message…',
  send: 'Send',
  talkToSales: 'Talk to sales',
  leaveEmail: 'Leave your email',
  powered: 'Powered by Intelagent',
  details: 'Leave your details',
  byEmail: "We'll get back to you by email.",
  name: 'Name',
  email: 'Email',
  company: 'Company',
  optional: '(optional)',
  consent: 'I agree to be contacted about my enquiry.',
  notNow: 'Not now',
  thanks: "Thanks, {0}! We'll get back to you at {1}.",
  checkFields: 'Please check the name and email address.',
  tooMany: 'Too many requests; please try again later.',
  leadFailed: 'Could not send your details. Please try again.',
  human: 'A person will answer here soon. Leave your email so we can reply even if you leave.',
  talkToPerson: 'Talk to a person',
  helpful: 'Helpful',
  notHelpful: 'Not helpful',
  sources: 'Sources',
  suggestions: 'Suggested questions',
}

export type Strings = typeof en
export const LOCALES: readonly Locale[] = ['en', 'de', 'fr', 'es', 'nl', 'pt', 'it', 'ar', 'he']
const RTL = ['ar', 'he']

// One entry per language: Vite turns each into its own chunk next to the chat chunk.
const LOAD: Record<Exclude<Locale, 'en'>, () => Promise<{ default: Strings }>> = {
  de: () => import('./locales/de'),
  fr: () => import('./locales/fr'),
  es: () => import('./locales/es'),
  nl: () => import('./locales/nl'),
  pt: () => import('./locales/pt'),
  it: () => import('./locales/it'),
  ar: () => import('./locales/ar'),
  he: () => import('./locales/he'),
}

/** The first supported language among the candidates ('de-AT' → 'de', 'iw' → 'he'); English when none is. */
export function pickLocale(...candidates: (string | undefined)[]): Locale {
  for (const c of candidates) {
    const base = c?.toLowerCase().split(/[-_]/)[0]
    const code = base === 'iw' ? 'he' : base
    if (code && (LOCALES as string[]).includes(code)) return code as Locale
  }
  return 'en'
}

export const isRtl = (locale: Locale): boolean => RTL.includes(locale)

/** The strings of a language; English when its chunk cannot be loaded (offline, a deploy in between). */
export async function loadStrings(locale: Locale): Promise<Strings> {
  if (locale === 'en') return en
  try {
    return { ...en, ...(await LOAD[locale]()).default }
  } catch {
    return en
  }
}

/** Fills `{0}`, `{1}` … in a string. */
export const fmt = (s: string, ...args: (string | number)[]): string => s.replace(/\{(\d)\}/g, (_, i: string) => String(args[Number(i)] ?? ''))
