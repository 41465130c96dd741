// Jobs: every job in a table, filtered, searched, sorted and paged on the server (PAGE rows at a
// time, so 10,000 jobs cost what 100 do). The filters live in the URL, so a view can be shared
// and the back button restores it.

import { useEffect, useState } from 'react';
import type { JobListQuery } from '../api.js';
import { StateBadge } from '../components/StateBadge.js';
import { time } from '../format.js';
import { usePoll } from '../hooks.js';
import { Link, navigate, useLocation } from '../router.js';
import { useSession } from '../session.js';

const PAGE = 100;
const STATES = ['PENDING', 'STARTING', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED'];
const SINCE: Array<[string, string, number]> = [['', 'any time', 0], ['1h', 'last hour', 3600], ['24h', 'last 24 hours', 86400], ['7d', 'last 7 days', 7 * 86400], ['30d', 'last 30 days', 30 * 86400]];
const COLUMNS: Array<[string, string]> = [['id', 'ID'], ['name', 'Name'], ['owner', 'User'], ['project', 'Project'], ['state', 'State'], ['', 'Resources'], ['', 'Backend'], ['submittedAt', 'Submitted'], ['', 'Wait / exit']];

/** The list request for the filters in the page's address (also used to prefetch it at start). */
export function listQueryOf(params: URLSearchParams): JobListQuery {
  const get = (k: string) => params.get(k) ?? '';
  const sinceSeconds = SINCE.find(([k]) => k === get('since'))?.[2] ?? 0;
  return {
    all: true, state: get('state') || undefined, user: get('user') || undefined, project: get('project') || undefined,
    backend: get('backend') || undefined, q: get('q') || undefined, sort: get('sort') || 'id', order: (get('order') || 'desc') as 'asc' | 'desc',
    offset: Math.max(0, Number(get('page') || 0)) * PAGE, limit: PAGE,
    since: sinceSeconds ? new Date(Date.now() - sinceSeconds * 1000).toISOString() : undefined,
  };
}

export function JobsPage() {
  const { api } = useSession();
  const { query } = useLocation();
  const get = (k: string) => query.get(k) ?? '';
  const [search, setSearch] = useState(get('q'));
  const info = usePoll(() => api.info(), 0, [api]);
  const set = (changes: Record<string, string>) => {
    const next = new URLSearchParams(location.search);
    for (const [k, v] of Object.entries(changes)) if (v) next.set(k, v); else next.delete(k);
    if (!('page' in changes)) next.delete('page');
    navigate(`/jobs${next.size ? '?' + next.toString() : ''}`, true);
  };
  useEffect(() => {
    const timer = setTimeout(() => { if (search !== get('q')) set({ q: search }); }, 250);
    return () => clearTimeout(timer);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [search]);
  const page = Math.max(0, Number(get('page') || 0));
  const sort = get('sort') || 'id';
  const order = (get('order') || 'desc') as 'asc' | 'desc';
  const listQuery = listQueryOf(query);
  const key = JSON.stringify({ ...listQuery, since: get('since') });
  const jobs = usePoll((s) => api.jobs(listQuery, s), 4000, [api, key]);
  const total = jobs.data?.total ?? 0;
  const sortBy = (column: string) => set({ sort: column, order: sort === column && order === 'desc' ? 'asc' : 'desc' });
  return (
    <>
      <h1>Jobs</h1>
      <form className="filters" role="search" onSubmit={(e) => e.preventDefault()}>
        <label>
          Name
          <input type="search" value={search} onChange={(e) => setSearch(e.target.value)} placeholder="search names" />
        </label>
        <label>
          State
          <select value={get('state')} onChange={(e) => set({ state: e.target.value })}>
            <option value="">all</option>
            <option value="PENDING,STARTING,RUNNING">active</option>
            {STATES.map((s) => <option key={s} value={s}>{s.toLowerCase()}</option>)}
          </select>
        </label>
        <label>
          User
          <input value={get('user')} onChange={(e) => set({ user: e.target.value.trim() })} placeholder="any" size={10} />
        </label>
        <label>
          Project
          <input value={get('project')} onChange={(e) => set({ project: e.target.value.trim() })} placeholder="any" size={10} />
        </label>
        <label>
          Backend
          <select value={get('backend')} onChange={(e) => set({ backend: e.target.value })}>
            <option value="">any</option>
            {(info.data?.backends ?? []).map((b) => <option key={b.name} value={b.name}>{b.name}</option>)}
          </select>
        </label>
        <label>
          Submitted
          <select value={get('since')} onChange={(e) => set({ since: e.target.value })}>
            {SINCE.map(([k, label]) => <option key={k} value={k}>{label}</option>)}
          </select>
        </label>
      </form>
      {jobs.error && <p className="error" role="alert">{jobs.error}</p>}
      <div className="table-wrap">
        <table className="jobs" aria-busy={jobs.data === null}>
          <thead>
            <tr>
              {COLUMNS.map(([column, label]) => (
                <th key={label} scope="col" aria-sort={column && column === sort ? (order === 'asc' ? 'ascending' : 'descending') : undefined}>
                  {column ? (
                    <button type="button" className="sort" onClick={() => sortBy(column)}>
                      {label} {column === sort ? (order === 'asc' ? '▲' : '▼') : ''}
                    </button>
                  ) : label}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {(jobs.data?.jobs ?? []).map((j) => (
              <tr key={j.id}>
                <td className="num"><Link to={`/jobs/${j.id}`}>#{j.id}</Link></td>
                <td className="name">{j.name ?? <span className="muted">(unnamed)</span>}</td>
                <td>{j.owner}</td>
                <td>{j.project ?? <span className="muted">—</span>}</td>
                <td><StateBadge state={j.state} /></td>
                <td>{j.resources}</td>
                <td>{j.backend ?? '—'}</td>
                <td>{time(j.submittedAt)}</td>
                <td className="why">{j.state === 'PENDING' ? (j.waitReason ?? '') : j.exitCode !== null ? `exit ${j.exitCode}` : (j.reason ?? '')}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {jobs.data && jobs.data.jobs.length === 0 && <p className="muted">No job matches.</p>}
      <nav className="pager" aria-label="Pages">
        <button type="button" disabled={page === 0} onClick={() => set({ page: String(page - 1) })}>Previous</button>
        <span aria-live="polite">
          {total === 0 ? '0 jobs' : `${page * PAGE + 1}–${Math.min(total, (page + 1) * PAGE)} of ${total.toLocaleString()}`}
        </span>
        <button type="button" disabled={(page + 1) * PAGE >= total} onClick={() => set({ page: String(page + 1) })}>Next</button>
      </nav>
    </>
  );
}
