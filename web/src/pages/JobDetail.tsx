// One job: what it is (spec, secrets masked), what happened (state timeline with reasons,
// attempts, GPUs, exit code), why it waits and when it should start, its live log, and what one
// can do with it (cancel, requeue as a new job, launch again with edits).

import { useState, type ReactNode } from 'react';
import { errorText, type JobDetailView } from '../api.js';
import { LogView } from '../components/LogView.js';
import { StateBadge } from '../components/StateBadge.js';
import { duration, since, time } from '../format.js';
import { useNow, usePoll } from '../hooks.js';
import { navigate } from '../router.js';
import { useSession } from '../session.js';
import { hasSecrets, RELAUNCH_KEY, specToYaml, type SpecLike } from '../spec-yaml.js';

const TERMINAL = ['SUCCEEDED', 'FAILED', 'CANCELLED'];

export function JobDetailPage({ id }: { id: number }) {
  const { api, me } = useSession();
  const now = useNow();
  const job = usePoll(() => api.job(id), 2000, [api, id]);
  const [shownAttempt, setShownAttempt] = useState<number | null>(null);
  const [message, setMessage] = useState<{ text: string; error: boolean } | null>(null);
  const j = job.data;
  if (!j) return job.error ? <p className="error" role="alert">{job.error}</p> : <p className="loading" role="status">Loading job {id}…</p>;
  const redacted = j.spec.redacted === true;
  const spec = j.spec as SpecLike;
  const terminal = TERMINAL.includes(j.state);
  const mayAct = !redacted && me.role !== 'viewer';
  const attempt = shownAttempt ?? (j.attempt > 0 ? j.attempt : null);

  const cancel = async () => {
    try {
      const r = await api.cancel(j.id);
      setMessage({ text: r.message, error: false });
      job.reload();
    } catch (e) {
      setMessage({ text: errorText(e), error: true });
    }
  };
  const requeue = async () => {
    try {
      const r = await api.submit({ task: specToYaml(spec), fileName: `job-${j.id}.yaml` });
      if (r.id !== null) navigate(`/jobs/${r.id}`);
    } catch (e) {
      setMessage({ text: errorText(e), error: true });
    }
  };
  const relaunch = () => {
    sessionStorage.setItem(RELAUNCH_KEY, JSON.stringify({ from: j.id, task: specToYaml(spec) }));
    navigate(`/launch?from=${j.id}`);
  };

  return (
    <>
      <div className="title-row">
        <h1>
          Job #{j.id} {j.name && <span className="muted">{j.name}</span>}
        </h1>
        <StateBadge state={j.state} />
        <span className="spacer" />
        {mayAct && !terminal && (
          <button type="button" className="danger" onClick={() => void cancel()}>
            Cancel job
          </button>
        )}
        {mayAct && (
          <button type="button" onClick={() => void requeue()} disabled={hasSecrets(spec)} title={hasSecrets(spec) ? 'this task has secrets: use "Launch again with edits" to give their values' : 'submit the same task again as a new job'}>
            Requeue
          </button>
        )}
        {mayAct && (
          <button type="button" onClick={relaunch}>
            Launch again with edits
          </button>
        )}
      </div>
      {message && <p className={message.error ? 'error' : 'note'} role={message.error ? 'alert' : 'status'}>{message.text}</p>}
      {job.error && <p className="error" role="alert">{job.error}</p>}
      <div className="columns">
        <section aria-labelledby="summary-h">
          <h2 id="summary-h">Summary</h2>
          <Summary job={j} now={now} />
        </section>
        <section aria-labelledby="timeline-h">
          <h2 id="timeline-h">Timeline</h2>
          {redacted ? <p className="muted">{String(j.spec.message)}</p> : (
            <ol className="timeline">
              {j.events.map((e, i) => (
                <li key={i}>
                  <time dateTime={e.at}>{time(e.at)}</time> <StateBadge state={e.to} /> <span>{e.reason}</span>
                </li>
              ))}
            </ol>
          )}
          {j.attempts.length > 0 && <Attempts job={j} />}
        </section>
      </div>
      <section aria-labelledby="logs-h">
        <div className="title-row">
          <h2 id="logs-h">Output</h2>
          {j.attempts.length > 1 && (
            <label className="inline">
              Attempt{' '}
              <select value={attempt ?? ''} onChange={(e) => setShownAttempt(Number(e.target.value))}>
                {j.attempts.map((a) => <option key={a.attempt} value={a.attempt}>{a.attempt}</option>)}
              </select>
            </label>
          )}
        </div>
        {redacted ? <p className="muted">Only the job's owner, admins of its project and admins read its output.</p> : (
          <LogView key={`${j.id}-${attempt}`} jobId={j.id} attempt={attempt} live={!terminal && (attempt === null || attempt === j.attempt)} />
        )}
      </section>
      <section aria-labelledby="spec-h">
        <h2 id="spec-h">Task</h2>
        {redacted ? <p className="muted">{String(j.spec.message)}</p> : (
          <>
            <pre className="spec">{specToYaml(spec)}</pre>
            <details>
              <summary>Normalised spec (JSON)</summary>
              <pre className="spec">{JSON.stringify(j.spec, null, 2)}</pre>
            </details>
          </>
        )}
      </section>
    </>
  );
}

