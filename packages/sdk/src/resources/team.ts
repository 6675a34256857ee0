// /api/team: the license's members and invitations, and accepting an invitation (which logs in, like register).
import type { RequestOptions, Transport } from '../core.js'
import type {
  AcceptInvitationParams,
  AuthResponse,
  CreatedTeamInvitation,
  InviteParams,
  Team as TeamData,
  UpdatedTeamMember,
  UpdateMemberParams,
} from '../types.js'

export class Team {
  readonly #t: Transport
  constructor(t: Transport) {
    this.#t = t
  }

  /** Members with their roles, pending invitations and the seats of the plan. */
  get(options?: RequestOptions): Promise<TeamData> {
    return this.#t.request({ method: 'GET', path: '/api/team', options })
  }

  /** Invites someone by email; `acceptUrl` in the result is the only time the link is returned. Full plan: ConflictError `seat_limit`. */
  invite(params: InviteParams, options?: RequestOptions): Promise<CreatedTeamInvitation> {
    return this.#t.request({ method: 'POST', path: '/api/team/invitations', body: { email: params.email, role: params.role ?? 'member' }, options })
  }

  /** Withdraws a pending invitation: its link stops working and its seat is free. */
  async revokeInvitation(id: string, options?: RequestOptions): Promise<void> {
    await this.#t.send({ method: 'DELETE', path: `/api/team/invitations/${encodeURIComponent(id)}`, options })
  }

  /** Accepts an invitation (no session needed) and logs in: later calls on this client use the new session. */
  async accept(params: AcceptInvitationParams, options?: RequestOptions): Promise<AuthResponse> {
    const body: AcceptInvitationParams = { token: params.token, password: params.password }
    if (params.name !== undefined) body.name = params.name
    const res = await this.#t.request<AuthResponse>({ method: 'POST', path: '/api/team/invitations/accept', body, bearer: null, options })
    this.#t.token = res.token
    return res
  }

  /** Changes a member's role (the owner only); it applies on the member's next request. */
  updateMember(id: string, params: UpdateMemberParams, options?: RequestOptions): Promise<UpdatedTeamMember> {
    return this.#t.request({ method: 'PATCH', path: `/api/team/members/${encodeURIComponent(id)}`, body: { role: params.role }, options })
  }

  /** Removes a member: their sessions and live streams end at once. */
  async removeMember(id: string, options?: RequestOptions): Promise<void> {
    await this.#t.send({ method: 'DELETE', path: `/api/team/members/${encodeURIComponent(id)}`, options })
  }
}
