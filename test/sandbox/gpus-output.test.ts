// `stint gpus` says per node whether jobs' limits are enforced, and why not: never silent.
import { describe, expect, it } from 'vitest';
import { renderConfinement, renderIdentities } from '../../src/cli/gpus.js';

describe('stint gpus: confinement lines', () => {
  it('names an unconfined host with its reason, and what a confined one enforces', () => {
    const style = { color: false };
    expect(renderConfinement([{ backend: 'local', node: 'box', enforced: false, reason: 'the server is not root', cgroup: null, privateTmp: false }], style))
      .toBe('local/box: limits not enforced on this host: the server is not root');
    expect(renderConfinement([{ backend: 'local', node: 'box', enforced: true, cgroup: 'v1', privateTmp: false, notes: ['/tmp is not private because /tmp/x must stay visible to jobs'] }], style))
      .toBe('local/box: jobs confined: own cgroup (v1): memory, CPUs, pids, GPU devices; own TMPDIR\n  note: /tmp is not private because /tmp/x must stay visible to jobs');
    expect(renderConfinement([], style)).toBe('');
  });

  it('names a backend whose jobs share one account, and is silent for per-user ones', () => {
    const style = { color: false };
    expect(renderIdentities([
      { backend: 'local', perUser: true },
      { backend: 'hpc', perUser: false, why: 'Slurm is reached over SSH as one account (svc)' },
    ], style)).toBe('hpc: every job runs as one shared account: Slurm is reached over SSH as one account (svc)');
    expect(renderIdentities([{ backend: 'local', perUser: true }], style)).toBe('');
  });
});
