// The operator CLI: migrate, issue a license by hand, create an operator account.
import { parseArgs } from 'node:util'
import { audit } from './audit/log.js'
import { hashPassword } from './auth/password.js'
import { issueLicense, publicLicense } from './licenses/queries.js'
import { ConfigError, loadConfig, TIERS, type Tier } from './platform/config.js'
import { closeDeps, createDeps } from './platform/deps.js'
import { migrateToLatest } from './platform/migrate.js'
import { isProduct, PRODUCTS, type Product } from './platform/products.js'

const USAGE = `Usage: intelagent <command> [options]

  migrate                                      run database migrations
  issue-license --email E --products P,P [--tier T] [--order-id ID]
                                               issue a license by hand (products: ${PRODUCTS.join(', ')})
  create-admin --email E --password P          create an operator account
`

export async function runCli(argv: string[], out: (s: string) => void = (s) => process.stdout.write(`${s}\n`)): Promise<number> {
  const [command, ...rest] = argv
  const { values } = parseArgs({
    args: rest,
    options: {
      email: { type: 'string' },
      products: { type: 'string' },
      tier: { type: 'string' },
      'order-id': { type: 'string' },
      password: { type: 'string' },
    },
    strict: true,
  })
  if (!command || !['migrate', 'issue-license', 'create-admin'].includes(command)) {
    out(USAGE)
    return command ? 2 : 0
  }
  const config = loadConfig()
  const deps = await createDeps(config, { migrate: false })
  try {
    if (command === 'migrate') {
      const applied = await migrateToLatest(deps.db)
      out(applied.length ? `Applied: ${applied.join(', ')}` : 'Database is up to date')
      return 0
    }
    if (command === 'issue-license') {
      const products = (values.products ?? '')
        .split(',')
        .map((p) => p.trim())
        .filter(Boolean)
      const tier = (values.tier ?? 'starter') as Tier
      if (!values.email || products.length === 0 || !products.every(isProduct) || !TIERS.includes(tier)) {
        out(`issue-license needs --email and --products from: ${PRODUCTS.join(', ')}; --tier from: ${TIERS.join(', ')}`)
        return 2
      }
      await migrateToLatest(deps.db)
      const { license, created } = await issueLicense(deps.db, {
        source: 'cli',
        orderId: values['order-id'] ?? null,
        email: values.email,
        products: products as Product[],
        tier,
        actor: 'cli',
      })
      out(JSON.stringify({ created, license: publicLicense(license) }, null, 2))
      return 0
    }
    if (!values.email || !values.password || values.password.length < 10) {
      out('create-admin needs --email and --password (at least 10 characters)')
      return 2
    }
    await migrateToLatest(deps.db)
    const user = await deps.db
      .insertInto('users')
      .values({ license_id: null, email: values.email, password_hash: await hashPassword(values.password, config.scryptLogN), role: 'admin' })
      .returning(['id', 'email'])
      .executeTakeFirstOrThrow()
    await audit(deps.db, { licenseId: null, actor: 'cli', action: 'admin.created', target: user.id })
    out(`Operator ${user.email} created`)
    return 0
  } finally {
    await closeDeps(deps)
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  runCli(process.argv.slice(2))
    .then((code) => process.exit(code))
    .catch((err) => {
      process.stderr.write(`${err instanceof ConfigError ? err.message : String(err?.stack ?? err)}\n`)
      process.exit(1)
    })
}
