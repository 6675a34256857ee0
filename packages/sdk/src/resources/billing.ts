// /api/billing: the license's plan and Stripe subscription, and the Checkout and Customer Portal links that change it.
// The plan itself changes when Stripe confirms (its webhook), never on the redirect back.
import type { RequestOptions, Transport } from '../core.js'
import type {
  Billing as BillingInfo,
  BillingPlans,
  BillingReconciliation,
  BillingRedirect,
  CheckoutParams,
  Plans,
  PlatformFigures,
  ReconciliationListParams,
  ReconciliationRun,
  ResponseBody,
} from '../types.js'

export class Billing {
  readonly #t: Transport
  constructor(t: Transport) {
    this.#t = t
  }

  /** Plan, subscription status, period end, cancel-at-period-end, grace end and recent invoices. Needs `billing:read`. */
  get(options?: RequestOptions): Promise<BillingInfo> {
    return this.#t.request({ method: 'GET', path: '/api/billing', options })
  }

  /** Whether the server has billing on, and the plans for sale (public: no credentials needed). */
  plans(options?: RequestOptions): Promise<BillingPlans> {
    return this.#t.request({ method: 'GET', path: '/api/billing/plans', options })
  }

  /** Every plan on this server: quotas, request rates and features per tier, and the first tier with each feature (public). */
  catalog(options?: RequestOptions): Promise<Plans> {
    return this.#t.request({ method: 'GET', path: '/api/plans', options })
  }

  /** A Stripe Checkout URL for a paid plan (send the buyer there). Needs `billing:write`. */
  checkout(params: CheckoutParams, options?: RequestOptions): Promise<BillingRedirect> {
    return this.#t.request({ method: 'POST', path: '/api/billing/checkout', body: params, options })
  }

  /** A Stripe Customer Portal URL: card, plan change, cancellation, invoices. Needs `billing:write`. */
  portal(options?: RequestOptions): Promise<BillingRedirect> {
    return this.#t.request({ method: 'POST', path: '/api/billing/portal', options })
  }
}

/** Operators only (admin role): platform figures and the nightly Stripe reconciliation. */
export class Figures {
  readonly #t: Transport
  constructor(t: Transport) {
    this.#t = t
  }

  /** Active licenses, MRR and ARR per currency, new and churned per month (last 12), trial-to-paid. */
  get(options?: RequestOptions): Promise<PlatformFigures> {
    return this.#t.request({ method: 'GET', path: '/api/admin/figures', options })
  }

  /** Reconciliation runs with Stripe and what each repaired, newest first. */
  async reconciliations(params: ReconciliationListParams = {}, options?: RequestOptions): Promise<BillingReconciliation[]> {
    const res = await this.#t.request<ResponseBody<'listBillingReconciliations', 200>>({
      method: 'GET',
      path: '/api/admin/billing/reconciliations',
      query: { limit: params.limit },
      options,
    })
    return res.reconciliations
  }

  /** Runs a reconciliation with Stripe now, as a durable job; `reconciliations()` shows it once it ran. */
  reconcile(options?: RequestOptions): Promise<ReconciliationRun> {
    return this.#t.request({ method: 'POST', path: '/api/admin/billing/reconciliations', options })
  }
}
