// Team: who works on this license and in which role, pending invitations, and inviting someone (the accept link
// is shown once so the inviter can send it). Owners and admins manage; members see the team.
import type { CreatedTeamInvitation, Team, TeamMember, TeamRole } from '@intelagent/sdk'
import { useState } from 'preact/hooks'
import type { Me } from '../api.js'
import { api } from '../api.js'
import { ErrorNote, ShownOnce, useAction, useLoad } from '../components.js'
import { formatWhen } from '../format.js'

export const ROLE_LABELS: Record<TeamRole, string> = { owner: 'Owner', admin: 'Admin', member: 'Member' }

export function TeamPage({ me }: { me: Me }) {
  const team = useLoad(() => api.team.get(), [])
  const [created, setCreated] = useState<CreatedTeamInvitation | null>(null)
  const manage = me.teamRole === 'owner' || me.teamRole === 'admin'

  return (
    <>
      <h1>Team</h1>
      <p class="hint page-intro">
        Owners and admins invite people, manage the team, keys and billing. Members work with conversations, leads and settings but cannot manage keys or
        billing.
      </p>
      <ErrorNote error={team.error} />
      {team.data && (
        <p>
          <strong>
            {team.data.seats.used} of {team.data.seats.limit}
          </strong>{' '}
          seats used (pending invitations included).
        </p>
      )}
      {created && <NewInvitation invitation={created} onDone={() => setCreated(null)} />}
      {manage && team.data && (
        <InviteForm
          me={me}
          full={team.data.seats.used >= team.data.seats.limit}
          onInvited={(inv) => {
            setCreated(inv)
            team.reload()
          }}
        />
      )}
      {team.loading && !team.data && <p class="muted">Loading the team…</p>}
      {team.data && <Members me={me} team={team.data} onChanged={team.reload} />}
      {team.data && team.data.invitations.length > 0 && <Invitations manage={manage} team={team.data} onChanged={team.reload} />}
    </>
  )
}

function InviteForm({ me, full, onInvited }: { me: Me; full: boolean; onInvited: (inv: CreatedTeamInvitation) => void }) {
  const [email, setEmail] = useState('')
  const [role, setRole] = useState<'admin' | 'member'>('member')
  const { busy, error, run } = useAction()

  async function invite(e: Event) {
    e.preventDefault()
    const ok = await run(async () => onInvited(await api.team.invite({ email: email.trim(), role })))
    if (ok) setEmail('')
  }

  return (
    <section class="card" aria-labelledby="team-invite">
      <h2 id="team-invite">Invite someone</h2>
      {full && <p class="hint">Every seat of your plan is taken: withdraw an invitation or remove someone first, or upgrade.</p>}
      <form class="stack" onSubmit={invite}>
        <div class="row">
          <label for="invite-email">Email</label>
          <input id="invite-email" type="email" required autoComplete="off" value={email} onInput={(e) => setEmail(e.currentTarget.value)} />
        </div>
        <div class="row">
          <label for="invite-role">Role</label>
          <select id="invite-role" value={role} onChange={(e) => setRole(e.currentTarget.value as 'admin' | 'member')} aria-describedby="invite-role-hint">
            <option value="member">Member</option>
            {me.teamRole === 'owner' && <option value="admin">Admin</option>}
          </select>
          <p class="hint" id="invite-role-hint">
            {me.teamRole === 'owner' ? 'Admins can manage keys, billing and members.' : 'Only the owner can invite admins.'}
          </p>
        </div>
        <ErrorNote error={error} />
        <div class="actions">
          <button type="submit" disabled={busy}>
            {busy ? 'Inviting…' : 'Create invitation'}
          </button>
        </div>
      </form>
    </section>
  )
}

/** The accept link, shown once: it is not stored anywhere the dashboard can read it again. */
function NewInvitation({ invitation, onDone }: { invitation: CreatedTeamInvitation; onDone: () => void }) {
  return (
    <ShownOnce
      id="invite-created"
      title={<>Invitation for {invitation.email}</>}
      value={invitation.acceptUrl}
      copyLabel="Copy invitation link"
      doneLabel="Done"
      onDone={onDone}
      testId="accept-url"
    >
      Send this link to {invitation.email}. It works once, until {formatWhen(invitation.expiresAt)}. <strong>It is shown only now.</strong>
    </ShownOnce>
  )
}

