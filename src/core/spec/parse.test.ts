import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { issues, refusal } from '../../../test/helpers/spec.js';
import type { FieldIssue } from '../errors.js';
import { parseTaskFile, type ParseOptions } from './parse.js';
import { DEFAULT_RETRY_POLICY } from './stint-keys.js';
import type { TaskSpec } from './types.js';

function task(yaml: string, opts?: ParseOptions): TaskSpec {
  const [first] = parseTaskFile(yaml, opts).tasks;
  if (!first) throw new Error('no task');
  return first;
}


function fixture(name: string): string {
  return readFileSync(new URL(`../../../test/fixtures/specs/${name}`, import.meta.url), 'utf8');
}

describe('errors name the field and its line', () => {
  it('reports bad YAML syntax at its position, without quoting the source', () => {
    const error = refusal('name: x\nenvs:\n  A: [1, 2\nrun: echo\n');
    const [issue] = error.details.issues as FieldIssue[];
    expect(issue).toMatchObject({ field: '(yaml)', line: 4 });
    expect(issue?.message).toMatch(/^invalid YAML: /);
    expect(issue?.message).not.toContain('\n');
  });

  it('reports an unknown key with the nearest known one', () => {
    const [issue] = issues('name: x\nrun: echo\nresource:\n  cpus: 2\n');
    expect(issue).toMatchObject({ field: 'resource', line: 3, col: 1, value: 'resource' });
    expect(issue?.message).toBe('unknown key `resource`; did you mean `resources`?');
    expect(issue?.accepted).toContain('resources');
  });

  it('gives no suggestion when nothing is close', () => {
    expect(issues('frobnicate: 1\n')[0]?.message).toBe('unknown key `frobnicate`');
  });

  it('reports wrong types with what is accepted', () => {
    const [issue] = issues('num_nodes: two\n');
    expect(issue).toMatchObject({ field: 'num_nodes', line: 1, col: 12, value: 'two' });
    expect(issue?.message).toContain('integer');
    expect(issues('envs: [A, B]\n')[0]).toMatchObject({ field: 'envs', line: 1, col: 7 });
    expect(issues('run: [echo]\n')[0]).toMatchObject({ field: 'run', message: 'must be a string' });
    expect(issues('resources:\n  use_spot: yes\n')[0]).toMatchObject({ field: 'resources.use_spot', accepted: 'true or false' });
  });

  it('collects every problem of the file, not only the first', () => {
    const error = refusal('resource: {}\nnum_nodes: 0\nresources:\n  cpus: -1\n  accelerators: A100:-2\npriority: 5000\n', { fileName: 'task.yaml' });
    expect((error.details.issues as FieldIssue[]).map((issue) => [issue.field, issue.line])).toEqual([
      ['resource', 1],
      ['num_nodes', 2],
      ['resources.cpus', 4],
      ['resources.accelerators', 5],
      ['priority', 6],
    ]);
    expect(error.message).toMatch(/^task\.yaml has 5 problems:\nresource \(line 1:1\): unknown key/);
  });

  it('refuses an empty file and a file of comments', () => {
    expect(issues('')[0]).toMatchObject({ field: '(file)' });
    expect(issues('# nothing here\n')[0]?.message).toContain('no task');
  });

  it('refuses a document that is not a map', () => {
    expect(issues('- run: echo\n')[0]).toMatchObject({ field: '(task)', line: 1 });
  });
}
);

