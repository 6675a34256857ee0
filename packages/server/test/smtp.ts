// A real SMTP server on 127.0.0.1 (the smtp-server package) standing in for the mail provider: tests send over
// real sockets with nodemailer and read what arrived, parsed by mailparser.
import type { AddressInfo } from 'node:net'
import { type ParsedMail, simpleParser } from 'mailparser'
import { SMTPServer, type SMTPServerAddress, type SMTPServerSession } from 'smtp-server'

export interface ReceivedMail {
  from: string
  to: string[]
  subject: string
  text: string
  html: string
  messageId: string | undefined
  parsed: ParsedMail
}

export interface FakeSmtp {
  /** `smtp://127.0.0.1:<port>`, the SMTP_URL for the app under test. */
  url: string
  received: ReceivedMail[]
  /** Transactions (MAIL FROM) seen, accepted or refused. */
  attempts: number
  /** Answers the next `n` transactions with a temporary failure (451) before accepting again. */
  refuseNext(n: number): void
  /** Refuses every message to this address for good (550). */
  rejectRecipient(address: string): void
  /** Waits until a message to `address` has arrived (rejects after `timeoutMs`). */
  waitFor(address: string, timeoutMs?: number): Promise<ReceivedMail>
  to(address: string): ReceivedMail[]
  close(): Promise<void>
}

export async function fakeSmtp(): Promise<FakeSmtp> {
  let refuse = 0
  const rejected = new Set<string>()
  const fake: FakeSmtp = {
    url: '',
    received: [],
    attempts: 0,
    refuseNext(n) {
      refuse = n
    },
    rejectRecipient(address) {
      rejected.add(address.toLowerCase())
    },
    async waitFor(address, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs
      for (;;) {
        const found = fake.to(address)[0]
        if (found) return found
        if (Date.now() > deadline) throw new Error(`no mail to ${address} within ${timeoutMs} ms`)
        await new Promise((r) => setTimeout(r, 20))
      }
    },
    to: (address) => fake.received.filter((m) => m.to.includes(address.toLowerCase())),
    close: async () => {},
  }
  const server = new SMTPServer({
    authOptional: true,
    // Plain SMTP on loopback: no certificate to make, and nodemailer does not try to upgrade.
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onMailFrom(_address: SMTPServerAddress, _session: SMTPServerSession, callback: (err?: Error | null) => void) {
      fake.attempts++
      if (refuse > 0) {
        refuse--
        const err = Object.assign(new Error('Try again later'), { responseCode: 451 })
        return callback(err)
      }
      callback()
    },
    onRcptTo(address: SMTPServerAddress, _session: SMTPServerSession, callback: (err?: Error | null) => void) {
      if (rejected.has(address.address.toLowerCase())) return callback(Object.assign(new Error('No such mailbox'), { responseCode: 550 }))
      callback()
    },
    onData(stream, session, callback) {
      simpleParser(stream)
        .then((parsed) => {
          fake.received.push({
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            to: session.envelope.rcptTo.map((r) => r.address.toLowerCase()),
            subject: parsed.subject ?? '',
            text: parsed.text ?? '',
            html: typeof parsed.html === 'string' ? parsed.html : '',
            messageId: parsed.messageId,
            parsed,
          })
          callback()
        })
        .catch((err: Error) => callback(err))
    },
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.server.address() as AddressInfo
  fake.url = `smtp://127.0.0.1:${port}`
  fake.close = () => new Promise<void>((resolve) => server.close(() => resolve()))
  return fake
}
