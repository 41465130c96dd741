import { describe, expect, it } from 'vitest';
import { StintError, type FieldIssue } from '../errors.js';
import { classifyInfra } from './infra.js';
import { parseTaskFile } from './parse.js';
import { parseDuration } from './quantities.js';
import type { TaskSpec } from './types.js';

function task(yaml: string): TaskSpec {
  const [first] = parseTaskFile(yaml).tasks;
  if (!first) throw new Error('no task');
  return first;
}

function issues(yaml: string): FieldIssue[] {
  try {
    parseTaskFile(yaml);
  } catch (error) {
    if (error instanceof StintError && error.code === 'INVALID_SPEC') return error.details.issues as FieldIssue[];
    throw error;
  }
  throw new Error('expected the file to be refused');
}

const accel = (spec: TaskSpec) => spec.resources.map((choice) => choice.accelerator && `${choice.accelerator.name}:${choice.accelerator.count}`);

describe('accelerators', () => {
  it.each([
    ['A100', ['A100:1']],
    ['A100:2', ['A100:2']],
    ["'A100-80GB:8'", ['A100-80GB:8']],
    ['tpu-v2-8', ['tpu-v2-8:1']],
  ])('reads the string form %s', (written, expected) => {
    expect(accel(task(`resources:\n  accelerators: ${written}\n`))).toEqual(expected);
  });

  it('reads a fraction and records fractional_gpu with its line', () => {
    const spec = task('run: x\nresources:\n  accelerators: A100:0.5\n');
    expect(spec.resources[0]?.accelerator).toEqual({ name: 'A100', count: 0.5 });
    expect(spec.features).toEqual([{ feature: 'fractional_gpu', field: 'resources.accelerators', pos: { line: 3, col: 17 }, detail: 'A100:0.5', choices: [0] }]);
  });

  it('reads a map of name → count as "any of"', () => {
    const spec = task('resources:\n  accelerators: {A100: 1, H100: 2}\n');
    expect(accel(spec)).toEqual(['A100:1', 'H100:2']);
    expect(spec.ordered).toBe(false);
  });

  it('reads a flow set whose keys hold the counts', () => {
    expect(accel(task('resources:\n  accelerators: {H100:8, H200:8}\n'))).toEqual(['H100:8', 'H200:8']);
  });

  it('reads a list as an ordered preference', () => {
    const spec = task('resources:\n  accelerators: [A100:8, H100:8]\n');
    expect(accel(spec)).toEqual(['A100:8', 'H100:8']);
    expect(spec.ordered).toBe(true);
  });

  it('takes gpus as an alias, but not both', () => {
    expect(accel(task('resources:\n  gpus: L4:1\n'))).toEqual(['L4:1']);
    expect(issues('resources:\n  accelerators: L4\n  gpus: L4\n')).toMatchObject([{ field: 'resources.gpus', line: 3, col: 3 }]);
  });

  it.each([
    ['A100:-2', 'positive'],
    ['A100:0', 'positive'],
    ['A100:two', 'positive'],
    ['"A 100"', 'not a GPU type'],
    ['4', 'must be'],
    ['[]', 'at least one'],
  ])('refuses %s with field and line', (written, words) => {
    const [issue, ...rest] = issues(`name: x\nresources:\n  accelerators: ${written}\n`);
    expect(rest).toEqual([]);
    expect(issue).toMatchObject({ field: 'resources.accelerators', line: 3, col: 17 });
    expect(issue?.message).toContain(words);
    expect(issue?.accepted).toContain('A100:2');
  });

  it('refuses a bad count inside a map at that entry', () => {
    expect(issues('resources:\n  accelerators:\n    A100: -1\n    H100: many\n')).toMatchObject([
      { field: 'resources.accelerators', line: 3, col: 11 },
      { field: 'resources.accelerators', line: 4, col: 11 },
    ]);
  });
});

describe('cpus, memory, disk', () => {
  it.each([
    ['4', { value: 4, orMore: false }],
    ['"4"', { value: 4, orMore: false }],
    ['4+', { value: 4, orMore: true }],
    ['0.5', { value: 0.5, orMore: false }],
  ])('cpus %s', (written, expected) => {
    expect(task(`resources:\n  cpus: ${written}\n`).resources[0]?.cpus).toEqual(expected);
  });

  it.each([
    ['32', { value: 32, orMore: false }],
    ['32+', { value: 32, orMore: true }],
    ['32GB', { value: 32, orMore: false }],
    ['32GiB', { value: 32, orMore: false }],
    ['32GB+', { value: 32, orMore: true }],
    ['1TB', { value: 1024, orMore: false }],
    ['512MB', { value: 0.5, orMore: false }],
  ])('memory %s', (written, expected) => {
    expect(task(`resources:\n  memory: ${written}\n`).resources[0]?.memoryGb).toEqual(expected);
  });

  it('reads disk_size as GB and records it', () => {
    const spec = task('resources:\n  disk_size: 1TB\n');
    expect(spec.resources[0]?.diskSizeGb).toBe(1024);
    expect(spec.features[0]).toMatchObject({ feature: 'disk_size', field: 'resources.disk_size', pos: { line: 2, col: 3 } });
  });

  it.each([
    ['cpus: -1', 'resources.cpus'],
    ['cpus: 0', 'resources.cpus'],
    ['cpus: 4GB', 'resources.cpus'],
    ['memory: lots', 'resources.memory'],
    ['memory: -2GB', 'resources.memory'],
    ['disk_size: 100+', 'resources.disk_size'],
  ])('refuses %s', (line, field) => {
    expect(issues(`resources:\n  ${line}\n`)).toMatchObject([{ field, line: 2 }]);
  });
});

