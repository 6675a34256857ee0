// Durable jobs: work acknowledged to someone that must survive a crash (the Squarespace order fetch, engine
// replies, event consumers). Rows in Postgres claimed with FOR UPDATE SKIP LOCKED under a lease, so it runs
// the same on PGlite and on real Postgres; docs/architecture.md ("Durable jobs") says why and what it costs.
import { randomBytes } from 'node:crypto'
import { hostname } from 'node:os'
import { type Kysely, sql } from 'kysely'
import type { Database, Db, JobRow } from './db.js'
import { listenerOf } from './db.js'
import { newId } from './ids.js'
import type { Logger } from './logger.js'
import { WAKE_CHANNEL, WAKE_MARKER } from './notify.js'

export const DEFAULT_MAX_ATTEMPTS = 5
/** The longest a worker with nothing to do waits before looking again (scheduled retries, expired leases). */
const MAX_POLL_MS = 1000
const MIN_POLL_MS = 20
/**
 * After a pass that found work but not a full load (the queue is drained and more is arriving as it is made), the
 * loop waits this long before the next pass, so that what arrives meanwhile goes in one pass: under a steady
 * stream of events a pass per few messages cost the machine more than the messages themselves. A pass that finds a
 * full load goes again at once.
 */
export const BUSY_PACE_MS = 50
/** Finished jobs are kept this long for the operator, then pruned (at most once an hour per worker). */
const KEEP_DONE_MS = 7 * 24 * 3600_000
const PRUNE_EVERY_MS = 3600_000

export interface EnqueueOptions {
  /** Not before this time (default: now). */
  runAt?: Date
  /** While a queued or running job holds this key, enqueueing another with it does nothing. */
  dedupeKey?: string
  /** Attempts before the job is dead (default 5). */
  maxAttempts?: number
}

/**
 * Adds a job in the caller's transaction (or on its own): it exists, and wakes the workers of every instance
 * (platform/notify.ts), only once that transaction commits. Resolves to the job id, or null when a live job
 * holds the dedupe key.
 */
export async function enqueue(db: Kysely<Database>, name: string, payload: unknown, options: EnqueueOptions = {}): Promise<string | null> {
  const id = newId('job')
  const { rows } = await sql<{ id: string }>`${sql.raw(WAKE_MARKER)}
    insert into jobs (id, name, payload, max_attempts, run_at, dedupe_key)
    values (${id}, ${name}, ${JSON.stringify(payload ?? {})}::jsonb, ${options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS},
            coalesce(${options.runAt ?? null}::timestamptz, now()), ${options.dedupeKey ?? null})
    on conflict (dedupe_key) where dedupe_key is not null and status in ('queued', 'running') do nothing
    returning id`.execute(db)
  return rows[0]?.id ?? null
}

/** Sends a dead job round again with its attempts reset (the operator's retry); undefined unless it was dead. */
export async function requeueDead(db: Kysely<Database>, id: string): Promise<JobRow | undefined> {
  const { rows } = await sql<JobRow>`${sql.raw(WAKE_MARKER)}
    update jobs set status = 'queued', attempts = 0, run_at = now(), locked_by = null, locked_until = null, updated_at = now()
    where id = ${id} and status = 'dead'
    returning *`.execute(db)
  return rows[0]
}

export interface JobContext {
  id: string
  name: string
  /** 1 on the first run. */
  attempt: number
  maxAttempts: number
  /** Aborted when the lease is lost (another worker took the job over) or the worker stops past its grace. */
  signal: AbortSignal
}

export interface JobHandler<P = unknown> {
  /** Must be idempotent: a worker that dies after the work but before recording it leaves the job to run again. */
  run(payload: P, job: JobContext): Promise<void>
  /** Runs in the transaction that marks the job dead: record the failure where the domain shows it. */
  onDead?(trx: Kysely<Database>, payload: P, error: string): Promise<void>
  /** This job's own retry schedule: the delay before attempt `attempt + 1` (default: the worker's backoff). */
  retryDelayMs?(attempt: number): number
}

export interface WorkerOptions {
  /** Jobs run at once by this instance; 0 runs no worker (an API-only instance). */
  concurrency: number
  /** How long a claimed job stays claimed without renewal; renewed every third of it while it runs. */
  leaseMs: number
  /** First retry delay; doubles per attempt up to retryMaxMs, with jitter. */
  retryBaseMs: number
  retryMaxMs: number
}

interface Running {
  promise: Promise<void>
  controller: AbortController
}

const errorText = (err: unknown): string => String((err as Error)?.message ?? err).slice(0, 1000)

