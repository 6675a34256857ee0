// /api/account: the signed-in person's password and sessions.
import type { RequestOptions, Transport } from '../core.js'
import type { AccountSession, ChangePasswordParams, ChangePasswordResponse, ResponseBody, RevokeOtherSessionsResponse } from '../types.js'

export class Account {
  readonly #t: Transport
  constructor(t: Transport) {
    this.#t = t
  }

  /** Changes the password (the current one is required); every other session ends, this one stays. */
  changePassword(params: ChangePasswordParams, options?: RequestOptions): Promise<ChangePasswordResponse> {
    return this.#t.request({
      method: 'POST',
      path: '/api/account/password',
      body: { currentPassword: params.currentPassword, newPassword: params.newPassword },
      options,
    })
  }

  /** Live sessions of the signed-in person, the current one first. */
  async sessions(options?: RequestOptions): Promise<AccountSession[]> {
    return (await this.#t.request<ResponseBody<'listSessions', 200>>({ method: 'GET', path: '/api/account/sessions', options })).sessions
  }

  /** Signs one session out (the current one too: that is logging out). */
  async revokeSession(id: string, options?: RequestOptions): Promise<void> {
    await this.#t.send({ method: 'DELETE', path: `/api/account/sessions/${encodeURIComponent(id)}`, options })
  }

  /** Signs out every other session of the signed-in person. */
  revokeOtherSessions(options?: RequestOptions): Promise<RevokeOtherSessionsResponse> {
    return this.#t.request({ method: 'POST', path: '/api/account/sessions/revoke-others', options })
  }
}