describe('infra', () => {
  it.each([
    ['local', { kind: 'local', cloud: null, name: null }],
    ['local/box', { kind: 'local', cloud: null, name: 'box' }],
    ['slurm/hpc/gpu', { kind: 'slurm', cloud: null, name: 'hpc' }],
    ['k8s', { kind: 'kubernetes', cloud: null, name: null }],
    ['kubernetes/arn:aws:eks/cluster/x', { kind: 'kubernetes', cloud: null, name: 'arn:aws:eks/cluster/x' }],
    ['aws/us-east-1', { kind: 'cloud', cloud: 'aws', name: null }],
    ['*', { kind: 'cloud', cloud: '*', name: null }],
  ])('classifies %s', (infra, expected) => {
    expect(classifyInfra(infra)).toEqual(expected);
  });

  it('records cloud infra, not local or slurm', () => {
    expect(task('resources:\n  infra: aws/us-east-1\n').features.map((use) => use.feature)).toEqual(['cloud_infra']);
    expect(task('resources:\n  infra: slurm/hpc\n').features).toEqual([]);
    expect(task('resources:\n  infra: local\n').features).toEqual([]);
  });

  it('folds cloud/region/zone into infra', () => {
    expect(task('resources:\n  cloud: gcp\n  region: us-central1\n').resources[0]?.infra).toBe('gcp/us-central1');
    expect(task('resources:\n  region: us-east-1\n').resources[0]?.infra).toBe('*/us-east-1');
    expect(issues('resources:\n  infra: aws\n  cloud: aws\n')).toMatchObject([{ field: 'resources.cloud', line: 3, col: 3 }]);
  });

  it('refuses a malformed infra', () => {
    expect(issues('resources:\n  infra: aws//x\n')).toMatchObject([{ field: 'resources.infra', line: 2, col: 10 }]);
  });
});

describe('any_of and ordered', () => {
  it('lays each entry over the base and crosses it with accelerator alternatives', () => {
    const spec = task(['resources:', '  cpus: 8', '  accelerators: {A100: 1, H100: 1}', '  any_of:', '    - use_spot: true', '    - use_spot: false', '      cpus: 4'].join('\n'));
    expect(spec.ordered).toBe(false);
    expect(spec.resources.map((choice) => [choice.accelerator?.name, choice.useSpot, choice.cpus?.value])).toEqual([
      ['A100', true, 8],
      ['H100', true, 8],
      ['A100', false, 4],
      ['H100', false, 4],
    ]);
    expect(spec.features).toEqual([{ feature: 'spot', field: 'resources.any_of[0].use_spot', pos: { line: 5, col: 7 }, detail: 'true', choices: [0, 1] }]);
  });

  it('keeps the order of `ordered`', () => {
    const spec = task('resources:\n  ordered:\n    - accelerators: H100\n    - accelerators: A100\n');
    expect(spec.ordered).toBe(true);
    expect(accel(spec)).toEqual(['H100:1', 'A100:1']);
    expect(spec.resources[1]?.origins?.accelerator).toEqual({ field: 'resources.ordered[1].accelerators', pos: { line: 4, col: 21 } });
  });

  it('refuses both lists, nesting, and unknown keys inside an entry', () => {
    const found = issues('resources:\n  any_of:\n    - cpus: 2\n  ordered:\n    - cpu: 4\n      any_of: []\n');
    expect(found.map((issue) => [issue.field, issue.line])).toEqual([
      ['resources.ordered', 4],
      ['resources.ordered[0].cpu', 5],
      ['resources.ordered[0].any_of', 6],
    ]);
    const typo = issues('resources:\n  any_of:\n    - cpu: 2\n');
    expect(typo[0]).toMatchObject({ field: 'resources.any_of[0].cpu', line: 3, col: 7 });
    expect(typo[0]?.message).toContain('did you mean `cpus`?');
  });
});

describe('ports and images', () => {
  it.each([
    ['8080', ['8080']],
    ['"8080-8090"', ['8080-8090']],
    ['[8080, "9000-9001"]', ['8080', '9000-9001']],
  ])('ports %s', (written, expected) => {
    const spec = task(`resources:\n  ports: ${written}\n`);
    expect(spec.resources[0]?.ports).toEqual(expected);
    expect(spec.features[0]?.feature).toBe('ports');
  });

  it('refuses a port out of range', () => {
    expect(issues('resources:\n  ports: [80, 70000]\n')).toMatchObject([{ field: 'resources.ports', line: 2, col: 15 }]);
  });

  it('reads image_id as a string or a per-region map', () => {
    expect(task('resources:\n  image_id: docker:ubuntu\n').resources[0]?.imageId).toBe('docker:ubuntu');
    expect(task('resources:\n  image_id:\n    us-east-1: ami-1\n    us-west-2: ami-2\n').resources[0]?.imageId).toBe('us-east-1=ami-1, us-west-2=ami-2');
  });

  it('records cloud-only fields as other, naming them', () => {
    const spec = task('resources:\n  instance_type: p3.2xlarge\n  disk_tier: best\n  labels: {team: ml}\n');
    expect(spec.features.map((use) => [use.feature, use.field, use.pos.line])).toEqual([
      ['other', 'resources.instance_type', 2],
      ['other', 'resources.disk_tier', 3],
      ['other', 'resources.labels', 4],
    ]);
  });
});

describe('durations', () => {
  it.each([
    ['90', 90],
    ['90s', 90],
    ['30m', 1800],
    ['2h', 7200],
    ['1d', 86400],
    ['1h30m', 5400],
    ['1h 30m', null],
    ['soon', null],
    ['', null],
  ])('%s', (text, seconds) => {
    expect(parseDuration(text)).toBe(seconds);
  });
});
