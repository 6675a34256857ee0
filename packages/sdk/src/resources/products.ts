// /api/products: configure a product, its keys (list, rotate, revoke, allowed origins), settings and secrets.
import type { RequestOptions, Transport } from '../core.js'
import { PagePromise } from '../pagination.js'
import type {
  ConfigureParams,
  ConfigureResponse,
  EngineTestParams,
  EngineTestResult,
  GeneratedSecret,
  Product,
  ProductKey,
  ProductSettings,
  ResponseBody,
  RotateParams,
  RotateResponse,
  SecretName,
  SecretProduct,
  SecretResponse,
  SettingsPatch,
  SettingsResponse,
  StoredSecret,
  WidgetProduct,
} from '../types.js'

const seg = encodeURIComponent

export class Products {
  readonly #t: Transport
  constructor(t: Transport) {
    this.#t = t
  }

  /**
   * Issues the product's key (or returns the active publishable key) and applies settings and allowed origins.
   * Secret keys (data-enrichment, setup-agent) are new on every call and shown only in this response.
   */
  configure(product: Product, params: ConfigureParams = {}, options?: RequestOptions): Promise<ConfigureResponse> {
    return this.#t.request({ method: 'POST', path: `/api/products/${seg(product)}/configure`, body: params, options })
  }
}

export class Keys {
  readonly #t: Transport
  constructor(t: Transport) {
    this.#t = t
  }

  /** Every key of the license, newest first (one page). */
  list(options?: RequestOptions): PagePromise<ProductKey> {
    return new PagePromise(async () => {
      const res = await this.#t.request<ResponseBody<'listProductKeys', 200>>({ method: 'GET', path: '/api/products/keys', options })
      return { data: res.keys, nextCursor: null }
    })
  }

  /** A new key for the same product; the old one keeps working for `gracePeriodSeconds` (default one day). */
  rotate(id: string, params: RotateParams = {}, options?: RequestOptions): Promise<RotateResponse> {
    return this.#t.request({ method: 'POST', path: `/api/products/keys/${seg(id)}/rotate`, body: params, options })
  }

  /** Stops the key on every server within a second. */
  revoke(id: string, options?: RequestOptions): Promise<ProductKey> {
    return this.#t.request({ method: 'POST', path: `/api/products/keys/${seg(id)}/revoke`, options })
  }

  /** Replaces a publishable key's allowed origins (`[]` allows any origin). */
  setOrigins(id: string, allowedOrigins: string[], options?: RequestOptions): Promise<ProductKey> {
    return this.#t.request({ method: 'PUT', path: `/api/products/keys/${seg(id)}/origins`, body: { allowedOrigins }, options })
  }
}

export class Settings {
  readonly #t: Transport
  constructor(t: Transport) {
    this.#t = t
  }

  async get(product: Product, options?: RequestOptions): Promise<ProductSettings> {
    const res = await this.#t.request<SettingsResponse>({ method: 'GET', path: `/api/products/${seg(product)}/settings`, options })
    return res.settings
  }

  /** Changes only the fields given; resolves with the full settings after the change. */
  async update(product: Product, patch: SettingsPatch, options?: RequestOptions): Promise<ProductSettings> {
    const res = await this.#t.request<SettingsResponse>({ method: 'PATCH', path: `/api/products/${seg(product)}/settings`, body: patch, options })
    return res.settings
  }

  /**
   * Sends one sample visitor message to the product's reply engine and reports what happened. Without `params` the
   * saved engine is tested; with engine settings in them, those are tested instead (nothing is saved). A failed
   * test resolves too, with `ok: false` and `error.code` naming the step that failed.
   */
  testEngine(product: WidgetProduct, params?: EngineTestParams, options?: RequestOptions): Promise<EngineTestResult> {
    return this.#t.request<EngineTestResult>({ method: 'POST', path: `/api/products/${seg(product)}/engine/test`, body: params ?? {}, options })
  }
}

export class Secrets {
  readonly #t: Transport
  constructor(t: Transport) {
    this.#t = t
  }

  /** Which integration secrets are stored for the product, as hints only. */
  async list(product: SecretProduct, options?: RequestOptions): Promise<StoredSecret[]> {
    const res = await this.#t.request<ResponseBody<'listSecrets', 200>>({ method: 'GET', path: `/api/products/${seg(product)}/secrets`, options })
    return res.secrets
  }

  /** Stores an integration secret encrypted; only a hint of it ever comes back. */
  set(product: SecretProduct, name: SecretName, value: string, options?: RequestOptions): Promise<SecretResponse> {
    return this.#t.request({ method: 'PUT', path: `/api/products/${seg(product)}/secrets/${seg(name)}`, body: { value }, options })
  }

  /**
   * Generates a new identity secret (the old one stops working at once) and returns it this once; it signs
   * user ids for the widget's `identify` (`userHash` = hex HMAC-SHA256(secret, userId)).
   */
  rotateIdentitySecret(product: WidgetProduct, options?: RequestOptions): Promise<GeneratedSecret> {
    return this.#t.request({ method: 'POST', path: `/api/products/${seg(product)}/secrets/identity_secret/rotate`, options })
  }
}
