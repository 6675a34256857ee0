#!/usr/bin/env node
// The operator CLI: migrate, issue a license by hand, create an operator account.
import { realpathSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { z } from 'zod'
import { hashPassword } from './account/password.js'
import { issueLicense, publicLicense } from './licenses/queries.js'
import { audit } from './platform/audit.js'
import { loadConfig, TIERS, type Tier } from './platform/config.js'
import type { Deps } from './platform/context.js'
import { isUniqueViolation } from './platform/db.js'
import { closeDeps, createDeps } from './platform/deps.js'
import { startupMessage } from './platform/lifecycle.js'
import { migrateToLatest } from './platform/migrate.js'
import { isProduct, PRODUCTS, type Product } from './platform/products.js'

const USAGE = `Usage: intelagent <command> [options]

  migrate                                      run database migrations
  issue-license --email E --products P,P [--tier T] [--order-id ID]
                                               issue a license by hand (products: ${PRODUCTS.join(', ')})
  create-admin --email E --password P          create an operator account
`

export interface CliOptions {
  /** Environment to configure from (default process.env). */
  env?: Record<string, string | undefined>
  /** Run against these dependencies instead of building (and closing) its own: tests and embedding. */
  deps?: Deps
}

export async function runCli(argv: string[], out: (s: string) => void = (s) => process.stdout.write(`${s}\n`), options: CliOptions = {}): Promise<number> {
  const [command, ...rest] = argv
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    out(USAGE)
    return 0
  }
  let values: { email?: string; products?: string; tier?: string; 'order-id'?: string; password?: string }
  try {
    values = parseArgs({
      args: rest,
      options: {
        email: { type: 'string' },
        products: { type: 'string' },
        tier: { type: 'string' },
        'order-id': { type: 'string' },
        password: { type: 'string' },
      },
      strict: true,
    }).values
  } catch (err) {
    // An unknown or incomplete option is a usage mistake, not a crash.
    out(`${(err as Error).message}\n\n${USAGE}`)
    return 2
  }
  const validEmail = (e: string | undefined): e is string => e !== undefined && z.email().safeParse(e).success
  if (!['migrate', 'issue-license', 'create-admin'].includes(command)) {
    out(`Unknown command: ${command}\n\n${USAGE}`)
    return 2
  }
  // Operator commands (migrations above all) may run longer than a request's query timeout allows.
  const deps = options.deps ?? (await createDeps(loadConfig(options.env ?? process.env), { migrate: false, db: { queryTimeoutMs: 0 } }))
  const config = deps.config
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
      if (!validEmail(values.email) || products.length === 0 || !products.every(isProduct) || !TIERS.includes(tier)) {
        out(`issue-license needs a valid --email and --products from: ${PRODUCTS.join(', ')}; --tier from: ${TIERS.join(', ')}`)
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
    if (!validEmail(values.email) || !values.password || values.password.length < 10) {
      out('create-admin needs a valid --email and --password (at least 10 characters)')
      return 2
    }
    await migrateToLatest(deps.db)
    const passwordHash = await hashPassword(values.password, config.scryptLogN)
    let user: { id: string; email: string }
    try {
      user = await deps.db
        .insertInto('users')
        .values({ license_id: null, email: values.email.trim(), password_hash: passwordHash, role: 'admin' })
        .returning(['id', 'email'])
        .executeTakeFirstOrThrow()
    } catch (err) {
      if (!isUniqueViolation(err)) throw err
      out(`An account with the email ${values.email} already exists`)
      return 1
    }
    await audit(deps.db, { licenseId: null, actor: 'cli', action: 'admin.created', target: user.id })
    out(`Operator ${user.email} created`)
    return 0
  } finally {
    if (!options.deps) await closeDeps(deps)
  }
}

// Run when executed directly, also through the npm `bin` symlink (argv[1] is the link, import.meta.url the target).
const invokedDirectly = process.argv[1] !== undefined && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)
if (invokedDirectly) {
  runCli(process.argv.slice(2))
    .then((code) => process.exit(code))
    .catch((err) => {
      process.stderr.write(`${startupMessage(err) ?? String(err?.stack ?? err)}\n`)
      process.exit(1)
    })
}
