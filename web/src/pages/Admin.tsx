// Admin (a chunk of its own, loaded only when opened): users, tokens, projects with members,
// quotas, and usage by user or project over time. The server refuses every call of a non-admin
// (rule admin.admin-only); this page shows that refusal rather than hiding it.

import { useState, type FormEvent, type ReactNode } from 'react';
import { ApiError, errorText } from '../api.js';
import { time } from '../format.js';
import { usePoll } from '../hooks.js';
import { Link, useLocation } from '../router.js';
import { useSession } from '../session.js';
import { UsagePanel } from './UsagePanel.js';

const TABS: Array<[string, string]> = [['users', 'Users'], ['tokens', 'Tokens'], ['projects', 'Projects'], ['quotas', 'Quotas'], ['usage', 'Usage']];

export default function AdminPage() {
  const { api } = useSession();
  const { path } = useLocation();
  const tab = path.split('/')[2] || 'users';
  const users = usePoll(() => api.users(), 0, [api]);
  if (users.error && !users.data) {
    return (
      <section>
        <h1>Admin</h1>
        <p className="error refused" role="alert">Refused by the server: {users.error}</p>
      </section>
    );
  }
  return (
    <>
      <h1>Admin</h1>
      <nav className="tabs" aria-label="Admin sections">
        {TABS.map(([key, label]) => (
          <Link key={key} to={`/admin/${key}`} aria-current={tab === key ? 'page' : undefined}>{label}</Link>
        ))}
      </nav>
      {tab === 'users' && <Users reload={users.reload} list={users.data?.users ?? []} />}
      {tab === 'tokens' && <Tokens users={(users.data?.users ?? []).map((u) => u.name)} />}
      {tab === 'projects' && <Projects />}
      {tab === 'quotas' && <Quotas />}
      {tab === 'usage' && <UsagePanel />}
    </>
  );
}

function useAction(after: () => void) {
  const [message, setMessage] = useState<{ text: string; error: boolean } | null>(null);
  const run = async (work: () => Promise<string>) => {
    try {
      setMessage({ text: await work(), error: false });
      after();
    } catch (e) {
      setMessage({ text: e instanceof ApiError ? e.message : errorText(e), error: true });
    }
  };
  const view: ReactNode = message && <p className={message.error ? 'error' : 'note'} role={message.error ? 'alert' : 'status'}>{message.text}</p>;
  return { run, view };
}