/**
 * Runs the worker's own bookkeeping (claim, lease renewal, done) without waiting for the disk flush. Safe because
 * jobs run at least once anyway: if Postgres itself crashes, a lost claim or "done" only runs the job again.
 * Locks and visibility are unchanged, so two workers still never hold the same job.
 */
async function relaxed<T>(db: Db, fn: (trx: Kysely<Database>) => Promise<T>): Promise<T> {
  return db.transaction().execute(async (trx) => {
    await sql`set local synchronous_commit = off`.execute(trx)
    return fn(trx)
  })
}

/** The handler registry and the worker loop of one instance. */
export class Jobs {
  readonly workerId = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`
  private handlers = new Map<string, JobHandler<never>>()
  private ticks: { run: () => Promise<number>; batch: number }[] = []
  /** A tick filled its batch or the claim every free slot in the last pass: more is waiting now. */
  private backlog = false
  private endPause: (() => void) | undefined
  /** The ticks run one pass at a time, so idle() never counts while the loop's dispatch is still uncommitted. */
  private tickChain: Promise<unknown> = Promise.resolve()
  private running = new Map<string, Running>()
  private loopDone: Promise<void> | undefined
  private stopping = false
  private woken = false
  private wakeUp: (() => void) | undefined
  private unlisten: (() => Promise<void>) | undefined
  private prunedAt = Number.NEGATIVE_INFINITY
  private pollFailing = false

  constructor(
    private db: Db,
    private logger: Logger,
    private options: WorkerOptions,
    /** Hears each run's outcome (the metrics counter). */
    private onOutcome: (name: string, outcome: 'done' | 'retried' | 'dead') => void = () => undefined,
  ) {}

  register<P>(name: string, handler: JobHandler<P>): void {
    if (this.handlers.has(name)) throw new Error(`job handler ${name} is registered twice`)
    this.handlers.set(name, handler as JobHandler<never>)
  }

  /**
   * Work the loop does before claiming jobs (the event dispatcher); resolves to how much it found. `batch`: the most
   * one call takes, so a call that found that many left more behind (looked at again without the pace).
   */
  addTick(tick: () => Promise<number>, options: { batch?: number } = {}): void {
    this.ticks.push({ run: tick, batch: options.batch ?? Number.POSITIVE_INFINITY })
  }

  get enabled(): boolean {
    return this.options.concurrency > 0
  }

  async start(): Promise<void> {
    if (!this.enabled || this.loopDone) return
    this.stopping = false
    const { rows } = await sql<{ schema: string }>`select current_schema() as schema`.execute(this.db)
    const schema = rows[0]?.schema
    const listen = listenerOf(this.db)
    try {
      this.unlisten = await listen?.(WAKE_CHANNEL, (payload) => {
        if (payload === schema) this.wake()
      })
    } catch (err) {
      this.logger.warn('jobs: LISTEN failed, polling only', { error: errorText(err) })
    }
    this.loopDone = this.loop()
  }

  /** Looks for work now instead of at the next poll. */
  wake(): void {
    this.woken = true
    this.wakeUp?.()
  }

  /**
   * Stops claiming, then waits up to `graceMs` for running jobs. Jobs still running then are aborted; their
   * leases run out and another instance takes them over, so nothing is lost either way.
   */
  async stop(graceMs = 10_000): Promise<void> {
    this.stopping = true
    this.wake()
    this.endPause?.()
    await this.loopDone
    this.loopDone = undefined
    const all = Promise.allSettled([...this.running.values()].map((r) => r.promise))
    let timer: NodeJS.Timeout | undefined
    const cut = await Promise.race([all.then(() => false), new Promise<boolean>((r) => (timer = setTimeout(() => r(true), graceMs)))])
    clearTimeout(timer)
    if (cut) {
      this.logger.warn('jobs: stopping with jobs still running; their leases will expire and they run again', { jobs: [...this.running.keys()] })
      for (const r of this.running.values()) r.controller.abort(new Error('worker stopping'))
    }
    await this.unlisten?.()
    this.unlisten = undefined
  }

  /**
   * Resolves once no job this instance can run is running or comes due within `timeoutMs` and the ticks find
   * nothing more (tests, and the bench); rejects after `timeoutMs`.
   */
  async idle(timeoutMs = 20_000): Promise<void> {
    const deadline = performance.now() + timeoutMs
    for (;;) {
      this.wake()
      await Promise.allSettled([...this.running.values()].map((r) => r.promise))
      const found = await this.runTicks()
      const names = [...this.handlers.keys()]
      const row =
        names.length === 0
          ? { n: 0 }
          : await this.db
              .selectFrom('jobs')
              .select((eb) => eb.fn.countAll<number>().as('n'))
              .where('name', 'in', names)
              // A job scheduled past the deadline (tomorrow's reconciliation, a retry days away) cannot be waited for:
              // idle means nothing is running and nothing comes due within the wait.
              .where((eb) =>
                eb.or([
                  eb('status', '=', 'running'),
                  eb.and([eb('status', '=', 'queued'), eb('run_at', '<=', sql<Date>`now() + ${timeoutMs} * interval '1 millisecond'`)]),
                ]),
              )
              .executeTakeFirstOrThrow()
      if (found === 0 && Number(row.n) === 0 && this.running.size === 0) return
      if (performance.now() > deadline) {
        const stuck = await this.db
          .selectFrom('jobs')
          .select(['name', 'status', 'attempts', 'last_error'])
          .where('status', 'in', ['queued', 'running'])
          .where('name', 'in', names)
          .limit(5)
          .execute()
        throw new Error(`jobs not idle after ${timeoutMs} ms (${row.n} queued or running: ${JSON.stringify(stuck)})`)
      }
      await new Promise((r) => setTimeout(r, 10))
    }
  }

  /** Resolves after `ms` whatever wakes the loop meanwhile, or at once when it stops. */
  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const finish = () => {
        clearTimeout(timer)
        this.endPause = undefined
        resolve()
      }
      const timer = setTimeout(finish, ms)
      this.endPause = finish
    })
  }

  /** Resolves after `ms`, or at once on wake(); true when woken. */
  private sleep(ms: number): Promise<boolean> {
    if (this.woken) {
      this.woken = false
      return Promise.resolve(true)
    }
    return new Promise((resolve) => {
      const finish = (woken: boolean) => {
        clearTimeout(timer)
        this.wakeUp = undefined
        this.woken = false
        resolve(woken)
      }
      const timer = setTimeout(() => finish(false), ms)
      this.wakeUp = () => finish(true)
    })
  }

  private async loop(): Promise<void> {
    let delay = MIN_POLL_MS
    while (!this.stopping) {
      let found = 0
      try {
        found = await this.poll()
        if (this.pollFailing) this.logger.info('jobs: polling again')
        this.pollFailing = false
      } catch (err) {
        // Postgres away: keep the loop alive, say so once, and try again at the slowest pace until it is back.
        if (!this.pollFailing) this.logger.warn('jobs: poll failed, retrying every second', { error: errorText(err) })
        this.pollFailing = true
        delay = MAX_POLL_MS
      }
      if (this.stopping) break
      if (found > 0) {
        delay = MIN_POLL_MS
        // More is waiting: look again at once if a slot is free, else when a running job finishes. Drained with more
        // arriving: look again after the pace, for all of it at once.
        if (this.running.size < this.options.concurrency) {
          if (!this.backlog) await this.pause(BUSY_PACE_MS)
          continue
        }
        await this.sleep(MAX_POLL_MS)
        continue
      }
      const woken = await this.sleep(delay)
      delay = woken ? MIN_POLL_MS : Math.min(delay * 2, MAX_POLL_MS)
    }
  }

  /** One pass of every tick, after any pass already under way has finished. */
  private runTicks(): Promise<number> {
    const pass = this.tickChain.then(async () => {
      let found = 0
      this.backlog = false
      for (const tick of this.ticks) {
        const n = await tick.run()
        found += n
        if (n >= tick.batch) this.backlog = true
      }
      return found
    })
    this.tickChain = pass.catch(() => undefined)
    return pass
  }

  private async poll(): Promise<number> {
    let found = await this.runTicks()
    const free = this.options.concurrency - this.running.size
    if (free > 0 && this.handlers.size > 0) {
      const jobs = await this.claim(free)
      if (jobs.length === free) this.backlog = true
      for (const job of jobs) this.execute(job)
      found += jobs.length
    }
    await this.prune()
    return found
  }

  /** Due jobs, and running ones whose worker stopped renewing the lease; names this instance can run only. */
  private async claim(limit: number): Promise<JobRow[]> {
    const { rows } = await relaxed(this.db, (trx) =>
      sql<JobRow>`
      update jobs set status = 'running', attempts = attempts + 1, locked_by = ${this.workerId},
        locked_until = now() + ${this.options.leaseMs} * interval '1 millisecond', updated_at = now()
      where id in (
        select id from jobs
        where ((status = 'queued' and run_at <= now()) or (status = 'running' and locked_until < now()))
          and name = any(${[...this.handlers.keys()]}::text[])
        order by run_at
        limit ${limit}
        for update skip locked
      )
      returning *`.execute(trx),
    )
    return rows
  }

  private execute(job: JobRow): void {
    const controller = new AbortController()
    const promise = this.runOne(job, controller)
      .catch((err) =>
        this.logger.error('jobs: could not record a job outcome; its lease will expire and it runs again', { job: job.id, error: errorText(err) }),
      )
      .finally(() => {
        this.running.delete(job.id)
        this.wake()
      })
    this.running.set(job.id, { promise, controller })
  }

  private async runOne(job: JobRow, controller: AbortController): Promise<void> {
    const handler = this.handlers.get(job.name) as JobHandler<unknown>
    // Claimed again after its last attempt's worker died mid-run: a job that kills its worker must not loop.
    if (job.attempts > job.max_attempts) {
      await this.failed(job, handler, 'the worker running the last attempt stopped before it finished', true)
      return
    }
    const renewal = setInterval(() => void this.renew(job, controller), Math.max(100, Math.floor(this.options.leaseMs / 3)))
    try {
      await handler.run(job.payload, { id: job.id, name: job.name, attempt: job.attempts, maxAttempts: job.max_attempts, signal: controller.signal })
    } catch (err) {
      clearInterval(renewal)
      await this.failed(job, handler, errorText(err), job.attempts >= job.max_attempts)
      return
    }
    clearInterval(renewal)
    const done = await relaxed(this.db, (trx) =>
      trx
        .updateTable('jobs')
        .set({ status: 'done', locked_by: null, locked_until: null, updated_at: sql`now()` })
        .where('id', '=', job.id)
        .where('locked_by', '=', this.workerId)
        .executeTakeFirst(),
    )
    if (Number(done.numUpdatedRows) === 0) this.logger.warn('jobs: finished after its lease was taken over', { job: job.id, name: job.name })
    this.onOutcome(job.name, 'done')
  }

  private async renew(job: JobRow, controller: AbortController): Promise<void> {
    try {
      const r = await relaxed(this.db, (trx) =>
        trx
          .updateTable('jobs')
          .set({ locked_until: sql`now() + ${this.options.leaseMs} * interval '1 millisecond'` })
          .where('id', '=', job.id)
          .where('locked_by', '=', this.workerId)
          .where('status', '=', 'running')
          .executeTakeFirst(),
      )
      if (Number(r.numUpdatedRows) === 0) controller.abort(new Error('lease lost'))
    } catch (err) {
      this.logger.warn('jobs: lease renewal failed', { job: job.id, error: errorText(err) })
    }
  }

  /** Exponential backoff with equal jitter: half the delay fixed, half random, so retries do not march in step. */
  private backoffMs(attempt: number): number {
    const exp = Math.min(this.options.retryMaxMs, this.options.retryBaseMs * 2 ** Math.max(0, attempt - 1))
    return Math.round(exp / 2 + (Math.random() * exp) / 2)
  }

  private async failed(job: JobRow, handler: JobHandler<unknown>, error: string, dead: boolean): Promise<void> {
    const delay = handler.retryDelayMs?.(job.attempts) ?? this.backoffMs(job.attempts)
    await this.db.transaction().execute(async (trx) => {
      const r = await trx
        .updateTable('jobs')
        .set(
          dead
            ? { status: 'dead', last_error: error, locked_by: null, locked_until: null, updated_at: sql`now()` }
            : {
                status: 'queued',
                last_error: error,
                locked_by: null,
                locked_until: null,
                updated_at: sql`now()`,
                run_at: sql`now() + ${delay} * interval '1 millisecond'`,
              },
        )
        .where('id', '=', job.id)
        .where('locked_by', '=', this.workerId)
        .executeTakeFirst()
      if (dead && Number(r.numUpdatedRows) === 1) await handler.onDead?.(trx, job.payload, error)
    })
    const fields = { job: job.id, name: job.name, attempt: job.attempts, maxAttempts: job.max_attempts, error }
    this.onOutcome(job.name, dead ? 'dead' : 'retried')
    if (dead) this.logger.warn('jobs: job is dead after its last attempt', fields)
    else this.logger.info('jobs: job failed, will retry', { ...fields, retryInMs: delay })
  }

  private async prune(): Promise<void> {
    const now = performance.now()
    if (now - this.prunedAt < PRUNE_EVERY_MS) return
    this.prunedAt = now
    await sql`
      delete from jobs where id in (
        select id from jobs where status = 'done' and updated_at < now() - ${KEEP_DONE_MS} * interval '1 millisecond' limit 1000
      )`.execute(this.db)
  }
}
