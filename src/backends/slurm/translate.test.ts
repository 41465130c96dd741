// Golden files pin the generated sbatch scripts (src/backends/slurm/golden/); run with
// STINT_UPDATE_GOLDEN=1 to rewrite them after an intended change, then review the diff.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { taskSpec } from '../contract.js';
import type { LaunchRequest } from '../backend.js';
import type { TaskSpec } from '../../core/spec/types.js';
import { attemptLogPath, type BatchTarget, batchFiles, ENV_PREFIX, envFile, nodeScript, sbatchOptions, slurmJobName } from './translate.js';

const target: BatchTarget = {
  jobDir: '/shared/stint/jobs/42', partition: 'gpu', account: 'lab-a', qos: 'normal',
  gresType: (t) => (t.toLowerCase() === 'a100' ? 'a100' : null), warnSeconds: 60,
};

function request(spec: Partial<TaskSpec>, extra: Partial<LaunchRequest> = {}): LaunchRequest {
  return { jobId: 42, attempt: 1, name: 'train', spec: taskSpec('python train.py', spec), secrets: {}, node: null, gpus: [], workdirArchive: null, env: {}, ...extra };
}

const multiNode = request({
  numNodes: 2, setup: 'pip install -r requirements.txt', maxRuntimeSeconds: 3601, priority: -5,
  retries: { max: 3, on: ['node_failure', 'preemption'], exitCodes: [] },
  resources: [{ accelerator: { name: 'A100', count: 4 }, cpus: { value: 16, orMore: false }, memoryGb: { value: 64, orMore: false }, diskSizeGb: null, useSpot: false, infra: null, imageId: null, ports: [] }],
});

function golden(name: string, text: string): void {
  const path = new URL(`./golden/${name}`, import.meta.url);
  if (process.env.STINT_UPDATE_GOLDEN === '1' || !existsSync(path)) writeFileSync(path, text);
  expect(text).toBe(readFileSync(path, 'utf8'));
}

describe('sbatch script', () => {
  it('matches the golden file for a 2-node GPU job with setup, time limit and requeue', () => {
    const files = batchFiles(multiNode, target);
    golden('multi-node.sbatch', files.files.find((f) => f.path.endsWith('job.sbatch'))!.content);
    golden('multi-node.node.sh', files.files.find((f) => f.path.endsWith('node.sh'))!.content);
  });

  it('matches the golden file for a minimal CPU job', () => {
    golden('minimal.sbatch', batchFiles(request({}, { name: null }), { ...target, partition: null, account: null, qos: null }).files.find((f) => f.path.endsWith('job.sbatch'))!.content);
  });

  it('maps resources to sbatch options: per-node GPUs by the cluster’s type spelling, minutes rounded up, requeue by retry policy', () => {
    expect(sbatchOptions(multiNode, target)).toEqual(expect.arrayContaining([
      '--nodes=2', '--ntasks-per-node=1', '--gpus-per-node=a100:4', '--cpus-per-task=16', '--mem=65536M', '--time=61', '--signal=TERM@60', '--requeue', '--nice=5000',
      '--partition=gpu', '--account=lab-a', '--qos=normal',
    ]));
    expect(sbatchOptions(request({}), target)).toContain('--no-requeue');
  });

  it('keeps user text out of the script: names reduced, scripts and env in their own files', () => {
    const hostile = request({ run: 'echo "$(id)"', envs: { X: "'; rm -rf / #" } }, { name: 'a"; rm -rf / #\n#SBATCH --wrap=x' });
    const files = batchFiles(hostile, target);
    const script = files.files.find((f) => f.path.endsWith('job.sbatch'))!.content;
    expect(script).not.toContain('rm -rf');
    expect(script).toContain(`--job-name=${slurmJobName(42, 1, hostile.name)}`);
    expect(slurmJobName(42, 1, hostile.name)).toBe('stint-42.1-a-rm--rf-SBATCH---wrap-x');
    expect(files.files.find((f) => f.path.endsWith('run.sh'))!.content).toBe('echo "$(id)"');
  });

  it('puts no secret in any file: the environment goes only to the submission, every name prefixed', () => {
    const files = batchFiles(request({ envs: { PATH: '.', LD_PRELOAD: './x.so' } }, { secrets: { API_KEY: 'hunter2' } }), target);
    expect(files.files.map((f) => f.path.split('/').pop()).sort()).toEqual(['job.sbatch', 'node.sh', 'run.sh', 'setup.sh']);
    expect(files.files.some((f) => f.content.includes('hunter2'))).toBe(false);
    expect(files.environment).toContain(`export ${ENV_PREFIX}API_KEY='hunter2'`);
    expect(files.environment).toContain(`export ${ENV_PREFIX}PATH='.'`);
    expect(files.environment).not.toMatch(/^export (PATH|LD_PRELOAD|API_KEY)=/m);
  });

  it('gives each Slurm restart its own log inside the attempt folder', () => {
    expect(attemptLogPath('/w/jobs/42', 1, 1)).toBe('/w/jobs/42/attempt-1/output.log');
    expect(attemptLogPath('/w/jobs/42', 1, 3)).toBe('/w/jobs/42/attempt-1/restart-2/output.log');
  });

  it('refuses values that would need quoting in #SBATCH lines', () => {
    expect(() => sbatchOptions(request({}), { ...target, partition: 'gpu --wrap=x' })).toThrow(/partition/);
    expect(() => batchFiles(request({}), { ...target, jobDir: '/shared/my jobs/42' })).toThrow(/workdir path/);
    const fractional = request({ resources: [{ ...taskSpec('').resources[0]!, accelerator: { name: 'A100', count: 0.5 } }] });
    expect(() => sbatchOptions(fractional, target)).toThrow(/whole GPUs/);
  });
});

