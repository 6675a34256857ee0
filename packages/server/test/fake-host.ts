// A real HTTP server on 127.0.0.1 standing in for a customer's endpoint (an n8n flow, an OpenAI-compatible API), so
// tests exercise the outbound client's real sockets; the app reaches it only through OUTBOUND_ALLOW_HOSTS.
import type { AddressInfo } from 'node:net'
import { serve } from '@hono/node-server'

export interface FakeRequest {
  request: Request
  /** Drops the connection without an answer (a network error for the caller). */
  destroy(): void
}

export type FakeHandler = (req: FakeRequest) => Response | Promise<Response>

export interface FakeHost {
  /** `http://127.0.0.1:<port>` */
  origin: string
  /** `127.0.0.1:<port>`, the OUTBOUND_ALLOW_HOSTS entry for this host. */
  hostPort: string
  port: number
  /** Requests received, whatever their path. */
  hits: number
  on(method: string, path: string, handler: FakeHandler): void
  /** Forgets every handler (unknown routes answer 404). */
  reset(): void
  close(): Promise<void>
}

export const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

export async function fakeHost(): Promise<FakeHost> {
  const routes = new Map<string, FakeHandler>()
  const host: FakeHost = {
    origin: '',
    hostPort: '',
    port: 0,
    hits: 0,
    on(method, path, handler) {
      routes.set(`${method.toUpperCase()} ${path}`, handler)
    },
    reset() {
      routes.clear()
    },
    close: async () => {},
  }
  const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const s = serve(
      {
        hostname: '127.0.0.1',
        port: 0,
        fetch: (request, env: { incoming: { socket: { destroy(): void } } }) => {
          host.hits++
          const handler = routes.get(`${request.method} ${new URL(request.url).pathname}`)
          if (!handler) return new Response('no handler', { status: 404 })
          return handler({ request, destroy: () => env.incoming.socket.destroy() })
        },
      },
      () => resolve(s),
    )
  })
  const { port } = server.address() as AddressInfo
  host.port = port
  host.origin = `http://127.0.0.1:${port}`
  host.hostPort = `127.0.0.1:${port}`
  host.close = () =>
    new Promise<void>((resolve) => {
      ;(server as { closeAllConnections?: () => void }).closeAllConnections?.()
      server.close(() => resolve())
    })
  return host
}
