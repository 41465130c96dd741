// Launch: a task from a form (GPU type and count from what the backends have, command, envs), or
// a task file pasted or uploaded. "Check" is a dry run; "Launch" submits. The server's validation
// problems ({field, line, message}) are shown on the form field or the file line they concern.

import { useMemo, useState, type FormEvent, type ReactNode } from 'react';
import { ApiError, errorText, type SubmitResponse } from '../api.js';
import { usePoll } from '../hooks.js';
import { navigate, useLocation } from '../router.js';
import { useSession } from '../session.js';
import { RELAUNCH_KEY } from '../spec-yaml.js';
import { fieldOfIssue, formToYaml, type FormState } from './launch-form.js';

export interface Issue {
  field: string;
  message: string;
  line?: number;
  col?: number;
}

const EMPTY_FORM: FormState = { name: '', project: '', gpuType: '', gpuCount: 1, run: '', setup: '', envs: [{ key: '', value: '' }], maxRuntime: '' };

export function LaunchPage() {
  const { api, me } = useSession();
  const { query } = useLocation();
  const relaunch = useMemo(() => {
    const saved = sessionStorage.getItem(RELAUNCH_KEY);
    const parsed = saved ? (JSON.parse(saved) as { from: number; task: string }) : null;
    return parsed && String(parsed.from) === query.get('from') ? parsed : null;
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);
  const [mode, setMode] = useState<'form' | 'file'>(relaunch ? 'file' : 'form');
  const [form, setForm] = useState<FormState>(EMPTY_FORM);
  const [text, setText] = useState(relaunch?.task ?? '');
  const [issues, setIssues] = useState<Issue[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [checked, setChecked] = useState<SubmitResponse | null>(null);
  const [busy, setBusy] = useState(false);
  const gpus = usePoll(() => api.gpus(), 0, [api]);
  const types = useMemo(() => {
    const perNode = new Map<string, { model: string; nodes: Map<string, number> }>();
    for (const g of gpus.data?.gpus ?? []) {
      const entry = perNode.get(g.name) ?? { model: g.model, nodes: new Map<string, number>() };
      entry.nodes.set(`${g.backend}/${g.node}`, (entry.nodes.get(`${g.backend}/${g.node}`) ?? 0) + 1);
      perNode.set(g.name, entry);
    }
    return [...perNode].map(([name, { model, nodes }]) => ({ name, model, max: Math.max(...nodes.values()) }));
  }, [gpus.data]);

  const task = mode === 'form' ? formToYaml(form) : text;
  const send = async (dryRun: boolean) => {
    setBusy(true);
    setIssues([]);
    setError(null);
    setChecked(null);
    try {
      const result = await api.submit({ task, fileName: mode === 'file' ? 'task.yaml' : 'form.yaml', dryRun });
      if (dryRun) {
        setChecked(result);
        setIssues(result.verdict.problems);
      } else if (result.id !== null) {
        sessionStorage.removeItem(RELAUNCH_KEY);
        navigate(`/jobs/${result.id}`);
      }
    } catch (e) {
      setError(errorText(e));
      if (e instanceof ApiError) setIssues(issuesOf(e));
    } finally {
      setBusy(false);
    }
  };
  const submit = (e: FormEvent) => {
    e.preventDefault();
    void send(false);
  };
  const upload = async (file: File | undefined) => {
    if (!file) return;
    setText(await file.text());
    setMode('file');
  };

  const formIssues = (field: keyof FormState | 'general') => issues.filter((i) => fieldOfIssue(i.field) === field);
  return (
    <>
      <h1>Launch a job</h1>
      {relaunch && <p className="note">Launching again from job #{relaunch.from}: edit the task and launch. Secret values and the uploaded workdir are not copied.</p>}
      <div className="tabs" role="tablist" aria-label="How to describe the task">
        <button type="button" role="tab" id="tab-form" aria-controls="launch-panel" aria-selected={mode === 'form'} onClick={() => setMode('form')}>Form</button>
        <button type="button" role="tab" id="tab-file" aria-controls="launch-panel" aria-selected={mode === 'file'} onClick={() => { if (mode === 'form' && !text) setText(formToYaml(form)); setMode('file'); }}>Task file (YAML)</button>
      </div>
      <form onSubmit={submit} className="launch" noValidate id="launch-panel" role="tabpanel" aria-labelledby={mode === 'form' ? 'tab-form' : 'tab-file'}>
        {mode === 'form' ? (
          <FormFields form={form} setForm={setForm} types={types} projects={me.projects.map((p) => p.project)} issuesOf={formIssues} />
        ) : (
          <FileField text={text} setText={setText} issues={issues} upload={upload} />
        )}
        {mode === 'form' && formIssues('general').length > 0 && <IssueList issues={formIssues('general')} />}
        {error && <p className="error" role="alert" id="launch-error">{error}</p>}
        {checked && checked.verdict.ok && <p className="note" role="status">{checked.verdict.summary}</p>}
        <div className="actions">
          <button type="button" onClick={() => void send(true)} disabled={busy}>Check</button>
          <button type="submit" className="primary" disabled={busy}>Launch</button>
        </div>
      </form>
    </>
  );
}

function issuesOf(e: ApiError): Issue[] {
  const list = (e.details.issues ?? e.details.problems) as Issue[] | undefined;
  if (Array.isArray(list)) return list;
  if (typeof e.details.field === 'string') return [{ field: e.details.field, message: e.message }];
  return [];
}

function IssueList({ issues, onPick }: { issues: Issue[]; onPick?: (issue: Issue) => void }) {
  return (
    <ul className="issues" aria-label="Problems">
      {issues.map((i, k) => (
        <li key={k}>
          {i.line !== undefined && onPick ? (
            <button type="button" className="link" onClick={() => onPick(i)}>line {i.line}</button>
          ) : i.line !== undefined ? `line ${i.line}` : null}{' '}
          <code>{i.field}</code>: {i.message}
        </li>
      ))}
    </ul>
  );
}

function FileField({ text, setText, issues, upload }: { text: string; setText(t: string): void; issues: Issue[]; upload(f: File | undefined): void }) {
  const bad = new Set(issues.map((i) => i.line).filter((l) => l !== undefined));
  const lines = Math.max(12, text.split('\n').length);
  const pick = (issue: Issue) => {
    const area = document.getElementById('task-text') as HTMLTextAreaElement | null;
    if (!area || issue.line === undefined) return;
    const at = text.split('\n').slice(0, issue.line - 1).join('\n').length + (issue.line > 1 ? 1 : 0);
    area.focus();
    area.setSelectionRange(at, at + (text.split('\n')[issue.line - 1]?.length ?? 0));
  };
  return (
    <>
      <div className="field">
        <label htmlFor="task-file">Upload a task file</label>
        <input id="task-file" type="file" accept=".yaml,.yml,text/yaml,text/plain" onChange={(e) => upload(e.target.files?.[0])} />
      </div>
      <div className="field">
        <label htmlFor="task-text">Task file (SkyPilot YAML with stint keys)</label>
        <div className="editor">
          <div className="gutter" aria-hidden="true">
            {Array.from({ length: lines }, (_, i) => <div key={i} className={bad.has(i + 1) ? 'bad' : undefined}>{i + 1}</div>)}
          </div>
          <textarea id="task-text" spellCheck={false} rows={lines} value={text} onChange={(e) => setText(e.target.value)} aria-invalid={issues.length > 0} aria-describedby={issues.length ? 'task-issues' : undefined} />
        </div>
      </div>
      {issues.length > 0 && <div id="task-issues"><IssueList issues={issues} onPick={pick} /></div>}
    </>
  );
}

interface FormFieldsProps {
  form: FormState;
  setForm(f: FormState): void;
  types: Array<{ name: string; model: string; max: number }>;
  projects: string[];
  issuesOf(field: keyof FormState): Issue[];
}

function FormFields({ form, setForm, types, projects, issuesOf }: FormFieldsProps) {
  const set = <K extends keyof FormState>(k: K, v: FormState[K]) => setForm({ ...form, [k]: v });
  const max = types.find((t) => t.name === form.gpuType)?.max ?? 8;
  const field = (key: keyof FormState, label: string, input: (props: { id: string; 'aria-invalid': boolean; 'aria-describedby'?: string }) => ReactNode, hint?: string) => {
    const problems = issuesOf(key);
    const id = `f-${key}`;
    return (
      <div className={`field${problems.length ? ' invalid' : ''}`}>
        <label htmlFor={id}>{label}</label>
        {input({ id, 'aria-invalid': problems.length > 0, 'aria-describedby': problems.length ? `${id}-err` : undefined })}
        {hint && !problems.length && <span className="hint">{hint}</span>}
        {problems.length > 0 && <span className="field-error" id={`${id}-err`} role="alert">{problems.map((p) => p.message).join('; ')}</span>}
      </div>
    );
  };
  return (
    <div className="form-grid">
      {field('name', 'Name', (p) => <input {...p} value={form.name} onChange={(e) => set('name', e.target.value)} placeholder="train-resnet" />)}
      {field('project', 'Project', (p) => (
        <>
          <input {...p} list="projects" value={form.project} onChange={(e) => set('project', e.target.value)} placeholder="none" />
          <datalist id="projects">{projects.map((x) => <option key={x} value={x} />)}</datalist>
        </>
      ))}
      {field('gpuType', 'GPU type', (p) => (
        <select {...p} value={form.gpuType} onChange={(e) => set('gpuType', e.target.value)}>
          <option value="">no GPU (CPU only)</option>
          {types.map((t) => <option key={t.name} value={t.name}>{t.name}{t.model !== t.name ? ` (${t.model})` : ''}, up to {t.max} per machine</option>)}
        </select>
      ))}
      {field('gpuCount', 'GPU count', (p) => (
        <input {...p} type="number" min={1} max={max} value={form.gpuCount} disabled={!form.gpuType} onChange={(e) => set('gpuCount', Number(e.target.value))} />
      ))}
      {field('maxRuntime', 'Max runtime', (p) => <input {...p} value={form.maxRuntime} onChange={(e) => set('maxRuntime', e.target.value)} placeholder="e.g. 2h, 30m (none)" />)}
      <div className="wide">
        {field('setup', 'Setup (optional, runs before the command)', (p) => <textarea {...p} rows={2} spellCheck={false} value={form.setup} onChange={(e) => set('setup', e.target.value)} />)}
      </div>
      <div className="wide">
        {field('run', 'Command', (p) => <textarea {...p} rows={4} spellCheck={false} value={form.run} onChange={(e) => set('run', e.target.value)} placeholder="python train.py" />)}
      </div>
      <fieldset className="wide envs">
        <legend>Environment variables</legend>
        {form.envs.map((env, i) => (
          <div key={i} className="env-row">
            <label>
              <span className="sr-only">Name of variable {i + 1}</span>
              <input placeholder="NAME" value={env.key} onChange={(e) => set('envs', form.envs.map((x, k) => (k === i ? { ...x, key: e.target.value } : x)))} />
            </label>
            <label>
              <span className="sr-only">Value of variable {i + 1}</span>
              <input placeholder="value" value={env.value} onChange={(e) => set('envs', form.envs.map((x, k) => (k === i ? { ...x, value: e.target.value } : x)))} />
            </label>
            <button type="button" aria-label={`Remove variable ${i + 1}`} onClick={() => set('envs', form.envs.filter((_, k) => k !== i))}>Remove</button>
          </div>
        ))}
        <button type="button" onClick={() => set('envs', [...form.envs, { key: '', value: '' }])}>Add variable</button>
        {issuesOf('envs').length > 0 && <span className="field-error" role="alert">{issuesOf('envs').map((p) => p.message).join('; ')}</span>}
      </fieldset>
    </div>
  );
}
