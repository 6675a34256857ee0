import type { Socket } from 'node:net'
import { buildConnector } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { delay, type FakeHost, fakeHost } from '../../test/fake-host.js'
import { selfSignedHttps } from '../../test/tls.js'
import { createOutbound, guardedConnector, isPublicAddress, type Lookup, newTrace, type Outbound, OutboundError } from './outbound.js'

const PUBLIC_IP = '93.184.215.14'
/** For connectors whose hosts are all allow-listed: nothing may be resolved. */
const systemless: Lookup = async (name) => {
  throw new Error(`unexpected lookup of ${name}`)
}

/** The rejection of `promise`, which must be an OutboundError. */
async function refusal(promise: Promise<unknown>): Promise<OutboundError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(err).toBeInstanceOf(OutboundError)
  return err as OutboundError
}

describe('isPublicAddress', () => {
  it('refuses every address inside the wall, IPv4-in-IPv6 spellings and metadata endpoints included', () => {
    const inward = [
      '127.0.0.1',
      '127.255.255.254',
      '10.1.2.3',
      '172.16.0.1',
      '192.168.1.1',
      '169.254.169.254',
      '169.254.170.2',
      '100.64.0.1',
      '100.100.100.200',
      '192.0.0.192',
      '0.0.0.0',
      '0.1.2.3',
      '255.255.255.255',
      '224.0.0.1',
      '240.0.0.1',
      '198.18.0.1',
      '::',
      '::1',
      'fe80::1',
      'fd00::1',
      'fc00::1',
      'fd00:ec2::254',
      'ff02::1',
      '::ffff:127.0.0.1',
      '::ffff:7f00:1',
      '::ffff:10.0.0.1',
      '::ffff:169.254.169.254',
      '::127.0.0.1',
      '::7f00:1',
      '64:ff9b::7f00:1',
      '64:ff9b::a9fe:a9fe',
      '2002:7f00:1::1',
      '2001:0:4136:e378:8000:63bf:3fff:fdd2',
      '2001:db8::1',
      'fe80::1%eth0',
      'not an address',
    ]
    expect(inward.filter((a) => isPublicAddress(a))).toEqual([])
  })

  it('accepts public unicast addresses, and a public IPv4 address in its mapped IPv6 form', () => {
    const outward = [PUBLIC_IP, '8.8.8.8', '1.1.1.1', '2606:4700:4700::1111', '2a00:1450:4001:82a::200e', '::ffff:8.8.8.8', '64:ff9b::808:808']
    expect(outward.filter((a) => !isPublicAddress(a))).toEqual([])
  })
})

