// /api/auth: register with a license key, log in, who am I, log out everywhere, password reset and email change by email.
import type { RequestOptions, Transport } from '../core.js'
import type {
  AuthResponse,
  ChangeEmailParams,
  ConfirmEmailParams,
  ConfirmEmailResponse,
  EmailChangeResponse,
  LoginParams,
  LogoutResponse,
  MeResponse,
  PasswordResetRequestParams,
  PasswordResetRequestResponse,
  RegisterParams,
  ResetPasswordParams,
  ResetPasswordResponse,
} from '../types.js'

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
  async logout(options?: RequestOptions): Promise<LogoutResponse> {
    const res = await this.#t.request<LogoutResponse>({ method: 'POST', path: '/api/auth/logout', options })
    this.#t.token = undefined
    return res
  }

  /**
   * Emails a password-reset link to the address if an account has it. Always resolves the same way (202), so it
   * never tells whether an account exists; throttled per address and per IP.
   */
  requestPasswordReset(params: PasswordResetRequestParams, options?: RequestOptions): Promise<PasswordResetRequestResponse> {
    return this.#t.request({ method: 'POST', path: '/api/auth/password-reset', body: { email: params.email }, bearer: null, options })
  }

  /** Sets a new password with the token from the reset link (single use, one hour); every session of the account ends. */
  resetPassword(params: ResetPasswordParams, options?: RequestOptions): Promise<ResetPasswordResponse> {
    return this.#t.request({
      method: 'POST',
      path: '/api/auth/password-reset/confirm',
      body: { token: params.token, password: params.password },
      bearer: null,
      options,
    })
  }

  /** Asks to change the signed-in account's email: a confirmation link goes to the new address (the current password is required). */
  changeEmail(params: ChangeEmailParams, options?: RequestOptions): Promise<EmailChangeResponse> {
    return this.#t.request({ method: 'POST', path: '/api/auth/email', body: { newEmail: params.newEmail, password: params.password }, options })
  }

  /** Confirms a new email address with the token from the confirmation link. */
  confirmEmail(params: ConfirmEmailParams, options?: RequestOptions): Promise<ConfirmEmailResponse> {
    return this.#t.request({ method: 'POST', path: '/api/auth/email/confirm', body: { token: params.token }, bearer: null, options })
  }
}
