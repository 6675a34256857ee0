// The entry points' process lifecycle: a failed start as one clear line, and a graceful stop as an ordered list
// of closers sharing one grace period.
import type { Server } from 'node:http'
import { createServer } from 'node:net'
import { type ServerType, serve } from '@hono/node-server'
import { ConfigError, StartupError } from './config.js'
import { isDbUnavailable } from './db.js'
import type { Logger } from './logger.js'

/** What a failed start tells the operator: one line for every failure they can fix, undefined for a bug. */
export function startupMessage(err: unknown): string | undefined {
  if (err instanceof ConfigError || err instanceof StartupError) return err.message
  if (isDbUnavailable(err)) {
    const inner = err instanceof AggregateError ? err.errors.map((e) => (e as Error).message).join('; ') : ''
    return `Cannot reach the database (check DATABASE_URL and that Postgres is running): ${(err as Error).message || inner}`
  }
  // A Postgres refusal: wrong password, no such database, no permission.
  if (err instanceof Error && typeof (err as { severity?: unknown }).severity === 'string') return `The database refused: ${err.message} (check DATABASE_URL)`
  return undefined
}

function listenError(err: NodeJS.ErrnoException, port: number, hostname: string): Error {
  const where = `port ${port} on ${hostname}`
  if (err.code === 'EADDRINUSE') return new StartupError(`Cannot listen: ${where} is already in use; stop the other process or set PORT`)
  if (err.code === 'EACCES') return new StartupError(`Cannot listen: not allowed to use ${where}; set PORT above 1023`)
  return err
}

/** Fails fast, before opening the database and migrating, when the port cannot be had. */
export function checkPortFree(port: number, hostname: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const probe = createServer()
    probe.once('error', (err) => reject(listenError(err, port, hostname)))
    probe.listen(port, hostname, () => probe.close(() => resolve()))
  })
}

/** Starts listening; a port that is taken or forbidden becomes a StartupError instead of an 'error' event. */
export function listen(fetch: Parameters<typeof serve>[0]['fetch'], port: number, hostname: string): Promise<ServerType> {
  return new Promise((resolve, reject) => {
    const server = serve({ fetch, port, hostname }, () => {
      server.off('error', failed)
      // Later socket-level errors are the clients' business; unheard, one would kill the process.
      server.on('error', () => undefined)
      resolve(server)
    })
    function failed(err: NodeJS.ErrnoException) {
      reject(listenError(err, port, hostname))
    }
    server.once('error', failed)
  })
}

export interface Closer {
  name: string
  /** Finishes this step gracefully. */
  close(): Promise<void>
  /** Called when the grace period ran out first: forces the step and says what was cut. */
  cut?(): string | undefined
}

/** A step started after the grace period still gets this long, so connections and files get closed. */
const LATE_STEP_MS = 1000

/**
 * Runs the closers in order within one grace period shared by all of them. A step that outlives it is cut
 * (logged with what it left unfinished) and the next one runs. Returns the names of the steps that were cut.
 */
export async function runClosers(closers: Closer[], graceMs: number, logger: Logger): Promise<string[]> {
  const deadline = performance.now() + graceMs
  const cut: string[] = []
  for (const closer of closers) {
    let timer: ReturnType<typeof setTimeout> | undefined
    const finished = await Promise.race([
      closer.close().then(
        () => true,
        (err) => {
          logger.warn('shutdown step failed', { step: closer.name, error: String((err as Error)?.message ?? err) })
          return true
        },
      ),
      new Promise<false>((resolve) => {
        timer = setTimeout(() => resolve(false), Math.max(deadline - performance.now(), LATE_STEP_MS))
      }),
    ])
    clearTimeout(timer)
    if (!finished) {
      const what = closer.cut?.()
      logger.warn('shutdown cut', { step: closer.name, ...(what ? { cut: what } : {}) })
      cut.push(closer.name)
    }
  }
  return cut
}

/** Stops accepting connections and waits for the requests in flight; cutting closes whatever is still open. */
export function httpCloser(server: ServerType): Closer {
  const http = server as Server
  let inFlight = 0
  http.on('request', (_req, res) => {
    inFlight++
    res.once('close', () => inFlight--)
  })
  return {
    name: 'http',
    close: () =>
      new Promise<void>((resolve) => {
        // close() drops idle keep-alive connections once; ones that turn idle later are dropped as they do.
        const sweep = setInterval(() => http.closeIdleConnections?.(), 100)
        http.close(() => {
          clearInterval(sweep)
          resolve()
        })
      }),
    cut() {
      const open = inFlight
      http.closeAllConnections?.()
      return `${open} request${open === 1 ? '' : 's'} still in flight`
    },
  }
}
