import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { admit, type BackendOffer } from './admission.js';
import type { Gpu, Inventory } from './inventory.js';
import { parseTaskFile } from './spec/parse.js';
import type { Feature } from './spec/types.js';

function gpus(name: string, count: number, healthy = true): Gpu[] {
  return Array.from({ length: count }, (_, index) => ({ index, name, model: `Fake ${name}`, memoryMb: 81920, vendor: 'fake', healthy }));
}

const fourA100: Inventory = { backend: 'local', nodes: [{ name: 'local', cpus: 16, memoryGb: 64, gpus: gpus('A100', 4) }] };

const LOCAL_UNSUPPORTED: Partial<Record<Feature, string>> = {
  multi_node: 'it runs on this one machine; use a Slurm or Kubernetes backend for several nodes',
  spot: 'there are no spot instances on a local machine',
  image: 'it runs processes directly, not containers',
  cloud_infra: 'it cannot provision cloud machines',
  bucket_mount: 'it does not mount object storage',
  volume: 'it has no named volumes',
  ports: 'it does not expose ports',
  disk_size: 'it uses the local disk as it is',
  fractional_gpu: 'it gives whole GPUs only',
  job_recovery: 'recovery is set with stint `retries`',
  service: 'it runs batch jobs, not services',
  pipeline: 'it runs one task per submission',
  other: 'only cloud backends honour this field',
};

function local(inventory: Inventory = fourA100, name = 'local'): BackendOffer {
  return { name, kind: 'local', unsupported: LOCAL_UNSUPPORTED, inventory };
}

function slurm(name: string, gpuCount: number): BackendOffer {
  return {
    name,
    kind: 'slurm',
    unsupported: { spot: 'no spot on Slurm', cloud_infra: 'Slurm runs on its own nodes' },
    inventory: { backend: name, nodes: [1, 2].map((n) => ({ name: `${name}-${n}`, cpus: 64, memoryGb: 512, gpus: gpus('H100', gpuCount) })) },
  };
}

const admitYaml = (yaml: string, offers: BackendOffer[]) => admit(parseTaskFile(yaml), offers);

describe('admit on the local backend (4 × A100)', () => {
  it('admits the fake-gpus fixture', () => {
    const text = readFileSync(new URL('../../test/fixtures/specs/fake-gpus.yaml', import.meta.url), 'utf8');
    const verdict = admit(parseTaskFile(text), [local()]);
    expect(verdict).toMatchObject({ ok: true, backend: 'local', feasibleChoices: [0], feasibleByTask: [[0]], problems: [], refusal: null });
    expect(verdict.summary).toBe('Admitted on local: 1 of 1 resource choice(s) fit.');
  });

  it('refuses an unknown GPU type, saying what there is', () => {
    const text = readFileSync(new URL('../../test/fixtures/specs/unknown-gpu.yaml', import.meta.url), 'utf8');
    const verdict = admit(parseTaskFile(text), [local()]);
    expect(verdict).toMatchObject({ ok: false, backend: null, feasibleChoices: [], refusal: 'UNSATISFIABLE' });
    expect(verdict.problems).toEqual([
      { field: 'resources.accelerators', line: 4, col: 17, value: 'V100:1', message: 'no GPU of type V100 here (local); available: A100 (4)' },
    ]);
    expect(verdict.summary).toContain('resources.accelerators (line 4:17)');
    expect(verdict.summary).not.toContain('\n');
  });

  it('refuses more GPUs than one node has, naming the largest node', () => {
    const mixed: Inventory = { backend: 'local', nodes: [{ name: 'local', cpus: 16, memoryGb: 64, gpus: [...gpus('A100', 4), ...gpus('H100', 2)] }] };
    const verdict = admitYaml('resources:\n  accelerators: A100:8\n', [local(mixed)]);
    expect(verdict.problems).toMatchObject([{ field: 'resources.accelerators', line: 2, message: 'asks for 8 × A100; the largest node here (local) has 4 × A100, 2 × H100' }]);
  });

  it('matches GPU names ignoring case and skips unhealthy GPUs', () => {
    expect(admitYaml('resources:\n  accelerators: a100:4\n', [local()]).ok).toBe(true);
    const sick: Inventory = { backend: 'local', nodes: [{ name: 'local', cpus: 16, memoryGb: 64, gpus: [...gpus('A100', 2), ...gpus('A100', 2, false)] }] };
    expect(admitYaml('resources:\n  accelerators: A100:3\n', [local(sick)]).problems[0]?.message).toBe('asks for 3 × A100; the largest node here (local) has 2 × A100');
  });

  it('refuses too many CPUs or too much memory at their lines', () => {
    const verdict = admitYaml('resources:\n  cpus: 32+\n  memory: 128GB\n', [local()]);
    expect(verdict.problems).toEqual([
      { field: 'resources.cpus', line: 2, col: 3, value: '32+ CPUs', message: 'asks for 32+ CPUs; the largest node here (local) has 16 CPUs' },
      { field: 'resources.memory', line: 3, col: 3, value: '128 GB of memory', message: 'asks for 128 GB of memory; the largest node here (local) has 64 GB of memory' },
    ]);
  });

  it('refuses what the backend cannot honour, naming field, line and reason', () => {
    const verdict = admitYaml('num_nodes: 2\nresources:\n  use_spot: true\nrun: echo\n', [local()]);
    expect(verdict.refusal).toBe('UNSUPPORTED_FEATURE');
    expect(verdict.problems).toEqual([
      expect.objectContaining({ field: 'num_nodes', line: 1, col: 1, message: `the local backend cannot honour \`num_nodes\` (2): ${LOCAL_UNSUPPORTED.multi_node}` }),
      expect.objectContaining({ field: 'resources.use_spot', line: 3, col: 3, message: `the local backend cannot honour \`resources.use_spot\` (true): ${LOCAL_UNSUPPORTED.spot}` }),
    ]);
  });

  it('keeps the choices it can honour when another choice asks for spot', () => {
    const verdict = admitYaml('resources:\n  accelerators: A100:1\n  any_of:\n    - use_spot: true\n    - use_spot: false\n', [local()]);
    expect(verdict).toMatchObject({ ok: true, feasibleChoices: [1] });
  });

  it('refuses a cloud infra once, as the feature, not also as a mismatch', () => {
    const verdict = admitYaml('resources:\n  infra: aws/us-east-1\n', [local()]);
    expect(verdict.problems).toEqual([expect.objectContaining({ field: 'resources.infra', line: 2, message: expect.stringContaining(LOCAL_UNSUPPORTED.cloud_infra as string) })]);
  });

  it('refuses fractional GPUs, images, bucket mounts and other cloud fields', () => {
    const yaml = 'resources:\n  accelerators: A100:0.5\n  image_id: docker:x\n  instance_type: p3\nfile_mounts:\n  /d: s3://b\n';
    const fields = admitYaml(yaml, [local()]).problems.map((problem) => [problem.field, problem.line]);
    expect(fields).toEqual([
      ['file_mounts./d', 6],
      ['resources.accelerators', 2],
      ['resources.image_id', 3],
      ['resources.instance_type', 4],
    ]);
  });

  it('admits local file mounts and stint keys', () => {
    expect(admitYaml('file_mounts:\n  /code: ./code\npriority: 3\nretries: 1\nrun: echo\n', [local()]).ok).toBe(true);
  });
});