describe('env file', () => {
  it('gives bash back every value byte for byte', () => {
    const values = { A: "it's", B: '$(touch /tmp/x) `id` $HOME', C: 'line1\nline2', D: '\\\\"' };
    const out = execFileSync('bash', ['-c', `${envFile(values)}\nprintf '%s\\0' "$A" "$B" "$C" "$D"`]).toString();
    expect(out.split('\0').slice(0, 4)).toEqual(Object.values(values));
    expect(() => envFile({ 'BAD-NAME': 'x' })).toThrow(/not valid/);
  });

  it('is restored by the node script under the original names, a name that itself starts with the prefix included', () => {
    const env = { A: 'one', STINT_E_A: 'two', PATH: '/usr/bin:/bin' };
    const head = nodeScript(request({})).split('\n').filter((l) => /stint_env|^unset/.test(l) && !/^unset STINT_SLURM/.test(l)).join('\n');
    const out = execFileSync('bash', ['-c', `${envFile(env, ENV_PREFIX)}\n${head}\nprintf '%s|' "$A" "$STINT_E_A" "$PATH"; env | grep -c '^STINT_E_' || true`]).toString();
    expect(out).toBe('one|two|/usr/bin:/bin|1\n');
  });
});

describe('sbatch script with image_id', () => {
  const withImage = (imageId: string) => request({ resources: [{ ...multiNode.spec.resources[0]!, imageId }] });
  const modes = {
    pyxis: 'docker:nvcr.io/nvidia/pytorch:23.10-py3',
    oci: 'oci:/shared/bundles/pytorch',
    apptainer: 'docker:python:3.11',
  } as const;
  for (const [mode, imageId] of Object.entries(modes)) {
    it(`matches the golden file in ${mode} mode: only the step (node.sh) runs in the image`, () => {
      const files = batchFiles(withImage(imageId), { ...target, containers: { mode: mode as keyof typeof modes, how: 'test', apptainer: '/usr/bin/apptainer' } });
      golden(`container-${mode}.sbatch`, files.files.find((f) => f.path.endsWith('job.sbatch'))!.content);
      // The per-node wrapper is the same in every mode (it runs inside the image).
      expect(files.files.find((f) => f.path.endsWith('node.sh'))!.content).toBe(nodeScript(withImage(imageId)));
    });
  }

  it('refuses at launch when the cluster has no containers, naming the field and why', () => {
    expect(() => batchFiles(withImage('docker:python:3.11'), target)).toThrow(/resources.image_id: "docker:python:3.11" cannot run/);
  });
});
