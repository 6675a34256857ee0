// The conversation lifecycle, ratings and unanswered questions through the SDK, against the real server app in
// process: typed results, errors as the SDK's classes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { configure, newCustomer } from '../../server/test/fixtures.js'
import { createTestApp, type TestApp } from '../../server/test/harness.js'
import { ConflictError, Intelagent, NotFoundError } from '../src/index.js'

let app: TestApp
const inProcess = (url: string, init: RequestInit) => Promise.resolve(app.app.request(url, init))
const ORIGIN = 'https://shop.example.com'

beforeAll(async () => {
  app = await createTestApp()
}, 180_000)
afterAll(async () => {
  await app?.shutdown()
})

describe('SDK conversation lifecycle', () => {
  it('closes, reopens, takes over and hands back; rates; asks for a person; answers and dismisses unanswered questions', async () => {
    const owner = await newCustomer(app)
    const { key } = await configure(app, owner, 'chatbot', { allowedOrigins: [ORIGIN] })
    const sdk = new Intelagent({ baseUrl: 'http://intelagent.test', fetch: inProcess, token: owner.token })
    const visitor = new Intelagent({
      baseUrl: 'http://intelagent.test',
      fetch: (url, init) => {
        const headers = new Headers(init.headers)
        headers.set('origin', ORIGIN)
        return inProcess(url, { ...init, headers })
      },
      productKey: key,
    })
    const started = await visitor.widget.startConversation()
    const id = started.conversation.id
    const opts = { visitorToken: started.visitorToken }

    const sent = await visitor.widget.sendMessage(id, 'Do you gift wrap?', opts)
    const honest = sent.replies[0]
    expect(honest?.unanswered).toBe(true)
    expect((await sdk.conversations.get(id)).conversation.status).toBe('waiting')
    expect((await visitor.widget.rate(id, honest?.id ?? '', 'helpful', opts)).rating).toBe('helpful')
    await expect(visitor.widget.rate(id, started.messages[0]?.id ?? '', 'helpful', opts)).rejects.toMatchObject({
      status: 400,
      code: 'message_not_rateable',
    })

    expect((await sdk.conversations.close(id)).closedBy).toBe('owner')
    expect((await sdk.conversations.list('chatbot', { status: 'closed' })).data.map((c) => c.id)).toEqual([id])
    expect((await sdk.conversations.reopen(id)).status).toBe('open')
    expect((await visitor.widget.requestHuman(id, opts)).waitingReason).toBe('visitor_request')
    expect((await sdk.conversations.takeOver(id)).takenOver?.by).toBe(owner.email)
    expect((await sdk.conversations.handBack(id)).takenOver).toBeNull()

    const [question] = await sdk.unanswered.list('chatbot')
    expect(question).toMatchObject({ question: 'Do you gift wrap?', count: 1, exampleConversationId: id })
    const answered = await sdk.unanswered.answer('chatbot', question?.id ?? '', 'Yes, for £3.50 per item.')
    expect(answered.item).toMatchObject({ kind: 'qa', title: 'Do you gift wrap?' })
    await expect(sdk.unanswered.answer('chatbot', question?.id ?? '', 'again')).rejects.toBeInstanceOf(ConflictError)
    await expect(sdk.unanswered.dismiss('chatbot', crypto.randomUUID())).rejects.toBeInstanceOf(NotFoundError)
    expect(await sdk.unanswered.list('chatbot')).toEqual([])
    expect((await visitor.widget.sendMessage(id, 'Do you gift wrap?', opts)).replies[0]?.text).toContain('£3.50')
  }, 120_000)
})
