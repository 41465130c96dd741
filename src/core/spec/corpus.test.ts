// The compatibility corpus: every SkyPilot task file in test/fixtures/compat/skypilot (real files
// from SkyPilot's repository, Apache-2.0, see its SOURCE.md) must parse. The
// only refusals allowed are the variables a file marks as required (null values), which the
// submitter gives with --env / --secret; the test gives them and parses again.

import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { StintError, type FieldIssue } from '../errors.js';
import { parseTaskFile } from './parse.js';
import type { TaskFile } from './types.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const corpusRoot = path.resolve(repoRoot, 'test', 'fixtures', 'compat', 'skypilot');

function yamlFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return yamlFiles(full);
    return /\.ya?ml$/.test(entry.name) ? [full] : [];
  });
}

/** Parses; when refused only for required variables, gives them and parses again. */
function parseGivingRequired(relative: string): TaskFile {
  const text = readFileSync(path.join(corpusRoot, relative), 'utf8');
  try {
    return parseTaskFile(text, { fileName: relative });
  } catch (error) {
    if (!(error instanceof StintError)) throw error;
    const issues = error.details.issues as FieldIssue[];
    const required = issues.filter((issue) => /has no value in the file; pass --(env|secret)/.test(issue.message));
    expect(required, error.message).toHaveLength(issues.length);
    const names = (prefix: string) => Object.fromEntries(required.filter((issue) => issue.field.startsWith(prefix)).map((issue) => [issue.field.slice(prefix.length), 'given']));
    return parseTaskFile(text, { fileName: relative, envOverrides: names('envs.'), secretOverrides: names('secrets.') });
  }
}

const files = yamlFiles(corpusRoot).map((file) => path.relative(corpusRoot, file)).sort();