function Members({ me, team, onChanged }: { me: Me; team: Team; onChanged: () => void }) {
  const { busy, error, run } = useAction()
  const canManage = (m: TeamMember) => m.id !== me.id && m.role !== 'owner' && (me.teamRole === 'owner' || (me.teamRole === 'admin' && m.role === 'member'))
  const remove = (m: TeamMember) => {
    if (!confirm(`Remove ${m.email} from the team? They are signed out everywhere at once.`)) return
    void run(() => api.team.removeMember(m.id)).then((ok) => ok && onChanged())
  }
  const changeRole = (m: TeamMember, role: 'admin' | 'member') => void run(() => api.team.updateMember(m.id, { role })).then((ok) => ok && onChanged())

  return (
    <section aria-labelledby="team-members">
      <h2 id="team-members">Members</h2>
      <ErrorNote error={error} />
      {/* biome-ignore lint/a11y/noNoninteractiveTabindex: a table that scrolls sideways on a phone must be reachable by keyboard to scroll it (axe scrollable-region-focusable) */}
      <section class="table-wrap" tabIndex={0} aria-label="Team members, scrollable table">
        <table>
          <caption class="visually-hidden">Team members</caption>
          <thead>
            <tr>
              <th scope="col">Email</th>
              <th scope="col">Name</th>
              <th scope="col">Role</th>
              <th scope="col">Joined</th>
              <th scope="col">Last seen</th>
              <th scope="col">
                <span class="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {team.members.map((m) => (
              <tr key={m.id}>
                <th scope="row">
                  {m.email}
                  {m.id === me.id && <span class="muted"> (you)</span>}
                </th>
                <td>{m.name ?? ''}</td>
                <td>
                  {me.teamRole === 'owner' && canManage(m) ? (
                    <select
                      aria-label={`Role of ${m.email}`}
                      value={m.role}
                      disabled={busy}
                      onChange={(e) => changeRole(m, e.currentTarget.value as 'admin' | 'member')}
                    >
                      <option value="member">Member</option>
                      <option value="admin">Admin</option>
                    </select>
                  ) : (
                    ROLE_LABELS[m.role]
                  )}
                </td>
                <td>{formatWhen(m.joinedAt)}</td>
                <td>{m.lastSeenAt ? formatWhen(m.lastSeenAt) : 'never'}</td>
                <td>
                  {canManage(m) && (
                    <button type="button" class="button-danger" onClick={() => remove(m)} disabled={busy} aria-label={`Remove ${m.email}`}>
                      Remove
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
    </section>
  )
}

function Invitations({ manage, team, onChanged }: { manage: boolean; team: Team; onChanged: () => void }) {
  const { busy, error, run } = useAction()
  const withdraw = (id: string, email: string) => {
    if (!confirm(`Withdraw the invitation for ${email}? The link stops working.`)) return
    void run(() => api.team.revokeInvitation(id)).then((ok) => ok && onChanged())
  }
  return (
    <section aria-labelledby="team-invitations">
      <h2 id="team-invitations">Pending invitations</h2>
      <ErrorNote error={error} />
      {/* biome-ignore lint/a11y/noNoninteractiveTabindex: a table that scrolls sideways on a phone must be reachable by keyboard to scroll it (axe scrollable-region-focusable) */}
      <section class="table-wrap" tabIndex={0} aria-label="Pending invitations, scrollable table">
        <table>
          <caption class="visually-hidden">Pending invitations, newest first</caption>
          <thead>
            <tr>
              <th scope="col">Email</th>
              <th scope="col">Role</th>
              <th scope="col">Invited by</th>
              <th scope="col">Expires</th>
              <th scope="col">
                <span class="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {team.invitations.map((i) => (
              <tr key={i.id}>
                <th scope="row">{i.email}</th>
                <td>{ROLE_LABELS[i.role]}</td>
                <td>{i.invitedBy ?? ''}</td>
                <td>{formatWhen(i.expiresAt)}</td>
                <td>
                  {manage && (
                    <button
                      type="button"
                      class="button-secondary"
                      onClick={() => withdraw(i.id, i.email)}
                      disabled={busy}
                      aria-label={`Withdraw the invitation for ${i.email}`}
                    >
                      Withdraw
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
    </section>
  )
}