describe('outbound client', () => {
  let a: FakeHost
  let b: FakeHost
  let client: Outbound

  beforeAll(async () => {
    a = await fakeHost()
    b = await fakeHost()
    // Only `a` is reachable; `b` listens on loopback too, as an internal service would.
    client = createOutbound({ allowHosts: [a.hostPort] })
    a.on('GET', '/ok', () => new Response('hello'))
    a.on('GET', '/hang', async () => {
      await delay(10_000)
      return new Response('too late')
    })
    a.on('GET', '/big', () => new Response('x'.repeat(2 * 1024 * 1024)))
    a.on('GET', '/exact', () => new Response('y'.repeat(1000)))
    a.on('GET', '/endless', () => {
      const chunk = new Uint8Array(64 * 1024)
      return new Response(new ReadableStream({ pull: (c) => c.enqueue(chunk) }))
    })
    const redirect =
      (location: string, status = 302) =>
      () =>
        new Response(null, { status, headers: { location } })
    a.on('GET', '/to-loopback', redirect(`http://127.0.0.1:${b.port}/secret`))
    a.on('GET', '/to-localhost', redirect(`http://localhost:${b.port}/secret`, 307))
    a.on('GET', '/to-private', redirect('http://10.0.0.1/'))
    a.on('GET', '/to-metadata', redirect('http://169.254.169.254/latest/meta-data/'))
    a.on('GET', '/to-mapped', redirect(`http://[::ffff:7f00:1]:${b.port}/secret`))
    a.on('GET', '/to-file', redirect('file:///etc/passwd'))
    a.on('GET', '/to-gopher', redirect(`gopher://127.0.0.1:${b.port}/_INFO`))
    a.on('GET', '/to-garbage', redirect('http://[::1'))
    for (let n = 1; n <= 4; n++) a.on('GET', `/chain/${n}`, redirect(`/chain/${n - 1}`, 301))
    a.on('GET', '/chain/0', () => new Response('end of chain'))
    a.on('POST', '/see-other', redirect('/echo', 303))
    a.on('POST', '/temporary', redirect('/echo', 307))
    a.on('GET', '/echo', async ({ request }) =>
      Response.json({ method: request.method, body: await request.text(), auth: request.headers.get('authorization') }),
    )
    a.on('POST', '/echo', async ({ request }) =>
      Response.json({ method: request.method, body: await request.text(), auth: request.headers.get('authorization') }),
    )
    b.on('GET', '/secret', () => new Response('internal data'))
    b.on('GET', '/echo', ({ request }) => Response.json({ auth: request.headers.get('authorization') }))
  })
  afterAll(async () => {
    await client.close()
    await a.close()
    await b.close()
  })

  it('reaches an allow-listed host:port and returns status, headers and body', async () => {
    const res = await client.request(`${a.origin}/ok`)
    expect(res.status).toBe(200)
    expect(res.ok).toBe(true)
    expect(res.headers.get('content-type')).toMatch(/text\/plain/)
    expect(await res.text()).toBe('hello')
  })

  it('OUTBOUND_ALLOW_HOSTS lets exactly the listed host:port through: not another port, not another name for it', async () => {
    const hits = b.hits
    expect((await refusal(client.request(`http://127.0.0.1:${b.port}/secret`))).code).toBe('url_not_allowed')
    expect((await refusal(client.request(`http://localhost:${a.port}/ok`))).code).toBe('url_not_allowed')
    expect(b.hits).toBe(hits)
    const byName = createOutbound({ allowHosts: [`localhost:${b.port}`] })
    try {
      expect(await (await byName.request(`http://localhost:${b.port}/secret`)).text()).toBe('internal data')
      expect((await refusal(byName.request(`http://127.0.0.1:${b.port}/secret`))).code).toBe('url_not_allowed')
    } finally {
      await byName.close()
    }
  })

  it('refuses literal inward addresses in every spelling, before connecting', async () => {
    const hits = b.hits
    const urls = [
      `http://127.0.0.1:${b.port}/secret`,
      `http://[::ffff:127.0.0.1]:${b.port}/secret`,
      `http://[::ffff:7f00:1]:${b.port}/secret`,
      `http://[::7f00:1]:${b.port}/secret`,
      `http://0.0.0.0:${b.port}/secret`,
      `http://[::]:${b.port}/secret`,
      `http://2130706433:${b.port}/secret`,
      `http://0x7f.1:${b.port}/secret`,
      `http://[::1]:${b.port}/secret`,
      'http://169.254.169.254/latest/meta-data/',
      'http://[fd00:ec2::254]/latest/meta-data/',
      'http://100.64.0.1/',
      'http://[fd00::1]/',
      'http://10.0.0.1/',
      'http://[fe80::1]/',
      'http://224.0.0.1/',
      'http://255.255.255.255/',
      'http://[64:ff9b::7f00:1]/',
      'http://[2002:7f00:1::1]/',
    ]
    for (const url of urls) expect((await refusal(client.request(url))).code, url).toBe('url_not_allowed')
    expect(b.hits).toBe(hits)
  })

  it('refuses a name that resolves to loopback, over http and https alike', async () => {
    const hits = b.hits
    for (const url of [`http://localhost:${b.port}/secret`, `https://localhost:${b.port}/secret`, `https://127.0.0.1:${b.port}/secret`]) {
      const err = await refusal(client.request(url))
      expect(err.code, url).toBe('url_not_allowed')
    }
    expect(b.hits).toBe(hits)
  })

  it('refuses a name whose addresses mix public and private ones', async () => {
    const mixed = createOutbound({
      lookup: async () => [
        { address: PUBLIC_IP, family: 4 },
        { address: '127.0.0.1', family: 4 },
      ],
    })
    try {
      expect((await refusal(mixed.request(`http://two-faced.test:${b.port}/secret`))).code).toBe('url_not_allowed')
      expect((await refusal(mixed.checkUrl('http://two-faced.test/'))).code).toBe('url_not_allowed')
    } finally {
      await mixed.close()
    }
  })

  it('cannot be rebound: a name that answers public to the check and loopback afterwards never reaches loopback', async () => {
    let lookups = 0
    // `localhost` really is 127.0.0.1 here, where `b` listens: a client that checked one answer and then let the
    // system resolve the name again for the connection would reach it.
    const rebinding: Lookup = async () => [{ address: lookups++ === 0 ? PUBLIC_IP : '127.0.0.1', family: 4 }]
    const rebound = createOutbound({ lookup: rebinding, connectTimeoutMs: 300 })
    const hits = b.hits
    try {
      const first = await refusal(rebound.request(`http://localhost:${b.port}/secret`, { timeoutMs: 2_000 }))
      // Pinned to the public address it checked (unreachable from here): no second resolution, no loopback.
      expect(first.code).not.toBe('url_not_allowed')
      expect((await refusal(rebound.request(`http://localhost:${b.port}/secret`, { timeoutMs: 2_000 }))).code).toBe('url_not_allowed')
      expect(b.hits).toBe(hits)
    } finally {
      await rebound.close()
    }
  })

  it('connects to the address it checked, and keeps the URL’s name for TLS (SNI and certificate)', async () => {
    const seen: { hostname: string; servername?: string | undefined }[] = []
    let lookups = 0
    const connect = guardedConnector(
      (opts, callback) => {
        seen.push({ hostname: opts.hostname, servername: opts.servername })
        callback(new Error('stop here'), null)
      },
      {
        allow: new Set(),
        lookup: async () => {
          lookups++
          return [{ address: PUBLIC_IP, family: 4 }]
        },
      },
    )
    const error = await new Promise<Error | null>((resolve) =>
      connect({ hostname: 'api.example.test', host: 'api.example.test', protocol: 'https:', port: '' }, (...args) => resolve(args[0])),
    )
    expect(error?.message).toBe('stop here')
    expect(seen).toEqual([{ hostname: PUBLIC_IP, servername: 'api.example.test' }])
    expect(lookups).toBe(1)
    // A literal address is checked too (lookup is skipped for those), and never handed to the socket.
    const refused = await new Promise<Error | null>((resolve) =>
      connect({ hostname: '169.254.169.254', host: '169.254.169.254', protocol: 'http:', port: '' }, (...args) => resolve(args[0])),
    )
    expect(refused).toBeInstanceOf(OutboundError)
    expect(seen).toHaveLength(1)
  })

  it('traces a request: the addresses its name resolved to, the one it reached, and the TLS session', async () => {
    // Name resolution, with a stand-in socket layer: the first address does not answer, the second does.
    const trace = newTrace()
    const connect = guardedConnector(
      (opts, callback) =>
        opts.hostname === PUBLIC_IP ? callback(new Error('ECONNREFUSED'), null) : callback(null, { remoteAddress: opts.hostname } as unknown as Socket),
      { allow: new Set(), lookup: async () => [PUBLIC_IP, '1.1.1.1'].map((address) => ({ address, family: 4 })), trace },
    )
    await new Promise((resolve) => connect({ hostname: 'api.example.test', host: 'api.example.test', protocol: 'http:', port: '' }, () => resolve(null)))
    expect(trace).toEqual({ addresses: [PUBLIC_IP, '1.1.1.1'], remoteAddress: '1.1.1.1', tls: null })

    // A real TLS handshake with a certificate this connector trusts.
    const server = await selfSignedHttps('/O=Harbor & Pine/CN=127.0.0.1')
    const port = server.port
    try {
      const tlsTrace = newTrace()
      const tlsConnect = guardedConnector(buildConnector({ ca: server.cert }), { allow: new Set([`127.0.0.1:${port}`]), lookup: systemless, trace: tlsTrace })
      const socket = await new Promise<Socket | null>((resolve, reject) =>
        tlsConnect({ hostname: '127.0.0.1', host: `127.0.0.1:${port}`, protocol: 'https:', port: String(port) }, (err, s) =>
          err ? reject(err) : resolve(s as Socket),
        ),
      )
      socket?.destroy()
      expect(tlsTrace).toMatchObject({
        addresses: [],
        remoteAddress: '127.0.0.1',
        tls: { protocol: expect.stringMatching(/^TLSv1\.[23]$/), subject: 'O=Harbor & Pine, CN=127.0.0.1', issuer: 'O=Harbor & Pine, CN=127.0.0.1' },
      })
      expect(Date.parse(tlsTrace.tls?.validTo ?? '')).toBeGreaterThan(Date.now())
    } finally {
      await server.close()
    }

    // Through the client: a traced request records its own connection, plain http here.
    const viaClient = newTrace()
    expect(await (await client.request(`${a.origin}/ok`, { trace: viaClient })).text()).toBe('hello')
    expect(viaClient).toEqual({ addresses: [], remoteAddress: '127.0.0.1', tls: null })
  })

  it('follows up to 3 redirects and refuses a 4th', async () => {
    expect(await (await client.request(`${a.origin}/chain/3`)).text()).toBe('end of chain')
    const err = await refusal(client.request(`${a.origin}/chain/4`))
    expect(err.code).toBe('too_many_redirects')
  })

  it('checks every redirect hop: loopback, private, metadata, mapped IPv6, and non-http schemes are refused', async () => {
    const hits = b.hits
    for (const path of ['/to-loopback', '/to-localhost', '/to-private', '/to-metadata', '/to-mapped', '/to-file', '/to-gopher', '/to-garbage']) {
      const err = await refusal(client.request(`${a.origin}${path}`))
      expect(err.code, path).toBe('url_not_allowed')
      expect(err.message, path).toMatch(/^redirect refused/)
    }
    expect(b.hits).toBe(hits)
  })

  it('redirects like fetch: 303 turns a POST into a GET without its body, 307 keeps both', async () => {
    const seeOther = await client.request(`${a.origin}/see-other`, { method: 'POST', body: 'payload', headers: { 'content-type': 'text/plain' } })
    expect(await seeOther.json()).toEqual({ method: 'GET', body: '', auth: null })
    const temporary = await client.request(`${a.origin}/temporary`, { method: 'POST', body: 'payload', headers: { authorization: 'Bearer same-origin' } })
    expect(await temporary.json()).toEqual({ method: 'POST', body: 'payload', auth: 'Bearer same-origin' })
  })

  it('does not carry Authorization across origins on a redirect', async () => {
    const both = createOutbound({ allowHosts: [a.hostPort, b.hostPort] })
    a.on('GET', '/to-b', () => new Response(null, { status: 302, headers: { location: `${b.origin}/echo` } }))
    try {
      const res = await both.request(`${a.origin}/to-b`, { headers: { Authorization: 'Bearer sk-secret' } })
      expect(await res.json()).toEqual({ auth: null })
    } finally {
      await both.close()
    }
  })

  it('caps the response body: 1 MiB by default, or the size asked for', async () => {
    expect((await refusal(client.request(`${a.origin}/big`).then((r) => r.text()))).code).toBe('response_too_large')
    expect(await (await client.request(`${a.origin}/exact`, { maxBytes: 1000 })).text()).toHaveLength(1000)
    expect((await refusal(client.request(`${a.origin}/exact`, { maxBytes: 999 }).then((r) => r.text()))).code).toBe('response_too_large')
  })

  it('cuts a body that never ends at the cap, while streaming', async () => {
    const res = await client.request(`${a.origin}/endless`, { maxBytes: 256 * 1024 })
    const reader = res.body.getReader()
    let received = 0
    const err = await (async () => {
      for (;;) {
        const { value, done } = await reader.read()
        if (done) return undefined
        received += value.byteLength
      }
    })().catch((e: unknown) => e)
    expect(err).toBeInstanceOf(OutboundError)
    expect((err as OutboundError).code).toBe('response_too_large')
    expect(received).toBeLessThanOrEqual(256 * 1024)
  })

  it('times out the whole exchange', async () => {
    const err = await refusal(client.request(`${a.origin}/hang`, { timeoutMs: 200 }))
    expect(err.code).toBe('timeout')
  })

  it('passes the caller’s abort reason through', async () => {
    const controller = new AbortController()
    setTimeout(() => controller.abort(new Error('visitor left')), 100)
    await expect(client.request(`${a.origin}/hang`, { signal: controller.signal })).rejects.toThrow('visitor left')
  })

  it('checkUrl resolves the name and applies the same rules', async () => {
    const checker = createOutbound({
      allowHosts: ['fake.test:8080'],
      lookup: async (host) => {
        if (host === 'public.test') return [{ address: PUBLIC_IP, family: 4 }]
        if (host === 'inward.test') return [{ address: '10.1.2.3', family: 4 }]
        throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' })
      },
    })
    try {
      expect((await checker.checkUrl('https://public.test/v1')).hostname).toBe('public.test')
      expect((await checker.checkUrl('http://fake.test:8080/hook')).port).toBe('8080')
      const inward = await refusal(checker.checkUrl('https://inward.test/v1'))
      expect(inward).toMatchObject({ code: 'url_not_allowed', resolvedAddress: '10.1.2.3' })
      for (const url of ['not a url', 'ftp://public.test/', 'file:///etc/passwd', 'http://user:pw@public.test/', 'http://[::ffff:7f00:1]/']) {
        expect((await refusal(checker.checkUrl(url))).code, url).toBe('url_not_allowed')
      }
      expect((await refusal(checker.checkUrl('https://nowhere.test/'))).code).toBe('network')
      // Another port of the allow-listed name is not exempt: it is resolved and checked like any name.
      expect((await refusal(checker.checkUrl('http://fake.test:8081/'))).code).toBe('network')
    } finally {
      await checker.close()
    }
  })
})
