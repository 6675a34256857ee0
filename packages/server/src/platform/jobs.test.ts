// Durable jobs on the store under test (PGlite, or Postgres when DATABASE_URL is set): committed with the
// caller's transaction, run once across workers, retried with backoff, dead after the last attempt, taken over
// when a worker dies, kept while a long job renews its lease.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createStore, createTestApp, type TestApp, type TestStore } from '../../test/harness.js'
import { BUSY_PACE_MS, enqueue, type JobHandler, Jobs, type WorkerOptions } from './jobs.js'
import { createLogger } from './logger.js'

const fast: WorkerOptions = { concurrency: 4, leaseMs: 5000, retryBaseMs: 5, retryMaxMs: 20 }
const quiet = createLogger('silent')

describe('durable jobs', () => {
  let store: TestStore
  let a: TestApp
  let b: TestApp
  const workers: Jobs[] = []

  /** A worker of its own on instance `app`'s database, stopped after the file. */
  const worker = (app: TestApp, handlers: Record<string, JobHandler<never>>, options: Partial<WorkerOptions> = {}) => {
    const jobs = new Jobs(app.deps.db, quiet, { ...fast, ...options })
    for (const [name, h] of Object.entries(handlers)) jobs.register(name, h)
    workers.push(jobs)
    return jobs
  }
  const jobRow = (id: string) => a.deps.db.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirstOrThrow()
  let n = 0
  const uniqueName = (tag: string) => `test.${tag}.${++n}`

  beforeAll(async () => {
    store = await createStore()
    a = await createTestApp({ store })
    // A second instance on the same store: its own pool on Postgres, the same database on PGlite.
    b = await createTestApp({ store, sharedDeps: a.deps })
  })
  afterAll(async () => {
    for (const w of workers) await w.stop(1000)
    await b.shutdown()
    await a.shutdown()
    await store.drop()
  })

  it('exists only if the transaction that enqueued it commits, and then runs once with its payload', async () => {
    const name = uniqueName('commit')
    const seen: unknown[] = []
    const jobs = worker(a, { [name]: { run: async (p: never) => void seen.push(p) } })
    await expect(
      a.deps.db.transaction().execute(async (trx) => {
        await enqueue(trx, name, { n: 1 })
        throw new Error('the change failed')
      }),
    ).rejects.toThrow('the change failed')
    const id = await a.deps.db.transaction().execute((trx) => enqueue(trx, name, { n: 2 }))
    await jobs.start()
    await jobs.idle()
    expect(seen).toEqual([{ n: 2 }])
    expect(id).toMatch(/^job_[0-9A-Za-z]{24}$/)
    expect(await jobRow(id as string)).toMatchObject({ status: 'done', attempts: 1, locked_by: null })
    expect(await a.deps.db.selectFrom('jobs').select('id').where('name', '=', name).execute()).toHaveLength(1)
  })

  it('runs each of 200 jobs exactly once with two workers on two instances', async () => {
    const name = uniqueName('race')
    const runs = new Map<number, number>()
    const handler: JobHandler<never> = {
      run: async (p: never) => {
        const i = (p as { i: number }).i
        runs.set(i, (runs.get(i) ?? 0) + 1)
        await new Promise((r) => setTimeout(r, Math.random() * 3))
      },
    }
    const one = worker(a, { [name]: handler })
    const two = worker(b, { [name]: handler })
    await Promise.all([one.start(), two.start()])
    await Promise.all(Array.from({ length: 200 }, (_, i) => enqueue(i % 2 ? a.deps.db : b.deps.db, name, { i })))
    await Promise.all([one.idle(), two.idle()])
    expect(runs.size).toBe(200)
    expect([...runs.values()].every((count) => count === 1)).toBe(true)
  })

  it('keeps one live job per dedupe key, and takes the key again once that job is done', async () => {
    const name = uniqueName('dedupe')
    const first = await enqueue(a.deps.db, name, {}, { dedupeKey: `${name}:k` })
    expect(await enqueue(a.deps.db, name, {}, { dedupeKey: `${name}:k` })).toBeNull()
    const jobs = worker(a, { [name]: { run: async () => undefined } })
    await jobs.start()
    await jobs.idle()
    const again = await enqueue(a.deps.db, name, {}, { dedupeKey: `${name}:k` })
    expect(again).toMatch(/^job_/)
    expect(again).not.toBe(first)
  })

  it('retries a failing job after an exponential, jittered delay, then marks it dead and calls onDead in that transaction', async () => {
    const name = uniqueName('fail')
    const deadCalls: string[] = []
    let attempts = 0
    const handler: JobHandler<never> = {
      run: async () => {
        attempts++
        throw new Error(`upstream said no (${attempts})`)
      },
      async onDead(trx, _p, error) {
        deadCalls.push(error)
        // Proves it runs in the transaction that marks the job dead.
        const row = await trx.selectFrom('jobs').select('status').where('name', '=', name).executeTakeFirstOrThrow()
        expect(row.status).toBe('dead')
      },
    }
    const jobs = worker(a, { [name]: handler })
    await jobs.start()
    const id = (await enqueue(a.deps.db, name, {}, { maxAttempts: 3 })) as string
    await jobs.idle()
    expect(attempts).toBe(3)
    expect(deadCalls).toEqual(['upstream said no (3)'])
    expect(await jobRow(id)).toMatchObject({ status: 'dead', attempts: 3, max_attempts: 3, last_error: 'upstream said no (3)', locked_by: null })

    // With a one-minute base the first retry is due between 30 and 60 seconds later (half fixed, half random).
    const slow = uniqueName('backoff')
    const w = worker(a, { [slow]: { run: async () => Promise.reject(new Error('later')) } }, { retryBaseMs: 60_000, retryMaxMs: 600_000 })
    await w.start()
    const sid = (await enqueue(a.deps.db, slow, {})) as string
    let row = await jobRow(sid)
    for (let i = 0; i < 500 && !(row.attempts === 1 && row.status === 'queued'); i++) {
      await new Promise((r) => setTimeout(r, 10))
      row = await jobRow(sid)
    }
    expect(row).toMatchObject({ status: 'queued', attempts: 1, last_error: 'later' })
    const delay = row.run_at.getTime() - row.updated_at.getTime()
    expect(delay).toBeGreaterThanOrEqual(30_000 - 50)
    expect(delay).toBeLessThanOrEqual(60_000 + 50)
    await w.stop()
  })

  it("waits a handler's own retryDelayMs instead of the worker's backoff", async () => {
    const name = uniqueName('schedule')
    const asked: number[] = []
    const jobs = worker(a, {
      [name]: {
        run: async () => {
          throw new Error('not yet')
        },
        retryDelayMs: (attempt: number) => {
          asked.push(attempt)
          return 3_600_000
        },
      },
    })
    const id = (await enqueue(a.deps.db, name, {}, { maxAttempts: 3 })) as string
    await jobs.start()
    await expect.poll(async () => (await jobRow(id)).last_error, { timeout: 10_000 }).toBe('not yet')
    const row = await jobRow(id)
    expect(row).toMatchObject({ status: 'queued', attempts: 1 })
    expect(asked).toEqual([1])
    // An hour from the database's now, not the worker's 5–20 ms backoff.
    const waitMs = row.run_at.getTime() - row.updated_at.getTime()
    expect(waitMs).toBeGreaterThan(3_590_000)
    expect(waitMs).toBeLessThan(3_610_000)
    await a.deps.db.deleteFrom('jobs').where('id', '=', id).execute()
  })

  it('takes over a job whose worker died once its lease runs out, and declares it dead if that was its last attempt', async () => {
    const name = uniqueName('lease')
    const ran: number[] = []
    const died: string[] = []
    const jobs = worker(a, {
      [name]: {
        run: async (_p: never, job) => void ran.push(job.attempt),
        onDead: async (_trx, _p, error) => void died.push(error),
      },
    })
    // As a worker that crashed mid-run leaves them: running, leased to nobody alive, lease expired.
    const crashed = async (attempts: number, maxAttempts: number) => {
      const id = (await enqueue(a.deps.db, name, {}, { maxAttempts })) as string
      await a.deps.db
        .updateTable('jobs')
        .set({ status: 'running', attempts, locked_by: 'gone:1:abc', locked_until: new Date(Date.now() - 60_000) })
        .where('id', '=', id)
        .execute()
      return id
    }
    const retried = await crashed(1, 3)
    const last = await crashed(3, 3)
    await jobs.start()
    await jobs.idle()
    expect(ran).toEqual([2])
    expect(await jobRow(retried)).toMatchObject({ status: 'done', attempts: 2 })
    expect(await jobRow(last)).toMatchObject({ status: 'dead', attempts: 4 })
    expect(died).toHaveLength(1)
    expect(died[0]).toMatch(/stopped before it finished/)
  })

  it('renews the lease of a long job, so no other worker takes it over while it runs', async () => {
    const name = uniqueName('long')
    let runs = 0
    let release = () => {}
    const held = new Promise<void>((r) => {
      release = r
    })
    let started = () => {}
    const running = new Promise<void>((r) => {
      started = r
    })
    const handler: JobHandler<never> = {
      run: async () => {
        runs++
        started()
        await held
      },
    }
    const one = worker(a, { [name]: handler }, { leaseMs: 1000 })
    const two = worker(b, { [name]: handler }, { leaseMs: 1000 })
    await one.start()
    const id = (await enqueue(a.deps.db, name, {})) as string
    await running
    await two.start()
    // Three lease lengths: without renewal the second worker would have claimed it twice over.
    await new Promise((r) => setTimeout(r, 3000))
    expect(runs).toBe(1)
    // The claim set the lease to end one lease length after updated_at; only renewals push it further.
    const leased = await jobRow(id)
    expect((leased.locked_until?.getTime() ?? 0) - leased.updated_at.getTime()).toBeGreaterThan(1000)
    release()
    await Promise.all([one.idle(), two.idle()])
    expect(runs).toBe(1)
    expect(await jobRow(id)).toMatchObject({ status: 'done', attempts: 1 })
  })

  it('stop() waits for running jobs to finish and claims nothing new', async () => {
    const name = uniqueName('stop')
    let finished = 0
    let started = () => {}
    const running = new Promise<void>((r) => {
      started = r
    })
    const jobs = worker(a, {
      [name]: {
        run: async () => {
          started()
          await new Promise((r) => setTimeout(r, 200))
          finished++
        },
      },
    })
    await jobs.start()
    const id = (await enqueue(a.deps.db, name, {})) as string
    await running
    await jobs.stop()
    expect(finished).toBe(1)
    expect((await jobRow(id)).status).toBe('done')
    const later = (await enqueue(a.deps.db, name, {})) as string
    await new Promise((r) => setTimeout(r, 100))
    expect((await jobRow(later)).status).toBe('queued')
  })

  it('paces passes while work trickles in (what arrives meanwhile goes in one pass), not while a backlog is waiting', async () => {
    // A steady stream: an item every 5 ms, each waking the loop as an event's NOTIFY does.
    const queue: number[] = []
    const passes: number[] = []
    const take = (batch: number) => async () => {
      const got = queue.splice(0, batch)
      if (got.length) passes.push(got.length)
      return got.length
    }
    const streamed = worker(a, {})
    streamed.addTick(take(100), { batch: 100 })
    await streamed.start()
    const began = performance.now()
    for (let i = 0; i < 40; i++) {
      queue.push(i)
      streamed.wake()
      await new Promise((r) => setTimeout(r, 5))
    }
    const took = performance.now() - began
    await streamed.idle()
    expect(passes.reduce((x, y) => x + y, 0)).toBe(40)
    // At most a pass per pace while it trickled in (≈ 5 at 200 ms), and the one idle() runs; a pass per item or two
    // without the pace, however slow the machine's timers.
    expect(passes.length).toBeLessThanOrEqual(Math.min(30, Math.ceil(took / BUSY_PACE_MS) + 2))
    await streamed.stop()

    // A backlog: full passes go again at once; only the last, partial one is followed by a pause.
    passes.length = 0
    queue.push(...Array.from({ length: 95 }, (_, i) => i))
    const backlogged = worker(a, {})
    backlogged.addTick(take(10), { batch: 10 })
    let pauses = 0
    const loop = backlogged as unknown as { pause: (ms: number) => Promise<void> }
    const pause = loop.pause.bind(backlogged)
    loop.pause = (ms) => {
      pauses++
      return pause(ms)
    }
    await backlogged.start()
    // The loop alone (idle() would run passes of its own).
    await expect.poll(() => queue.length, { timeout: 10_000, interval: 5 }).toBe(0)
    expect(passes).toEqual([10, 10, 10, 10, 10, 10, 10, 10, 10, 5])
    expect(pauses).toBeLessThanOrEqual(1)
    await backlogged.stop()
  })
})
