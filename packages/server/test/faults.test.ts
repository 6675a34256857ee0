// Redis and Postgres going away under traffic and coming back, against real servers this file starts on its
// own ports and the real entry point in a child process: degrade or answer 503, never die, lose nothing.
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { conversationChannel } from '../src/conversations/service.js'
import { type PostgresServer, type RedisServer, type ServerProcess, startPostgres, startRedis, startServer, waitFor, widgetClient } from './services.js'
import { StreamReader } from './sse.js'

const PREFIX = 'faults:'
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

describe('faults', () => {
  let pg: PostgresServer
  let redis: RedisServer
  let server: ServerProcess
  let widget: ReturnType<typeof widgetClient>
  const readyz = async () => {
    const res = await fetch(`${server.base}/readyz`, { signal: AbortSignal.timeout(15_000) })
    return { status: res.status, retryAfter: res.headers.get('retry-after'), body: (await res.json()) as { status: string; postgres: string; redis: string } }
  }

  beforeAll(async () => {
    ;[pg, redis] = await Promise.all([startPostgres(), startRedis()])
    server = await startServer({ DATABASE_URL: pg.url, REDIS_URL: redis.url, REDIS_PREFIX: PREFIX, RATE_LIMIT_SCALE: '100' })
    widget = widgetClient(server)
  }, 120_000)
  afterAll(async () => {
    await server?.stop()
    await redis?.stop()
    await pg?.destroy()
  })

  it('Redis killed mid-traffic: every request still answers, /readyz says degraded then ready, subscriptions come back', async () => {
    const visit = await widget.start()
    const stream = new StreamReader(await widget.events(visit))
    await stream.until((t) => t.includes('retry:'))
    expect((await readyz()).body).toEqual({ status: 'ready', postgres: 'up', redis: 'up' })

    const answers: (number | string)[] = []
    let running = true
    const traffic = (async () => {
      while (running) {
        try {
          const res = await widget.get('/api/widget/config')
          answers.push(res.status)
          await res.body?.cancel()
        } catch (err) {
          answers.push(String(err))
        }
        await sleep(20)
      }
    })()

    await redis.kill()
    await waitFor('/readyz to say degraded', async () => (await readyz()).body.status === 'degraded')
    const down = await readyz()
    expect(down).toMatchObject({ status: 200, body: { status: 'degraded', postgres: 'up', redis: 'down' } })
    const answeredWhileDown = answers.length
    await waitFor('requests answered while Redis is down', () => answers.length >= answeredWhileDown + 5)

    await redis.start()
    await waitFor('/readyz to say ready again', async () => (await readyz()).body.status === 'ready')
    // Redis itself lists the server's subscriber again, on the key-revocation channel and the open stream's.
    const probe = new Redis(redis.url)
    try {
      await waitFor('subscriptions to be renewed', async () => {
        const counts = (await probe.pubsub('NUMSUB', `${PREFIX}keys:invalidate`, `${PREFIX}${conversationChannel(visit.id)}`)) as (string | number)[]
        return Number(counts[1]) >= 1 && Number(counts[3]) >= 1
      })
    } finally {
      probe.disconnect()
    }
    running = false
    await traffic

    expect(answers.filter((a) => typeof a !== 'number' || a >= 500)).toEqual([])
    expect(answers.length).toBeGreaterThan(answeredWhileDown)
    // The open stream hears a message published through Redis after the outage.
    const sent = await widget.send(visit, 'after redis came back', 'after-redis')
    expect(sent.status).toBe(201)
    expect(await stream.until((t) => t.includes('after redis came back'))).toContain('"text":"after redis came back"')
    await stream.close()
    expect(server.child.exitCode).toBeNull()
  })

  it('Postgres stopped mid-traffic: 503 unavailable with Retry-After, no crash, recovery, and no acknowledged message lost', async () => {
    const visit = await widget.start()
    const acknowledged: string[] = []
    const refused: { status: number; code: string; retryAfter: string | null }[] = []
    const unexpected: string[] = []
    let n = 0
    let running = true
    // Two visitors' worth of messages in flight at once, so the stop lands on requests mid-way.
    const sender = async () => {
      while (running) {
        const id = `m${n++}`
        try {
          const res = await widget.send(visit, `message ${id}`, id)
          const body = (await res.json()) as { error?: { code: string } }
          if (res.status === 201) acknowledged.push(`message ${id}`)
          else if (res.status === 503) refused.push({ status: res.status, code: body.error?.code ?? '', retryAfter: res.headers.get('retry-after') })
          else unexpected.push(`${res.status} ${JSON.stringify(body)}`)
        } catch (err) {
          unexpected.push(String(err))
        }
        await sleep(20)
      }
    }
    const senders = [sender(), sender()]
    await waitFor('messages stored before the stop', () => acknowledged.length >= 3)

    await pg.stop()
    await waitFor('requests refused while Postgres is down', () => refused.length >= 5)
    const down = await readyz()
    expect(down).toMatchObject({ status: 503, body: { status: 'unavailable', postgres: 'down' } })
    expect(Number(down.retryAfter)).toBeGreaterThan(0)
    expect(server.child.exitCode).toBeNull()

    await pg.start()
    await waitFor('/readyz to say ready again', async () => (await readyz()).status === 200)
    const before = acknowledged.length
    await waitFor('messages stored after recovery', () => acknowledged.length >= before + 3)
    running = false
    await Promise.all(senders)

    expect(unexpected).toEqual([])
    expect(refused.filter((r) => r.code !== 'unavailable' || !(Number(r.retryAfter) > 0))).toEqual([])
    const stored = new Set((await widget.messages(visit)).filter((m) => m.role === 'visitor').map((m) => m.text))
    expect(acknowledged.filter((text) => !stored.has(text))).toEqual([])
    expect(server.child.exitCode).toBeNull()
  })
})