function Summary({ job: j, now }: { job: JobDetailView; now: number }) {
  const rows: Array<[string, ReactNode]> = [
    ['User', j.owner],
    ['Project', j.project ?? '—'],
    ['Resources', j.resources],
    ['Backend', j.backend ? `${j.backend}${j.node ? ` · ${j.node}` : ''}` : '—'],
    ['GPUs held', j.gpus.length ? j.gpus.join(', ') : '—'],
    ['Priority', `${j.priority}${j.priorityScore !== null ? ` (score ${j.priorityScore})` : ''}`],
    ['Submitted', time(j.submittedAt)],
    ['Started', j.startedAt ? `${time(j.startedAt)} (waited ${duration(Date.parse(j.startedAt) - Date.parse(j.submittedAt))})` : '—'],
    ['Ended', j.endedAt ? `${time(j.endedAt)} (ran ${duration(Date.parse(j.endedAt) - Date.parse(j.startedAt ?? j.submittedAt))})` : j.startedAt ? `running ${since(j.startedAt, now)}` : '—'],
    ['Exit code', j.exitCode !== null ? `${j.exitCode}${j.signal ? ` (${j.signal})` : ''}` : j.signal ?? '—'],
    ['Reason', j.reason ?? '—'],
    ['Max runtime', j.maxRuntimeSeconds ? duration(j.maxRuntimeSeconds * 1000) : 'none'],
  ];
  if (j.state === 'PENDING') {
    rows.push(['Why it waits', j.waitReason ?? 'not yet considered by the scheduler']);
    rows.push(['Estimated start', j.estimatedStartAt ? `${time(j.estimatedStartAt)} (in ${duration(Date.parse(j.estimatedStartAt) - now)})` : 'unknown']);
    rows.push(['Jobs ahead', j.queuePosition === null ? '—' : j.queuePosition === 0 ? 'none: first in line' : String(j.queuePosition)]);
    if (j.priorityFactors) {
      const f = j.priorityFactors;
      rows.push(['Priority factors', `fair share ${f.fairShare}, age ${f.age}, explicit ${f.explicit}, size ${f.size}`]);
    }
  }
  if (j.onBorrowedGpus) rows.push(['Preemptible', "yes: it runs beyond its project's guaranteed GPUs"]);
  return (
    <dl className="summary">
      {rows.map(([k, v]) => (
        <div key={k}>
          <dt>{k}</dt>
          <dd>{v}</dd>
        </div>
      ))}
    </dl>
  );
}

function Attempts({ job }: { job: JobDetailView }) {
  return (
    <table className="compact">
      <caption>Attempts</caption>
      <thead>
        <tr>
          <th scope="col">#</th>
          <th scope="col">Where</th>
          <th scope="col">GPUs</th>
          <th scope="col">Started</th>
          <th scope="col">Ended</th>
          <th scope="col">Exit</th>
        </tr>
      </thead>
      <tbody>
        {job.attempts.map((a) => (
          <tr key={a.attempt}>
            <td>{a.attempt}</td>
            <td>{a.backend}{a.node ? ` · ${a.node}` : ''}</td>
            <td>{a.gpus.join(', ') || '—'}</td>
            <td>{time(a.startedAt)}</td>
            <td>{time(a.endedAt)}</td>
            <td>{a.exitCode ?? a.signal ?? '—'}{a.endReason ? ` (${a.endReason})` : ''}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