describe('admit across backends', () => {
  it('takes the first backend with no problem', () => {
    const verdict = admitYaml('resources:\n  accelerators: H100:8\n', [local(), slurm('hpc', 8)]);
    expect(verdict).toMatchObject({ ok: true, backend: 'hpc', feasibleChoices: [0] });
  });

  it('sends slurm/<name> to that backend only', () => {
    const yaml = 'resources:\n  infra: slurm/big\n  accelerators: H100:1\n';
    expect(admitYaml(yaml, [slurm('small', 8), slurm('big', 8)]).backend).toBe('big');
    const refused = admitYaml(yaml, [local()]);
    expect(refused.problems).toMatchObject([{ field: 'resources.infra', line: 2, message: 'infra `slurm/big` asks for the slurm backend `big`; `local` is a local backend' }]);
  });

  it('reports the problems of the backend named by infra', () => {
    const verdict = admitYaml('resources:\n  infra: slurm/hpc\n  accelerators: H100:16\n', [local(), slurm('hpc', 8)]);
    expect(verdict.ok).toBe(false);
    expect(verdict.problems).toMatchObject([{ field: 'resources.accelerators', message: 'asks for 16 × H100; the largest node here (hpc-1) has 8 × H100' }]);
    expect(verdict.summary).toMatch(/^This task cannot run on any configured backend\. On hpc: .*Also tried: local \(1 problem\)\.$/);
  });

  it('lets local pick a local backend and local/<name> one by name', () => {
    expect(admitYaml('resources:\n  infra: local\n', [slurm('hpc', 1), local()]).backend).toBe('local');
    expect(admitYaml('resources:\n  infra: local/box\n', [local(fourA100, 'desk'), local(fourA100, 'box')]).backend).toBe('box');
  });

  it('says so when no backend is configured', () => {
    expect(admitYaml('run: echo\n', [])).toMatchObject({ ok: false, backend: null, refusal: 'UNSATISFIABLE' });
  });
});

describe('pipelines', () => {
  const yaml = 'name: p\n---\nname: prep\nresources:\n  cpus: 2\n---\nname: train\nresources:\n  accelerators: H100:4\n';

  it('refuses a pipeline where the backend lists it unsupported', () => {
    const verdict = admitYaml(yaml, [local()]);
    expect(verdict.problems[0]).toMatchObject({ field: '(pipeline)', line: 7, message: expect.stringContaining('cannot honour `(pipeline)`') });
    expect(verdict.problems[1]).toMatchObject({ field: 'resources.accelerators', line: 9, message: expect.stringMatching(/^task `train`: no GPU of type H100/) });
  });

  it('checks every task on a backend that runs pipelines', () => {
    const verdict = admitYaml(yaml, [slurm('hpc', 8)]);
    expect(verdict).toMatchObject({ ok: true, backend: 'hpc', feasibleChoices: [0], feasibleByTask: [[0], [0]] });
    const tooBig = admitYaml(yaml.replace('H100:4', 'H100:9'), [slurm('hpc', 8)]);
    expect(tooBig.problems).toMatchObject([{ field: 'resources.accelerators', line: 9, message: expect.stringMatching(/^task `train`: asks for 9 × H100/) }]);
  });
});
