// The React binding on a server (no window): renders nothing, touches no browser API, and its page API is a
// harmless no-op there. Its behaviour in a browser is tested with the real widget and server in
// packages/server/test/browser/widget.test.ts (built from test/fixture).
import { createElement } from 'react'
import { renderToString } from 'react-dom/server'
import { describe, expect, it } from 'vitest'
import { Intelagent, useIntelagent } from '../src/index.js'

const seen: ReturnType<typeof useIntelagent>[] = []
function Probe() {
  seen.push(useIntelagent())
  return null
}

describe('@intelagent/react without a browser', () => {
  it('renders nothing on the server and needs no window', () => {
    expect(typeof window).toBe('undefined')
    const html = renderToString(
      createElement(Intelagent, {
        baseUrl: 'https://chat.example.com',
        productKey: 'chat_test',
        user: { userId: '42', userHash: 'a'.repeat(64), email: 'ada@example.com' },
        attributes: { plan: 'pro' },
        locale: 'de',
      }),
    )
    expect(html).toBe('')
  })

  it('gives a stable, callable page API whose calls are no-ops without a browser', () => {
    seen.length = 0
    renderToString(createElement(Probe))
    const api = seen[0]!
    expect(api).toBeDefined()
    expect(api).toBe(useIntelagent())
    expect(() => api('open')).not.toThrow()
    expect(api.on('message', () => {})).toBe(api)
    for (const name of ['open', 'close', 'toggle', 'show', 'hide', 'update', 'identify', 'shutdown', 'setLocale', 'prefill'] as const) {
      expect(typeof api[name]).toBe('function')
    }
  })
})