function Users({ list, reload }: { list: Array<{ name: string; role: string; createdAt: string; unixUser: string | null; projects: Array<{ project: string; role: string }> }>; reload(): void }) {
  const { api } = useSession();
  const [name, setName] = useState('');
  const [role, setRole] = useState('member');
  const action = useAction(reload);
  const add = (e: FormEvent) => {
    e.preventDefault();
    void action.run(async () => {
      const r = await api.addUser(name, role);
      setName('');
      return `Added ${r.user.name}. Their token (shown only now): ${r.token}`;
    });
  };
  return (
    <section aria-labelledby="users-h">
      <h2 id="users-h">Users</h2>
      <form className="inline-form" onSubmit={add}>
        <label>Name <input value={name} onChange={(e) => setName(e.target.value)} required /></label>
        <label>Role <select value={role} onChange={(e) => setRole(e.target.value)}><option>member</option><option>viewer</option><option>admin</option></select></label>
        <button type="submit" className="primary">Add user</button>
      </form>
      {action.view}
      <table>
        <thead><tr><th scope="col">Name</th><th scope="col">Role</th><th scope="col">Projects</th><th scope="col">Runs as</th><th scope="col">Since</th><th scope="col"><span className="sr-only">Actions</span></th></tr></thead>
        <tbody>
          {list.map((u) => (
            <tr key={u.name}>
              <td>{u.name}</td>
              <td>{u.role}</td>
              <td>{u.projects.map((p) => `${p.project} (${p.role})`).join(', ') || '—'}</td>
              <td>{u.unixUser ?? '—'}</td>
              <td>{time(u.createdAt)}</td>
              <td><button type="button" className="danger" onClick={() => { if (confirm(`Remove user ${u.name} and revoke their tokens?`)) void action.run(async () => { await api.removeUser(u.name); return `Removed ${u.name}`; }); }}>Remove</button></td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

/** Revokes a token; the last active admin token only after the admin confirms the server's warning. */
async function revokeAsked(api: ReturnType<typeof useSession>['api'], id: number): Promise<void> {
  try {
    await api.revokeToken(id);
  } catch (e) {
    if (!(e instanceof ApiError && e.code === 'CONFLICT' && confirm(`${e.message}\n\nRevoke it anyway?`))) throw e;
    await api.revokeToken(id, true);
  }
}

function Tokens({ users }: { users: string[] }) {
  const { api, me } = useSession();
  const [user, setUser] = useState(me.name);
  const [label, setLabel] = useState('');
  const tokens = usePoll(() => api.tokens(user), 0, [api, user]);
  const action = useAction(tokens.reload);
  return (
    <section aria-labelledby="tokens-h">
      <h2 id="tokens-h">Tokens</h2>
      <form className="inline-form" onSubmit={(e) => { e.preventDefault(); void action.run(async () => { const r = await api.createToken(user, label); setLabel(''); return `New token for ${user} (shown only now): ${r.token}`; }); }}>
        <label>User <select value={user} onChange={(e) => setUser(e.target.value)}>{users.map((u) => <option key={u}>{u}</option>)}</select></label>
        <label>Label <input value={label} onChange={(e) => setLabel(e.target.value)} placeholder="laptop" /></label>
        <button type="submit" className="primary">Create token</button>
      </form>
      {action.view}
      {tokens.error && <p className="error" role="alert">{tokens.error}</p>}
      <table>
        <thead><tr><th scope="col">ID</th><th scope="col">Label</th><th scope="col">Created</th><th scope="col">Last used</th><th scope="col">Revoked</th><th scope="col"><span className="sr-only">Actions</span></th></tr></thead>
        <tbody>
          {(tokens.data?.tokens ?? []).map((t) => (
            <tr key={t.id}>
              <td>{t.id}</td><td>{t.label ?? '—'}</td><td>{time(t.createdAt)}</td><td>{time(t.lastUsedAt)}</td><td>{time(t.revokedAt)}</td>
              <td>{t.revokedAt === null && <button type="button" className="danger" onClick={() => void action.run(async () => { await revokeAsked(api, t.id); return `Revoked token ${t.id}`; })}>Revoke</button>}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function Projects() {
  const { api } = useSession();
  const projects = usePoll(() => api.projects(), 0, [api]);
  const [name, setName] = useState('');
  const [member, setMember] = useState({ project: '', user: '', role: 'member' });
  const action = useAction(projects.reload);
  return (
    <section aria-labelledby="projects-h">
      <h2 id="projects-h">Projects</h2>
      <form className="inline-form" onSubmit={(e) => { e.preventDefault(); void action.run(async () => { await api.addProject(name); setName(''); return `Added project ${name}`; }); }}>
        <label>Name <input value={name} onChange={(e) => setName(e.target.value)} required /></label>
        <button type="submit" className="primary">Add project</button>
      </form>
      <form className="inline-form" onSubmit={(e) => { e.preventDefault(); void action.run(async () => { await api.setMember(member.project, member.user, member.role); return `${member.user} is now ${member.role} of ${member.project}`; }); }}>
        <label>Project <select value={member.project} onChange={(e) => setMember({ ...member, project: e.target.value })} required><option value="">choose</option>{(projects.data?.projects ?? []).map((p) => <option key={p.name}>{p.name}</option>)}</select></label>
        <label>User <input value={member.user} onChange={(e) => setMember({ ...member, user: e.target.value })} required /></label>
        <label>Role <select value={member.role} onChange={(e) => setMember({ ...member, role: e.target.value })}><option>member</option><option>admin</option></select></label>
        <button type="submit">Set member</button>
      </form>
      {action.view}
      <table>
        <thead><tr><th scope="col">Project</th><th scope="col">Members</th><th scope="col">Created</th></tr></thead>
        <tbody>
          {(projects.data?.projects ?? []).map((p) => (
            <tr key={p.name}><td>{p.name}</td><td>{p.members.map((m) => `${m.user} (${m.role})`).join(', ') || '—'}</td><td>{time(p.createdAt)}</td></tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function Quotas() {
  const { api } = useSession();
  const quotas = usePoll(() => api.quotas(), 0, [api]);
  const [edit, setEdit] = useState({ project: '', guaranteed: '', maxGpus: '', maxQueued: '' });
  const action = useAction(quotas.reload);
  const save = (e: FormEvent) => {
    e.preventDefault();
    void action.run(async () => {
      const guaranteed = Object.fromEntries(edit.guaranteed.split(',').map((s) => s.trim()).filter(Boolean).map((s) => { const [k, v] = s.split(':'); return [k!.trim(), Number(v)]; }));
      await api.setQuota(edit.project, { guaranteed, maxGpus: edit.maxGpus ? Number(edit.maxGpus) : undefined, maxQueued: edit.maxQueued ? Number(edit.maxQueued) : undefined });
      return `Quota of ${edit.project} saved`;
    });
  };
  return (
    <section aria-labelledby="quotas-h">
      <h2 id="quotas-h">Quotas</h2>
      <form className="inline-form" onSubmit={save}>
        <label>Project <input value={edit.project} onChange={(e) => setEdit({ ...edit, project: e.target.value })} required /></label>
        <label>Guaranteed <input value={edit.guaranteed} onChange={(e) => setEdit({ ...edit, guaranteed: e.target.value })} placeholder="A100:2, H100:1" /></label>
        <label>Max GPUs <input type="number" min={0} value={edit.maxGpus} onChange={(e) => setEdit({ ...edit, maxGpus: e.target.value })} /></label>
        <label>Max queued <input type="number" min={0} value={edit.maxQueued} onChange={(e) => setEdit({ ...edit, maxQueued: e.target.value })} /></label>
        <button type="submit" className="primary">Save quota</button>
      </form>
      {action.view}
      <table>
        <thead><tr><th scope="col">Project</th><th scope="col">Guaranteed GPUs</th><th scope="col">Max GPUs</th><th scope="col">Max queued</th><th scope="col"><span className="sr-only">Actions</span></th></tr></thead>
        <tbody>
          {(quotas.data?.quotas ?? []).map((q) => (
            <tr key={q.project}>
              <td>{q.project}</td>
              <td>{Object.entries(q.guaranteed).map(([k, v]) => `${v} × ${k}`).join(', ') || '—'}</td>
              <td>{q.maxGpus ?? '—'}</td>
              <td>{q.maxQueued ?? '—'}</td>
              <td><button type="button" onClick={() => setEdit({ project: q.project, guaranteed: Object.entries(q.guaranteed).map(([k, v]) => `${k}:${v}`).join(', '), maxGpus: q.maxGpus?.toString() ?? '', maxQueued: q.maxQueued?.toString() ?? '' })}>Edit</button></td>
            </tr>
          ))}
        </tbody>
      </table>
      {quotas.data && quotas.data.quotas.length === 0 && <p className="muted">No project has a quota: every job shares the machine by fair share alone.</p>}
    </section>
  );
}
