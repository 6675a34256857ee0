// First-start demo data: a license with every product, and publishable keys for the /demo page.
import { activeKeyFor, createKey } from './keys/queries.js'
import { addKnowledge, DEMO_KNOWLEDGE, listKnowledge } from './knowledge/knowledge.js'
import { issueLicense } from './licenses/queries.js'
import type { Deps } from './platform/context.js'
import type { License } from './platform/db.js'
import type { Product } from './platform/products.js'

export interface Demo {
  license: License
  chatbotKey: string
  salesKey: string
}

async function publishableKey(deps: Deps, license: License, product: Product, origins: string[]): Promise<string> {
  const existing = await activeKeyFor(deps.db, license.id, product)
  if (existing?.plaintext) return existing.plaintext
  return (await createKey(deps.db, deps.config.keyPepper, license.id, product, origins)).key
}

export async function ensureDemo(deps: Deps): Promise<Demo> {
  const { license } = await issueLicense(deps.db, {
    source: 'demo',
    orderId: 'demo-1',
    email: 'demo@intelagent.local',
    products: ['chatbot', 'sales-agent', 'data-enrichment', 'setup-agent'],
    tier: 'professional',
  })
  const origins = [new URL(deps.config.publicUrl).origin]
  const chatbotKey = await publishableKey(deps, license, 'chatbot', origins)
  const salesKey = await publishableKey(deps, license, 'sales-agent', origins)
  for (const product of ['chatbot', 'sales-agent'] as const) {
    if ((await listKnowledge(deps.db, license.id, product)).length > 0) continue
    for (const item of DEMO_KNOWLEDGE) await addKnowledge(deps.db, license.id, product, item)
  }
  return { license, chatbotKey, salesKey }
}
