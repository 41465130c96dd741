// Overview: every GPU of every backend as a tile (idle ones plainly different), the queue length
// by project, and the caller's latest jobs. Polls every few seconds.

import type { GpuView, JobView } from '../api.js';
import { StateBadge } from '../components/StateBadge.js';
import { memory, since, time } from '../format.js';
import { useNow, usePoll } from '../hooks.js';
import { Link } from '../router.js';
import { useSession } from '../session.js';

const QUEUE_SAMPLE = 1000;

export function OverviewPage() {
  const { api, me } = useSession();
  const now = useNow();
  const gpus = usePoll(() => api.gpus(), 3000, [api]);
  const running = usePoll((s) => api.jobs({ state: 'STARTING,RUNNING', limit: 1000 }, s), 3000, [api]);
  const queue = usePoll((s) => api.jobs({ state: 'PENDING', limit: QUEUE_SAMPLE, offset: 0, sort: 'id', order: 'asc' }, s), 5000, [api]);
  const mine = usePoll((s) => (me.name ? api.jobs({ user: me.name, all: true, limit: 8 }, s) : Promise.resolve({ jobs: [] })), 3000, [api, me.name]);
  const holders = new Map((running.data?.jobs ?? []).map((j) => [j.id, j]));
  const list = gpus.data?.gpus ?? [];
  const idle = list.filter((g) => g.jobId === null && g.healthy && !g.drained && !g.engineAllocated).length;
  const groups = groupBy(list, (g) => `${g.backend} · ${g.node}`);
  return (
    <>
      <h1>Overview</h1>
      <section aria-labelledby="gpus-h">
        <h2 id="gpus-h">
          GPUs <span className="muted">{gpus.data ? `${idle} idle of ${list.length}` : ''}</span>
        </h2>
        {gpus.error && <p className="error" role="alert">{gpus.error}</p>}
        {gpus.data && list.length === 0 && <p className="muted">No GPUs: the configured backends offer none.</p>}
        {(gpus.data?.confinement ?? []).filter((c) => !c.enforced).map((c) => (
          <p key={`${c.backend}/${c.node}`} className="error" role="status">{`${c.backend} · ${c.node}: limits not enforced on this host: ${c.reason ?? 'unknown reason'}`}</p>
        ))}
        {[...groups].map(([group, items]) => (
          <div key={group} className="gpu-group">
            <h3>{group}</h3>
            <ul className="gpu-board">
              {items.map((g) => (
                <GpuTile key={`${g.backend}/${g.node}/${g.index}`} gpu={g} job={g.jobId === null ? undefined : holders.get(g.jobId)} now={now} />
              ))}
            </ul>
          </div>
        ))}
      </section>
      <div className="columns">
        <section aria-labelledby="queue-h">
          <h2 id="queue-h">Queue by project</h2>
          <QueueTable jobs={queue.data?.jobs ?? []} total={queue.data?.total ?? 0} />
        </section>
        <section aria-labelledby="mine-h">
          <h2 id="mine-h">My latest jobs</h2>
          {mine.data && mine.data.jobs.length === 0 && <p className="muted">You have no jobs yet. <Link to="/launch">Launch one</Link>.</p>}
          <ul className="job-list">
            {(mine.data?.jobs ?? []).map((j) => (
              <li key={j.id}>
                <Link to={`/jobs/${j.id}`}>
                  #{j.id} {j.name ?? '(unnamed)'}
                </Link>{' '}
                <StateBadge state={j.state} /> <span className="muted">{j.resources} · {time(j.submittedAt)}</span>
              </li>
            ))}
          </ul>
        </section>
      </div>
    </>
  );
}

function GpuTile({ gpu, job, now }: { gpu: GpuView; job: JobView | undefined; now: number }) {
  // Slurm places its own jobs: its GPUs show the node's Slurm state instead of a holder.
  const status = !gpu.healthy || gpu.drained ? 'unhealthy' : gpu.jobId !== null ? 'busy' : gpu.engineAllocated ? 'engine' : 'idle';
  return (
    <li className={`gpu-tile ${status}`} aria-label={`GPU ${gpu.index} ${gpu.model}: ${status}`}>
      <div className="gpu-head">
        <span className="gpu-index">#{gpu.index}</span>
        <span className="gpu-model">{gpu.model}</span>
        <span className="gpu-mem">{memory(gpu.memoryMb)}</span>
      </div>
      {status === 'idle' && <div className="gpu-status">Idle</div>}
      {status === 'unhealthy' && <div className="gpu-status">{gpu.drained ? `Drained: ${gpu.drained}` : 'Unhealthy'}</div>}
      {status === 'engine' && <div className="gpu-status muted">Slurm node {gpu.nodeState ?? ''}</div>}
      {status === 'busy' && (
        <div className="gpu-holder">
          <Link to={`/jobs/${gpu.jobId}`}>
            #{gpu.jobId} {gpu.jobName ?? ''}
          </Link>
          <div>
            {gpu.owner}
            {job?.project ? <span className="muted"> · {job.project}</span> : null}
          </div>
          <div className="muted">running {job?.startedAt ? since(job.startedAt, now) : 'starting'}</div>
        </div>
      )}
    </li>
  );
}

function QueueTable({ jobs, total }: { jobs: JobView[]; total: number }) {
  const byProject = [...groupBy(jobs, (j) => j.project ?? '(no project)')].sort((a, b) => b[1].length - a[1].length);
  if (total === 0) return <p className="muted">Nothing is waiting.</p>;
  return (
    <table className="compact">
      <caption className="muted">
        {total} pending job{total === 1 ? '' : 's'}
        {total > jobs.length ? ` (counted over the ${jobs.length} oldest)` : ''}
      </caption>
      <thead>
        <tr>
          <th scope="col">Project</th>
          <th scope="col" className="num">Pending</th>
          <th scope="col">Oldest waits</th>
        </tr>
      </thead>
      <tbody>
        {byProject.map(([project, items]) => (
          <tr key={project}>
            <td>{project}</td>
            <td className="num">{items.length}</td>
            <td>{since(items[0]?.submittedAt ?? null)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const list = groups.get(k);
    if (list) list.push(item);
    else groups.set(k, [item]);
  }
  return groups;
}
