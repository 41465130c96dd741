// Slurm job listings of three generations, from fixtures (sources in test/fixtures/slurm/SOURCES.md).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { colonExit, expandHostlist, exitStatus, parseSacct, parseScontrolJobs, parseSqueueJson, slurmNumber } from './records.js';
import { attemptStatus } from './states.js';

const fixture = (path: string) => readFileSync(new URL(`../../../test/fixtures/slurm/${path}`, import.meta.url), 'utf8');

describe('squeue --json, Slurm 22.05 (openapi v0.0.38)', () => {
  const records = parseSqueueJson(fixture('22.05/squeue.json'));

  it('reads every job with its plain state, reason and raw exit status', () => {
    expect(records.map((r) => [r.jobId, r.state, r.reason])).toEqual([
      [1, 'COMPLETED', 'None'], [2, 'FAILED', 'NonZeroExitCode'], [3, 'RUNNING', 'None'], [4, 'RUNNING', 'None'], [5, 'PENDING', 'Resources'],
    ]);
    expect(records[1]!.exit).toEqual({ code: 3, signal: null });
  });

  it('maps them to attempt statuses', () => {
    expect(records.map(attemptStatus)).toMatchObject([
      { state: 'ended', reason: 'exit', exitCode: 0 },
      { state: 'ended', reason: 'exit', exitCode: 3, signal: null },
      { state: 'running', nodes: ['n1'] },
      { state: 'running' },
      { state: 'queued', reason: 'Resources' },
    ]);
  });

  it('reads the states stint jobs reached on the test cluster (OOM, timeout, cancel, requeue)', () => {
    const real = parseSqueueJson(fixture('22.05/squeue-states.json'));
    const byName = new Map(real.map((r) => [r.name.replace(/^stint-\d+\.\d+-?/, ''), attemptStatus(r)]));
    expect(byName.get('oom')).toMatchObject({ state: 'ended', reason: 'out_of_memory' });
    expect(byName.get('timeout')).toMatchObject({ state: 'ended', reason: 'timeout', signal: 'SIGTERM' });
    expect(byName.get('cancelled')).toMatchObject({ state: 'ended', reason: 'cancelled' });
    // `scancel --signal=KILL --full` of a job with no srun step: Slurm records it as CANCELLED 0:15.
    expect(byName.get('killed')).toMatchObject({ state: 'ended', reason: 'cancelled' });
    expect(byName.get('exit3')).toMatchObject({ state: 'ended', reason: 'exit', exitCode: 3 });
    expect(byName.get('requeued')).toMatchObject({ restarts: 1 });
  });
});

describe('squeue --json, Slurm 23.02 (data_parser v0.0.39)', () => {
  const records = parseSqueueJson(fixture('23.02/squeue.json'));

  it('unwraps {set, infinite, number} exit statuses', () => {
    expect(records.map((r) => [r.jobId, r.state, r.exit])).toEqual([
      [1618871, 'RUNNING', { code: 0, signal: null }],
      [1618872, 'FAILED', { code: 3, signal: null }],
      [1618873, 'TIMEOUT', { code: null, signal: 15 }],
      [1618874, 'NODE_FAIL', { code: 0, signal: null }],
    ]);
    expect(records.map(attemptStatus).map((s) => ('reason' in s ? s.reason : s.state))).toEqual(['running', 'exit', 'timeout', 'node_failure']);
  });
});

describe('squeue --json, Slurm 24.05 (data_parser v0.0.41)', () => {
  const records = parseSqueueJson(fixture('24.05/squeue.json'));
  const statuses = new Map(records.map((r) => [r.jobId, attemptStatus(r)]));

  it('reads job_state arrays with flags and {status, return_code, signal} exit codes', () => {
    expect(records.find((r) => r.jobId === 338)).toMatchObject({ state: 'COMPLETED', flags: ['COMPLETING'] });
    expect(statuses.get(333)).toMatchObject({ state: 'ended', reason: 'exit', exitCode: 0 });
    expect(statuses.get(334)).toEqual({ state: 'running', nodes: ['gpu-01', 'gpu-02'], restarts: 0 });
    expect(statuses.get(335)).toEqual({ state: 'queued', reason: 'QOSMaxGRESPerUser', restarts: 0 });
    expect(statuses.get(336)).toMatchObject({ reason: 'exit', exitCode: 3, signal: null });
    expect(statuses.get(337)).toMatchObject({ reason: 'cancelled', exitCode: null, signal: 'SIGTERM' });
    expect(statuses.get(338)).toMatchObject({ state: 'running' });
    expect(statuses.get(339)).toEqual({ state: 'queued', reason: 'Requeued (BeginTime)', restarts: 1 });
    expect(statuses.get(340)).toMatchObject({ reason: 'out_of_memory', exitCode: 137 });
  });
});

