// The bench's load generator: one keep-alive connection per worker speaking just enough HTTP/1.1 (a request at a
// time, Content-Length or chunked answers). It shares two cores with the server, Postgres and Redis: Node's
// http.request cost ≈ 100 µs of this process's CPU per request (an agent, a ClientRequest, an IncomingMessage, header
// objects), CPU the server under test then did not get, and enough to cap bare Hono at half its throughput. This
// costs a fifth of that (docs/performance.md, tenth session).
import net from 'node:net'

export interface Req {
  method: string
  path: string
  headers?: Record<string, string>
  body?: string
}

const CRLF2 = Buffer.from('\r\n\r\n')

/** A request's bytes, as a browser's fetch() sends a string body: with Content-Length. */
export function encodeRequest(r: Req): Buffer {
  const body = r.body === undefined ? undefined : Buffer.from(r.body)
  let head = `${r.method} ${r.path} HTTP/1.1\r\nhost: 127.0.0.1\r\n`
  for (const [k, v] of Object.entries(r.headers ?? {})) head += `${k}: ${v}\r\n`
  if (body) head += `content-length: ${body.length}\r\n`
  head += '\r\n'
  return body ? Buffer.concat([Buffer.from(head), body]) : Buffer.from(head)
}

interface Answer {
  status: number
  /** Bytes of the whole answer consumed from the buffer, or 0 when it is not complete yet. */
  used: number
}

/** The first complete answer in `buf` (status and length only; the bench never reads bodies under load). */
export function parseAnswer(buf: Buffer): Answer {
  const end = buf.indexOf(CRLF2)
  if (end < 0) return { status: 0, used: 0 }
  const head = buf.toString('latin1', 0, end)
  const status = Number(head.slice(9, 12))
  const lower = head.toLowerCase()
  const at = lower.indexOf('\r\ncontent-length:')
  if (at >= 0) {
    const eol = lower.indexOf('\r\n', at + 2)
    const length = Number.parseInt(lower.slice(at + 17, eol < 0 ? undefined : eol), 10)
    const used = end + 4 + length
    return buf.length >= used ? { status, used } : { status: 0, used: 0 }
  }
  if (lower.includes('\r\ntransfer-encoding: chunked')) {
    let i = end + 4
    for (;;) {
      const line = buf.indexOf('\r\n', i)
      if (line < 0) return { status: 0, used: 0 }
      const size = Number.parseInt(buf.toString('latin1', i, line), 16)
      i = line + 2 + size + 2
      if (buf.length < i) return { status: 0, used: 0 }
      if (size === 0) return { status, used: i }
    }
  }
  // No body (a 204, a 304 or a HEAD answer).
  return { status, used: end + 4 }
}

/** One keep-alive connection; `send` resolves to the answer's status (599 when the connection failed). */
export class Connection {
  private socket: net.Socket | null = null
  private buf: Buffer = Buffer.alloc(0)
  private waiting: ((status: number) => void) | null = null

  constructor(private port: number) {}

  send(request: Buffer): Promise<number> {
    return new Promise((resolve) => {
      this.waiting = resolve
      this.connected().write(request)
    })
  }

  close(): void {
    const socket = this.socket
    this.socket = null
    socket?.destroy()
  }

  private connected(): net.Socket {
    if (this.socket) return this.socket
    const socket = net.connect(this.port, '127.0.0.1')
    socket.setNoDelay(true)
    socket.on('data', (d: Buffer) => {
      this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d
      const a = parseAnswer(this.buf)
      if (a.used === 0) return
      this.buf = this.buf.subarray(a.used)
      this.answer(a.status)
    })
    const fail = () => {
      // Once per connection ('error' is followed by 'close'); a later request is on a connection of its own.
      if (this.socket !== socket) return
      this.socket = null
      this.buf = Buffer.alloc(0)
      this.answer(599)
    }
    socket.on('error', fail)
    socket.on('close', fail)
    this.socket = socket
    return socket
  }

  private answer(status: number): void {
    const w = this.waiting
    this.waiting = null
    w?.(status)
  }
}
