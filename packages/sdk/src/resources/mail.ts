// Operators only (admin role): the mail outbox — every message the server sent, kept or gave up on — and sending
// a buyer their license email again.
import type { RequestOptions, Transport } from '../core.js'
import { PagePromise } from '../pagination.js'
import type { MailListParams, MailMessage, ResponseBody } from '../types.js'

export class Mail {
  readonly #t: Transport
  constructor(t: Transport) {
    this.#t = t
  }

  /** Newest first, optionally for one license, one address (case-insensitive) or one status; `limit` 1–500 (default 100), one page. */
  list(params: MailListParams = {}, options?: RequestOptions): PagePromise<MailMessage> {
    return new PagePromise(async () => {
      const res = await this.#t.request<ResponseBody<'listMail', 200>>({
        method: 'GET',
        path: '/api/admin/mail',
        query: { license: params.licenseId, email: params.email, status: params.status, limit: params.limit },
        options,
      })
      return { data: res.mail, nextCursor: null }
    })
  }

  /** Queues the license email (key, products, register link) to the license's buyer again. */
  async resendLicense(licenseId: string, options?: RequestOptions): Promise<MailMessage> {
    const res = await this.#t.request<ResponseBody<'resendLicenseMail', 202>>({
      method: 'POST',
      path: `/api/admin/licenses/${encodeURIComponent(licenseId)}/resend-license`,
      options,
    })
    return res.mail
  }
}
