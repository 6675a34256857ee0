#!/usr/bin/env node
// Intelagent from Node with @intelagent/sdk: log in (or register with a license key), configure the chatbot,
// print its embed code, then list the license's keys and latest conversations.
//
// ## Running it
//
//   pnpm --filter @intelagent/sdk build          # the example imports the built package
//   INTELAGENT_URL=http://localhost:3000 \
//   INTELAGENT_EMAIL=owner@example.com \
//   INTELAGENT_PASSWORD='a long password' \
//   INTELAGENT_LICENSE_KEY=INTL-XXXX-XXXX-XXXX \
//   node examples/sdk-node/index.mjs
//
// or with arguments: node index.mjs --url http://localhost:3000 --email … --password … --license INTL-…
//
// The first run registers the account (the license key is single use); later runs log in, and the
// license key may be left out. Optional: --origin https://shop.example.com restricts the chatbot key
// to that site; --greeting "…" sets the greeting. The session is revoked at the end (logout).
// Exit codes: 0 done, 1 an API error (its code and request id are printed), 2 missing input.
import { parseArgs } from 'node:util'
import { AuthenticationError, ConflictError, Intelagent, IntelagentError } from '@intelagent/sdk'

const { values: args } = parseArgs({
  options: {
    url: { type: 'string' },
    email: { type: 'string' },
    password: { type: 'string' },
    license: { type: 'string' },
    origin: { type: 'string', multiple: true },
    greeting: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
})

const config = {
  url: args.url ?? process.env.INTELAGENT_URL ?? 'http://localhost:3000',
  email: args.email ?? process.env.INTELAGENT_EMAIL,
  password: args.password ?? process.env.INTELAGENT_PASSWORD,
  licenseKey: args.license ?? process.env.INTELAGENT_LICENSE_KEY,
}

if (args.help || !config.email || !config.password) {
  console.error(
    'usage: node index.mjs --email you@example.com --password … [--license INTL-…] [--url http://localhost:3000] [--origin https://site] [--greeting …]',
  )
  console.error('       (or INTELAGENT_URL, INTELAGENT_EMAIL, INTELAGENT_PASSWORD, INTELAGENT_LICENSE_KEY)')
  process.exit(args.help ? 0 : 2)
}

const client = new Intelagent({ baseUrl: config.url })

/** Logs in; registers first when the account does not exist yet and a license key was given. */
async function signIn() {
  try {
    return await client.auth.login({ email: config.email, password: config.password })
  } catch (err) {
    if (!(err instanceof AuthenticationError) || !config.licenseKey) throw err
  }
  try {
    const registered = await client.auth.register({ email: config.email, password: config.password, licenseKey: config.licenseKey })
    console.log('Registered a new account for license %s', config.licenseKey)
    return registered
  } catch (err) {
    // Someone registered it already: the login failure above was a wrong password after all.
    if (err instanceof ConflictError) throw new Error('This license already has an account and the password is wrong')
    throw err
  }
}

async function main() {
  const { user } = await signIn()
  console.log('Signed in as %s (%s tier), products: %s', user.email, user.tier ?? 'no', user.products.join(', ') || 'none')

  if (!user.products.includes('chatbot')) {
    console.log('This license did not buy the chatbot; nothing to configure.')
  } else {
    const chatbot = await client.products.configure('chatbot', {
      // The API wants bare origins: "https://shop.example.com/" and "https://shop.example.com/x" both become "https://shop.example.com".
      ...(args.origin ? { allowedOrigins: args.origin.map((o) => o.replace(/^(https?:\/\/[^/?#]+).*$/i, '$1')) } : {}),
      ...(args.greeting ? { settings: { greeting: args.greeting } } : {}),
    })
    console.log('\nChatbot key %s (%s)', chatbot.key, chatbot.allowedOrigins.length ? `allowed on ${chatbot.allowedOrigins.join(', ')}` : 'allowed on any site')
    console.log('Greeting: %s', chatbot.settings.greeting)
    console.log('\nPaste this before </body>:\n\n  %s\n', chatbot.embedCode)
  }

  const keys = await client.keys.list()
  console.log('Keys:')
  console.table(
    keys.data.map((k) => ({
      product: k.product,
      key: k.key ?? `${k.start}…`,
      status: k.status,
      origins: k.allowedOrigins.join(' ') || '*',
      created: k.createdAt,
    })),
  )

  for (const product of ['chatbot', 'sales-agent'].filter((p) => user.products.includes(p))) {
    const page = await client.conversations.list(product, { limit: 5 })
    console.log('\nLatest %s conversations: %d%s', product, page.data.length, page.hasNextPage() ? ' (more exist)' : '')
    for (const c of page.data) {
      const last = c.lastMessage ? `${c.lastMessage.role}: ${c.lastMessage.text.slice(0, 60)}` : '(no messages)'
      console.log('  %s  %s  %d messages  %s', c.updatedAt, c.id, c.messageCount, last)
    }
  }

  await client.auth.logout()
}

main().catch((err) => {
  if (err instanceof IntelagentError) {
    console.error(
      'Intelagent API error %s%s: %s%s',
      err.code,
      err.status ? ` (${err.status})` : '',
      err.message,
      err.requestId ? ` [request ${err.requestId}]` : '',
    )
  } else console.error(err instanceof Error ? err.message : err)
  process.exit(1)
})