describe('envs and secrets', () => {
  it('stringifies numbers and booleans as written', () => {
    expect(task('envs:\n  A: 1\n  B: 0.10\n  C: true\n  D: ""\n  E: text\n').envs).toEqual({ A: '1', B: '0.10', C: 'true', D: '', E: 'text' });
  });

  it('requires a null value to be given, naming the flag', () => {
    const [issue] = issues('envs:\n  TOKEN:\nrun: echo\n');
    expect(issue).toMatchObject({ field: 'envs.TOKEN', line: 2, col: 3 });
    expect(issue?.message).toContain('--env TOKEN=VALUE');
    expect(task('envs:\n  TOKEN:\n', { envOverrides: { TOKEN: 'abc' } }).envs).toEqual({ TOKEN: 'abc' });
  });

  it('lets overrides replace values and add names', () => {
    expect(task('envs:\n  A: file\n', { envOverrides: { A: 'cli', B: 'new' } }).envs).toEqual({ A: 'cli', B: 'new' });
  });

  it('refuses bad names', () => {
    expect(issues('envs:\n  1BAD: x\n')[0]).toMatchObject({ field: 'envs.1BAD', line: 2, col: 3 });
    expect(issues('run: x\n', { envOverrides: { 'NO-DASH': 'x' } })[0]).toEqual(expect.objectContaining({ field: 'envs.NO-DASH' }));
  });

  it('fills secrets from --secret and asks for missing ones', () => {
    expect(task('secrets:\n  HF_TOKEN: null\n', { secretOverrides: { HF_TOKEN: 'hf_abc' } }).secrets).toEqual({ HF_TOKEN: 'hf_abc' });
    expect(issues('secrets:\n  HF_TOKEN: null\n')[0]?.message).toContain('--secret HF_TOKEN=VALUE');
  });

  it('never puts a secret value in an error', () => {
    const secret = 'sk-very-secret-4242';
    const cases: Array<[string, ParseOptions?]> = [
      [`secrets:\n  TOKEN: {nested: ${secret}}\n`],
      [`secrets:\n  TOKEN: [${secret}]\nnum_nodes: x\n`],
      [`secrets: ${secret}\n`],
      [`secrets:\n  TOKEN: ${secret}\n  BAD: [unclosed\n`],
      [`secrets:\n  TOKEN: "unterminated ${secret}\n`],
      [`secrets:\n  TOKEN: |2x ${secret}\n    text\n`],
      ['secrets:\n  TOKEN: null\nenvs:\n  TOKEN: x\nnum_nodes: 0\n', { secretOverrides: { TOKEN: secret } }],
    ];
    for (const [yaml, opts] of cases) {
      const error = refusal(yaml, opts);
      expect(JSON.stringify(error.toJSON())).not.toContain(secret);
      expect(error.message).not.toContain(secret);
    }
  });

  it('substitutes envs, not secrets, into file mounts', () => {
    const spec = task('envs:\n  B: my-bucket\nsecrets:\n  S: hidden\nfile_mounts:\n  /data/$S: s3://${B}/x\n');
    expect(spec.fileMounts).toEqual([{ target: '/data/$S', source: 's3://my-bucket/x', mode: 'copy', pos: { line: 6, col: 3 } }]);
  });
});

describe("stint's own keys", () => {
  it('has defaults', () => {
    const spec = task('run: echo\n');
    expect(spec).toMatchObject({ priority: 0, maxRuntimeSeconds: null, preemptible: true, project: null, retries: DEFAULT_RETRY_POLICY });
  });

  it('reads them at the top level', () => {
    const spec = task('priority: -5\nmax_runtime: 1h30m\nretries: 2\npreemptible: false\nproject: vision\n');
    expect(spec).toMatchObject({ priority: -5, maxRuntimeSeconds: 5400, preemptible: false, project: 'vision', retries: { max: 2, on: ['preemption', 'node_failure'], exitCodes: [] } });
  });

  it('reads them under stint:, and refuses one given twice', () => {
    expect(task('stint:\n  priority: 7\n  max_runtime: 90\n')).toMatchObject({ priority: 7, maxRuntimeSeconds: 90 });
    const [issue] = issues('priority: 1\nstint:\n  priority: 2\n');
    expect(issue).toMatchObject({ field: 'stint.priority', line: 3, col: 3 });
    expect(issue?.message).toContain('line 1');
    expect(issues('stint:\n  priorty: 2\n')[0]?.message).toContain('did you mean `priority`?');
  });

  it('reads a retry map', () => {
    expect(task('retries:\n  max: 4\n  on: [failure]\n  exit_codes: [137, 1]\n').retries).toEqual({ max: 4, on: ['failure'], exitCodes: [137, 1] });
    expect(issues('retries:\n  max: 1\n  exit_codes: [1]\n')[0]).toMatchObject({ field: 'retries.exit_codes', line: 3 });
    expect(issues('retries:\n  max: 1\n  on: [crash]\n')[0]).toMatchObject({ field: 'retries.on', line: 3, col: 8 });
    expect(issues('retries:\n  on: [failure]\n')[0]).toMatchObject({ field: 'retries.max' });
  });

  it.each([
    ['priority: 1001', 'priority'],
    ['priority: 1.5', 'priority'],
    ['max_runtime: 0', 'max_runtime'],
    ['max_runtime: soon', 'max_runtime'],
    ['retries: -1', 'retries'],
    ['preemptible: maybe', 'preemptible'],
    ['project: ""', 'project'],
  ])('refuses %s', (line, field) => {
    expect(issues(`${line}\n`)).toMatchObject([{ field, line: 1 }]);
  });
});

