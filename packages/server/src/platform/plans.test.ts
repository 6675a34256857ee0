import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ConfigError, loadConfig } from './config.js'
import { DEFAULT_PLANS, planOf } from './plans.js'
import { licenseLimit, tierWidgetStreams } from './ratelimit.js'

const load = (env: Record<string, string>) => loadConfig({ DATA_DIR: mkdtempSync(join(tmpdir(), 'intl-plans-')), ...env })

function refusal(env: Record<string, string>): string {
  try {
    load(env)
  } catch (err) {
    if (err instanceof ConfigError) return err.message
    throw err
  }
  throw new Error('configuration was accepted')
}

describe('plans', () => {
  it('are the defaults without PLANS', () => {
    expect(load({}).plans).toEqual(DEFAULT_PLANS)
  })

  it('PLANS is merged over the defaults, field by field', () => {
    const plans = load({
      PLANS: JSON.stringify({ starter: { quotas: { conversations: 42 }, rates: { apiPerMinute: 7 } }, enterprise: { features: { removeBranding: false } } }),
    }).plans
    expect(plans.starter.quotas.conversations).toBe(42)
    // Everything not named keeps its default.
    expect(plans.starter.quotas.messages).toBe(DEFAULT_PLANS.starter.quotas.messages)
    expect(plans.starter.rates.widgetPerMinute).toBe(DEFAULT_PLANS.starter.rates.widgetPerMinute)
    expect(plans.enterprise.features).toEqual({ ...DEFAULT_PLANS.enterprise.features, removeBranding: false })
    expect(plans.professional).toEqual(DEFAULT_PLANS.professional)
    // The defaults themselves are untouched by a merge.
    expect(DEFAULT_PLANS.starter.quotas.conversations).not.toBe(42)
  })

  it('the rate limiter reads the plan', () => {
    const plans = load({ PLANS: JSON.stringify({ business: { rates: { apiPerMinute: 11, widgetStreams: 3 } } }) }).plans
    expect(licenseLimit('LIC', 'business', 1, plans).limit).toBe(11)
    expect(licenseLimit('LIC', 'business', 0.5, plans).limit).toBe(5)
    expect(tierWidgetStreams('business', plans)).toBe(3)
    expect(planOf(plans, 'no-such-tier')).toBe(plans.starter)
  })

  it('bad PLANS refuses to start, naming the field', () => {
    expect(refusal({ PLANS: '{not json' })).toMatch(/PLANS: must be JSON/)
    expect(refusal({ PLANS: JSON.stringify({ starter: { quotas: { conversations: -1 } } }) })).toMatch(/PLANS: starter\.quotas\.conversations/)
    expect(refusal({ PLANS: JSON.stringify({ premium: { quotas: { conversations: 1 } } }) })).toMatch(/PLANS: .*"premium"/)
    expect(refusal({ PLANS: JSON.stringify({ starter: { quotas: { conversatons: 1 } } }) })).toMatch(/PLANS: starter\.quotas/)
    expect(refusal({ PLANS: JSON.stringify({ starter: { features: { aiEngines: 'yes' } } }) })).toMatch(/PLANS: starter\.features\.aiEngines/)
  })
})