describe('SkyPilot corpus', () => {
  it('finds the corpus', () => {
    expect(files.length).toBeGreaterThanOrEqual(40);
  });

  it.each(files)('parses %s', (relative) => {
    const parsed = parseGivingRequired(relative);
    expect(parsed.tasks.length).toBeGreaterThanOrEqual(1);
    for (const task of parsed.tasks) {
      expect(task.resources.length).toBeGreaterThanOrEqual(1);
      for (const use of task.features) expect(use.pos.line).toBeGreaterThan(0);
    }
  });

  it('reads examples/multi_resources.yaml as two ordered choices on aws and gcp', () => {
    const [task] = parseGivingRequired('examples/multi_resources.yaml').tasks;
    expect(task?.ordered).toBe(true);
    expect(task?.resources.map((choice) => [choice.accelerator?.name, choice.infra])).toEqual([
      ['A10g', 'aws'],
      ['L4', 'gcp'],
    ]);
    expect(task?.features.filter((use) => use.feature === 'cloud_infra').map((use) => [use.field, use.pos.line, use.choices])).toEqual([
      ['resources.ordered[0].infra', 5, [0]],
      ['resources.ordered[1].infra', 7, [1]],
    ]);
  });

  it('records num_nodes: 2 as multi_node at its line', () => {
    const [task] = parseGivingRequired('examples/distributed-pytorch/train.yaml').tasks;
    expect(task?.numNodes).toBe(2);
    const use = task?.features.find((item) => item.feature === 'multi_node');
    expect(use).toMatchObject({ field: 'num_nodes', pos: { line: 7, col: 1 }, detail: '2' });
  });

  it('reads a fractional GPU count on a multi-node task', () => {
    const [task] = parseGivingRequired('examples/job_queue/job_multinode.yaml').tasks;
    expect(task?.resources[0]?.accelerator).toEqual({ name: 'T4', count: 0.5 });
    expect(task?.features.map((use) => use.feature)).toEqual(['fractional_gpu', 'multi_node']);
  });

  it('expands an accelerator set into one choice per type', () => {
    const [task] = parseGivingRequired('llm/llama-3/llama3.yaml').tasks;
    expect(task?.ordered).toBe(false);
    expect(task?.resources.map((choice) => `${choice.accelerator?.name}:${choice.accelerator?.count}`)).toEqual([
      'L4:8', 'A10g:8', 'A10:8', 'A100:4', 'A100:8', 'A100-80GB:2', 'A100-80GB:4', 'A100-80GB:8',
    ]);
    expect(task?.resources.every((choice) => choice.useSpot && choice.cpus?.value === 32 && choice.cpus.orMore)).toBe(true);
    expect(task?.features.map((use) => use.feature)).toEqual(expect.arrayContaining(['service', 'spot', 'disk_size', 'ports', 'other']));
  });

  it('crosses any_of entries with the base, letting an entry clear image_id', () => {
    const [, train] = parseGivingRequired('llm/gpt-2/gpt2-pipeline.yaml').tasks;
    expect(train?.resources.map((choice) => [choice.infra, choice.imageId])).toEqual([
      ['lambda', null],
      ['aws', 'docker:nvidia/cuda:12.4.1-cudnn-devel-ubuntu22.04'],
      ['gcp', 'docker:nvidia/cuda:12.4.1-cudnn-devel-ubuntu22.04'],
      ['azure', 'docker:nvidia/cuda:12.4.1-cudnn-devel-ubuntu22.04'],
      ['fluidstack', 'docker:nvidia/cuda:12.4.1-cudnn-devel-ubuntu22.04'],
      ['kubernetes', 'docker:nvidia/cuda:12.4.1-cudnn-devel-ubuntu22.04'],
    ]);
    const image = train?.features.find((use) => use.feature === 'image');
    expect(image?.choices).toEqual([1, 2, 3, 4, 5]);
    const cloud = train?.features.filter((use) => use.feature === 'cloud_infra').flatMap((use) => use.choices);
    expect(cloud).toEqual([0, 1, 2, 3, 4]);
  });

  it('reads a job group: header name, tasks, pipeline features', () => {
    const parsed = parseGivingRequired('llm/train-eval-jobgroup/train-eval-jobgroup.yaml');
    expect(parsed.name).toBe('train-eval');
    expect(parsed.tasks.map((task) => task.name)).toEqual(['trainer', 'evaluator']);
    for (const task of parsed.tasks) {
      expect(task.features.filter((use) => use.feature === 'pipeline').map((use) => use.field)).toEqual(['(pipeline)', 'execution']);
      expect(task.volumes).toEqual({ '/checkpoints': 'train-eval-ckpts' });
    }
  });

  it('substitutes envs into file mounts and classifies every mount', () => {
    const [task] = parseGivingRequired('examples/nemo/nemo_gpt_distributed.yaml').tasks;
    expect(task?.fileMounts.map((mount) => [mount.target, mount.source, mount.mode])).toEqual([
      ['/wiki', 'gs://sky-wiki-data', 'copy'],
      ['/shared', null, 'bucket'],
    ]);
    const [storage] = parseGivingRequired('examples/managed_job_with_storage.yaml').tasks;
    const kinds = storage?.features.filter((use) => use.field.startsWith('file_mounts.')).map((use) => use.feature);
    expect(kinds).toEqual(['bucket_mount', 'bucket_mount', 'bucket_mount', ...Array(5).fill('local_file_mount')]);
  });

  it('records a git workdir as other and keeps envs as written text', () => {
    const [task] = parseGivingRequired('llm/fairseq2/multinode.sky.yaml').tasks;
    expect(task?.workdir).toBeNull();
    expect(task?.features.find((use) => use.field === 'workdir')).toMatchObject({ feature: 'other', detail: 'git https://github.com/facebookresearch/fairseq2.git@main' });
    expect(task?.envs.MAX_NUM_STEPS).toBe('2000');
    const [verl] = parseGivingRequired('llm/verl/multinode.yaml').tasks;
    expect(verl?.envs.ACTOR_LR).toBe('1e-6'); // as written, not reformatted
    expect(verl?.ordered).toBe(true);
  });

  it('folds the older cloud key into infra', () => {
    const [task] = parseGivingRequired('examples/amd/amd-minGPT-ddp.yaml').tasks;
    expect(task?.resources[0]).toMatchObject({ infra: 'kubernetes', accelerator: { name: 'MI300', count: 4 }, memoryGb: { value: 512, orMore: true } });
    expect(task?.features.some((use) => use.feature === 'cloud_infra')).toBe(false);
  });
});
