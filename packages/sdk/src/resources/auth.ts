// /api/auth: register with a license key, log in, who am I, log out everywhere.
import type { RequestOptions, Transport } from '../core.js'
import type { AuthResponse, LoginParams, MeResponse, RegisterParams } from '../types.js'

export class Auth {
  readonly #t: Transport
  constructor(t: Transport) {
    this.#t = t
  }

  /** Creates the account for a license (single use) and logs in: later calls on this client use the new session. */
  async register(params: RegisterParams, options?: RequestOptions): Promise<AuthResponse> {
    const res = await this.#t.request<AuthResponse>({
      method: 'POST',
      path: '/api/auth/register',
      body: { email: params.email, password: params.password, license_key: params.licenseKey },
      bearer: null,
      options,
    })
    this.#t.token = res.token
    return res
  }

  /** Logs in: later calls on this client use the session token. */
  async login(params: LoginParams, options?: RequestOptions): Promise<AuthResponse> {
    const res = await this.#t.request<AuthResponse>({
      method: 'POST',
      path: '/api/auth/login',
      body: { email: params.email, password: params.password },
      bearer: null,
      options,
    })
    this.#t.token = res.token
    return res
  }

  me(options?: RequestOptions): Promise<MeResponse> {
    return this.#t.request({ method: 'GET', path: '/api/auth/me', options })
  }

  /** Revokes the session on every server at once and forgets it on this client. */
  async logout(options?: RequestOptions): Promise<{ loggedOut: true }> {
    const res = await this.#t.request<{ loggedOut: true }>({ method: 'POST', path: '/api/auth/logout', options })
    this.#t.token = undefined
    return res
  }
}
