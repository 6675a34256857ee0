// Structured JSON logs, one line per event; secrets are never passed in, and known secret fields are masked.
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent'
const order: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 }
const SECRET_FIELDS = /pass(word)?|secret|token|authorization|cookie|key$/i

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void
  info(msg: string, fields?: Record<string, unknown>): void
  warn(msg: string, fields?: Record<string, unknown>): void
  error(msg: string, fields?: Record<string, unknown>): void
}

function redact(fields: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(fields)) out[k] = SECRET_FIELDS.test(k) ? '[redacted]' : v
  return out
}

/** A terminal line for LOG_FORMAT=pretty: time, level, message, then key=value pairs (same redaction as JSON). */
function pretty(time: string, lvl: LogLevel, msg: string, fields: Record<string, unknown>): string {
  const pairs = Object.entries(fields).map(([k, v]) => `${k}=${typeof v === 'string' && !/\s/.test(v) ? v : JSON.stringify(v)}`)
  return [time.slice(11, 23), lvl.toUpperCase().padEnd(5), msg, ...pairs].join(' ')
}

export function createLogger(
  level: LogLevel,
  write: (line: string) => void = (l) => process.stdout.write(`${l}\n`),
  format: 'json' | 'pretty' = 'json',
): Logger {
  const log =
    (lvl: LogLevel) =>
    (msg: string, fields: Record<string, unknown> = {}) => {
      if (order[lvl] < order[level]) return
      const time = new Date().toISOString()
      write(format === 'pretty' ? pretty(time, lvl, msg, redact(fields)) : JSON.stringify({ time, level: lvl, msg, ...redact(fields) }))
    }
  return { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') }
}
