// /metrics against the real thing: Debian's prometheus scrapes a real stint server (fake GPUs whose
// telemetry a file gives), and the series are read back through Prometheus's HTTP query API;
// promtool checks the exposition. Also: the metrics token, when set, is enforced. The scrape config
// is the one docs/observability.md gives (honor_labels: true keeps stint's own `job` label, the job
// id, instead of Prometheus renaming it exported_job).

import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, freePort, observedServer, until, type ObservedServer } from './helpers/observability.js';

const PROMETHEUS = '/usr/bin/prometheus';
const PROMTOOL = '/usr/bin/promtool';

let s: ObservedServer;
let prometheus: ChildProcess;
let promUrl = '';
let promLog = '';
let jobId = 0;

beforeAll(async () => {
  // Not a skip: without Debian's prometheus this test must fail (.ci/run installs it).
  if (!existsSync(PROMETHEUS) || !existsSync(PROMTOOL)) throw new Error('prometheus is not installed: apt-get install prometheus (.ci/run installs it)');
  s = await observedServer({}, 'A100:2');
  await s.client.addProject('vision');
  s.setGpus([{ index: 0, utilization: 0.42, memoryUsedMb: 2048 }, { index: 1, utilization: 0, memoryUsedMb: 0 }]);
  const submitted = await api(s, 'POST', '/api/v1/jobs', { task: 'name: prom\nproject: vision\nresources: {accelerators: A100:1}\nrun: sleep 60\n' });
  expect(submitted.status).toBe(201);
  jobId = submitted.body.id;
  await until('the job to run', async () => ((await s.client.getJob(jobId)).state === 'RUNNING' ? true : undefined));
  const dir = await mkdtemp(join(tmpdir(), 'stint-prom-'));
  const port = await freePort();
  const target = new URL(s.server.url).host;
  await writeFile(join(dir, 'prometheus.yml'), `global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: stint\n    honor_labels: true\n    metrics_path: /metrics\n    static_configs:\n      - targets: ['${target}']\n`);
  prometheus = spawn(PROMETHEUS, [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`], { stdio: ['ignore', 'pipe', 'pipe'] });
  prometheus.stderr!.on('data', (d) => (promLog += d));
  promUrl = `http://127.0.0.1:${port}`;
}, 60_000);

afterAll(async () => {
  prometheus?.kill('SIGTERM');
  await s?.client.cancel(jobId).catch(() => undefined);
  await s?.server.stop();
});

async function query(expr: string): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>> {
  const response = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(expr)}`);
  const body = (await response.json()) as { status: string; data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> } };
  if (body.status !== 'success') throw new Error(`prometheus: ${JSON.stringify(body)}`);
  return body.data.result;
}

describe('Prometheus scrapes stint', () => {
  it('reads the allocation of the running job back through the query API', async () => {
    const series = await until('prometheus to have stint_gpu_allocated', async () => {
      const result = await query('stint_gpu_allocated');
      return result.length > 0 ? result : undefined;
    }, 45_000).catch((error: Error) => {
      throw new Error(`${error.message}\nprometheus log:\n${promLog.slice(-3000)}`);
    });
    expect(series).toHaveLength(1);
    expect(series[0]!.metric).toMatchObject({ job: String(jobId), user: expect.any(String), project: 'vision', backend: 'local', gpu: expect.stringMatching(/^[01]$/) });
    expect(series[0]!.value[1]).toBe('1');
  }, 60_000);

  it('has jobs by state and project, GPU utilisation, and the scheduler histograms', async () => {
    const running = await query('stint_jobs{state="running",project="vision"}');
    expect(running.map((r) => r.value[1])).toEqual(['1']);
    const util = await until('a utilisation sample', async () => {
      const r = await query('stint_gpu_utilization_ratio{gpu="0"}');
      return r.length > 0 ? r : undefined;
    });
    expect(Number(util[0]!.value[1])).toBeCloseTo(0.42, 5);
    const memory = await query('stint_gpu_memory_used_bytes{gpu="0"}');
    expect(Number(memory[0]!.value[1])).toBe(2048 * 2 ** 20);
    const passes = await query('stint_schedule_pass_seconds_count');
    expect(Number(passes[0]!.value[1])).toBeGreaterThan(0);
    const waits = await query('stint_queue_wait_seconds_count');
    expect(waits.map((w) => w.value[1])).toEqual(['1']);
    const submissions = await query('stint_submissions_total');
    expect(submissions.map((w) => w.value[1])).toEqual(['1']);
    const moves = await query('stint_job_transitions_total{from="pending",to="starting"}');
    expect(moves.map((w) => w.value[1])).toEqual(['1']);
    expect((await query('stint_node_healthy')).map((r) => r.value[1])).toEqual(['1']);
    expect((await query('sum(stint_gpu_healthy)')).map((r) => r.value[1])).toEqual(['2']);
  }, 30_000);
});

describe('the Grafana dashboard', () => {
  it('queries only metrics stint exposes, with expressions Prometheus accepts', async () => {
    const dashboard = JSON.parse(await readFile(new URL('../grafana/stint-dashboard.json', import.meta.url), 'utf8')) as { panels: Array<{ targets?: Array<{ expr: string }> }> };
    const exprs = dashboard.panels.flatMap((p) => p.targets ?? []).map((t) => t.expr);
    expect(exprs.length).toBeGreaterThan(10);
    const text = await (await fetch(`${s.server.url}/metrics`)).text();
    const exposed = new Set([...text.matchAll(/^# TYPE (\S+)/gm)].map((m) => m[1]));
    for (const expr of exprs) {
      for (const [name] of expr.matchAll(/stint_[a-z_]+/g)) expect(exposed, `${name} in ${expr}`).toContain(name.replace(/_(bucket|count|sum)$/, ''));
      const concrete = expr.replaceAll('$backend', '.*').replaceAll('$__rate_interval', '1m').replaceAll('$__range', '5m').replaceAll('$__interval_ms', '15000');
      await expect(query(concrete), expr).resolves.toBeInstanceOf(Array);
    }
  });
});

describe('the exposition', () => {
  it('passes promtool check metrics', async () => {
    const text = await (await fetch(`${s.server.url}/metrics`)).text();
    expect(text).toContain('# TYPE stint_queue_wait_seconds histogram');
    expect(text).toContain('# TYPE stint_backend_poll_errors_total counter');
    const result = await new Promise<{ code: number; output: string }>((resolve) => {
      const child = execFile(PROMTOOL, ['check', 'metrics'], (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, output: stdout + stderr }));
      child.stdin!.end(text);
    });
    expect(result).toEqual({ code: 0, output: '' });
  });

  it('answers only the metrics token when one is set', async () => {
    const guarded = await observedServer({ metricsToken: 'scrape-secret' }, 'A100:1');
    try {
      expect((await fetch(`${guarded.server.url}/metrics`)).status).toBe(401);
      expect((await fetch(`${guarded.server.url}/metrics`, { headers: { authorization: 'Bearer wrong-secret!' } })).status).toBe(401);
      const ok = await fetch(`${guarded.server.url}/metrics`, { headers: { authorization: 'Bearer scrape-secret' } });
      expect(ok.status).toBe(200);
      expect(await ok.text()).toContain('stint_jobs{state="pending",project=""} 0');
    } finally {
      await guarded.server.stop();
    }
  });
});