describe('pipelines', () => {
  const pipeline = 'name: pipe\n---\nname: prep\nrun: echo a\n---\nname: train\nresources:\n  accelerators: A100:1\nrun: echo b\n';

  it('reads the header name and each task, recording pipeline on each', () => {
    const parsed = parseTaskFile(pipeline);
    expect(parsed.name).toBe('pipe');
    expect(parsed.tasks.map((spec) => spec.name)).toEqual(['prep', 'train']);
    for (const spec of parsed.tasks) {
      expect(spec.features[0]).toEqual({ feature: 'pipeline', field: '(pipeline)', pos: { line: 6, col: 1 }, detail: '2 tasks: prep, train' });
    }
  });

  it('treats a first document with task keys as a task', () => {
    const parsed = parseTaskFile('name: a\nrun: echo\n---\nname: b\nrun: echo\n');
    expect(parsed.tasks).toHaveLength(2);
    expect(parsed.name).toBe('a');
  });

  it('a header and one task is not a pipeline', () => {
    const parsed = parseTaskFile('name: only\n---\nrun: echo\n');
    expect(parsed.name).toBe('only');
    expect(parsed.tasks[0]?.features).toEqual([]);
  });

  it('refuses header keys inside a task, and reports issues of every document', () => {
    const found = issues('name: p\n---\nexecution: parallel\nrun: echo\n---\nrun: [x]\n');
    expect(found.map((issue) => [issue.field, issue.line])).toEqual([
      ['execution', 3],
      ['run', 6],
    ]);
  });
});

describe('shared fixtures', () => {
  it('parses fake-gpus.yaml', () => {
    const spec = task(fixture('fake-gpus.yaml'));
    expect(spec).toMatchObject({ name: 'fake-gpus', priority: 10, maxRuntimeSeconds: 300, features: [] });
    expect(spec.resources).toHaveLength(1);
    expect(spec.resources[0]?.accelerator).toEqual({ name: 'A100', count: 2 });
  });

  it('parses unknown-gpu.yaml (admission refuses it)', () => {
    expect(task(fixture('unknown-gpu.yaml')).resources[0]?.accelerator).toEqual({ name: 'V100', count: 1 });
  });

  it.each([
    ['bad-yaml.yaml', { field: '(yaml)', line: 6 }],
    ['wrong-type.yaml', { field: 'num_nodes', line: 3, col: 12, value: 'two' }],
    ['negative-count.yaml', { field: 'resources.accelerators', line: 4, col: 17, value: 'A100:-2' }],
    ['unknown-key.yaml', { field: 'resource', line: 3, col: 1, message: 'unknown key `resource`; did you mean `resources`?' }],
  ])('refuses %s', (name, expected) => {
    const error = refusal(fixture(name), { fileName: name });
    expect(error.details.issues).toEqual([expect.objectContaining(expected)]);
    expect(error.message.startsWith(`${name} has a problem:\n`)).toBe(true);
  });
});