describe('scontrol show job -o, Slurm 22.05', () => {
  it('reads the same jobs as squeue --json, with restarts and N:S exit codes', () => {
    const records = parseScontrolJobs(fixture('22.05/scontrol-show-job-o.txt'));
    expect(records.map((r) => [r.jobId, r.name, r.state, r.reason, r.nodes, r.exit])).toEqual([
      [1, 'done-ok', 'COMPLETED', 'None', 'n1', { code: 0, signal: null }],
      [2, 'done-fail', 'FAILED', 'NonZeroExitCode', 'n1', { code: 3, signal: null }],
      [3, 'running', 'RUNNING', 'None', 'n1', { code: 0, signal: null }],
      [4, 'running2', 'RUNNING', 'None', 'n1', { code: 0, signal: null }],
      [5, 'pending', 'PENDING', 'Resources', '', { code: 0, signal: null }],
    ]);
    expect(records.map(attemptStatus)).toMatchObject(parseSqueueJson(fixture('22.05/squeue.json')).map(attemptStatus));
  });

  it('keeps values with spaces whole and reads a cancelled pending job', () => {
    const [record] = parseScontrolJobs(fixture('22.05/scontrol-cancelled-pending.txt'));
    expect(record).toMatchObject({ state: 'CANCELLED', reason: 'PartitionDown', restarts: 0 });
    const [spaced] = parseScontrolJobs('JobId=9 JobName=x JobState=PENDING Reason=ReqNodeNotAvail, UnavailableNodes:n1 Dependency=(null) Restarts=2 ExitCode=0:0 NodeList=(null)');
    expect(spaced).toMatchObject({ reason: 'ReqNodeNotAvail, UnavailableNodes:n1', restarts: 2, nodes: '' });
    expect(parseScontrolJobs('No jobs in the system\n')).toEqual([]);
    // -d adds DerivedExitCode and per-node detail (Nodes=… CPU_IDs=… Mem=… GRES=…)
    const [detailed] = parseScontrolJobs(fixture('22.05/scontrol-d-failed.txt'));
    expect(detailed).toMatchObject({ state: 'FAILED', nodes: 'n1', exit: { code: 7, signal: null }, derived: { code: 7, signal: null } });
  });
});

describe('sacct -P and sacct -c rows', () => {
  it('reads jobs, skips steps, and takes N:S exit codes exactly', () => {
    const rows = parseSacct(['7|a|COMPLETED|0:0|0:0|n1|None', '7.batch|batch|COMPLETED|0:0||n1|', '8|b|CANCELLED by 0|0:15|0:0|n2|None', '9|c|FAILED|3:0|0:0|n1|NonZeroExitCode', '10|d|OUT_OF_MEMORY|0:125|0:0|n1|OutOfMemory', '11|e|PENDING|0:0|0:0|None assigned|Priority'].join('\n'));
    expect(rows.map((r) => [r.jobId, r.state, r.exit, r.nodes])).toEqual([
      [7, 'COMPLETED', { code: 0, signal: null }, 'n1'],
      [8, 'CANCELLED', { code: null, signal: 15 }, 'n2'],
      [9, 'FAILED', { code: 3, signal: null }, 'n1'],
      [10, 'OUT_OF_MEMORY', { code: null, signal: 125 }, 'n1'],
      [11, 'PENDING', { code: 0, signal: null }, ''],
    ]);
    expect(attemptStatus(rows[3]!)).toMatchObject({ reason: 'out_of_memory', exitCode: null, signal: null });
  });

  it('keeps the last row of a job that the completion log lists twice (a requeue)', () => {
    expect(parseSacct('5|x|NODE_FAIL|0:0|0:0|n3|None\n5|x|COMPLETED|0:0|0:0|n3|None\n').map((r) => r.state)).toEqual(['COMPLETED']);
  });
});

describe('field readers', () => {
  it('reads numbers, exit statuses and host lists of every form', () => {
    expect([slurmNumber(4), slurmNumber({ set: true, infinite: false, number: 5 }), slurmNumber({ set: false, infinite: false, number: 0 }), slurmNumber({ set: false, infinite: true, number: 0 })]).toEqual([4, 5, null, null]);
    expect([exitStatus(768), exitStatus(9), exitStatus(0)]).toEqual([{ code: 3, signal: null }, { code: null, signal: 9 }, { code: 0, signal: null }]);
    expect([colonExit('3:0'), colonExit('0:9'), colonExit('')]).toEqual([{ code: 3, signal: null }, { code: null, signal: 9 }, null]);
    expect(expandHostlist('n[1-3,5],gpu-a[08-10],login')).toEqual(['n1', 'n2', 'n3', 'n5', 'gpu-a08', 'gpu-a09', 'gpu-a10', 'login']);
  });
});

describe('scontrol -d show job -o, Slurm 22.05', () => {
  it('reads the working directory that tells one stint server\'s jobs from another\'s', () => {
    const [record] = parseScontrolJobs(fixture('22.05/scontrol-d-failed.txt'));
    expect(record).toMatchObject({ jobId: 5154, name: 'stint-1000.1-contract', workDir: '/tmp/stint-slurm/shared/stint-iHdWU3/jobs/1000' });
  });
});
