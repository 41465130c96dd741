// The bounds parse.ts and document-limits.ts put on one task file: size, documents, aliases,
// depth, duplicate keys, unknown keys, envs/secrets counts and durations. Each refusal names the
// field, the value and what is accepted.
import { describe, expect, it } from 'vitest';
import { issues, refusal } from '../../../test/helpers/spec.js';
import type { FieldIssue } from '../errors.js';
import { MAX_ALIASES, MAX_DEPTH } from './document-limits.js';
import { MAX_FILE_VARIABLES, MAX_VARIABLES } from './envs.js';
import { MAX_DOCUMENTS, MAX_TASK_BYTES, parseTaskFile } from './parse.js';

const lines = (count: number, line: (i: number) => string): string => Array.from({ length: count }, (_, i) => line(i)).join('\n');

describe('size and documents', () => {
  it('refuses a file over MAX_TASK_BYTES, counting UTF-8 bytes', () => {
    expect(issues(`run: "${'é'.repeat(MAX_TASK_BYTES / 2)}"`)[0]).toMatchObject({ field: '(file)', accepted: 'a task file of at most 256 KiB' });
    expect(parseTaskFile(`run: "${'x'.repeat(MAX_TASK_BYTES - 20)}"`).tasks).toHaveLength(1);
  });

  it('stops composing after MAX_DOCUMENTS documents', () => {
    const [issue] = issues(lines(MAX_DOCUMENTS + 1, () => 'run: x').split('\n').join('\n---\n'));
    expect(issue).toMatchObject({ field: '(file)', line: 2 * MAX_DOCUMENTS });
    expect(issue?.message).toMatch(/more than 64 documents/);
    expect(parseTaskFile(lines(MAX_DOCUMENTS, () => 'run: x').split('\n').join('\n---\n')).tasks).toHaveLength(MAX_DOCUMENTS);
  });
});

describe('aliases', () => {
  it('resolve to the last anchor before them, as the YAML library does', () => {
    const spec = parseTaskFile('envs: {A: &v one, B: *v, C: &v two, D: *v}\nrun: x').tasks[0]!;
    expect(spec.envs).toEqual({ A: 'one', B: 'one', C: 'two', D: 'two' });
    expect(parseTaskFile('config: &e {K: 1}\nenvs: *e\nrun: x').tasks[0]?.envs).toEqual({ K: '1' });
  });

  it('refuses more than MAX_ALIASES', () => {
    const [issue] = issues(`x: &a 1\nenvs:\n${lines(MAX_ALIASES + 1, (i) => `  A${i}: *a`)}\nrun: x`);
    expect(issue?.message).toMatch(/more than 1000 aliases/);
  });

  it('refuses an expansion beyond the budget (one big scalar repeated)', () => {
    const [issue] = issues(`x: &s ${'a'.repeat(1000)}\nenvs:\n${lines(400, (i) => `  A${i}: *s`)}\nrun: x`);
    expect(issue?.message).toMatch(/aliases expand the file beyond 256 KiB/);
  });

  it('refuses billion laughs', () => {
    const levels = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 9; i++) levels.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(10).fill(`*${String.fromCharCode(96 + i)}`).join(', ')}]`);
    expect(issues(`${levels.join('\n')}\nrun: x`)[0]?.message).toMatch(/aliases expand/);
  });

  it('refuses an alias inside the node it names', () => {
    expect(issues('envs: &e {A: *e}\nrun: x')[0]?.message).toMatch(/alias \*e refers to a map or list that contains it/);
  });
});

describe('structure', () => {
  it('refuses nesting deeper than MAX_DEPTH', () => {
    const deep = `${'['.repeat(MAX_DEPTH + 2)}${']'.repeat(MAX_DEPTH + 2)}`;
    expect(issues(`config: ${deep}\nrun: x`)[0]?.message).toMatch(/nested deeper than 64 levels/);
  });

  it('reports a duplicate key where the YAML library did, in block and flow maps', () => {
    expect(issues('run: x\nenvs:\n  A: 1\n  A: 2\n')[0]).toMatchObject({ field: '(yaml)', line: 4, col: 3, message: 'invalid YAML: Map keys must be unique' });
    expect(issues('envs: {A: 1, B: 2, A: 3}\nrun: x')[0]).toMatchObject({ line: 1, col: 20 });
    expect(parseTaskFile('config: {1: a, "1": b}\nrun: x').tasks).toHaveLength(1);
  });

  it('reports 20 unknown keys, the accepted keys once, and counts the rest', () => {
    const found = issues(`run: x\n${lines(500, (i) => `k${i}: 1`)}`);
    expect(found).toHaveLength(21);
    expect(found.filter((issue) => issue.accepted !== undefined)).toHaveLength(1);
    expect(found[20]?.message).toBe('and 480 more unknown keys (the first at this line)');
  });

  it('turns only the first 100 YAML errors of a garbage file into issues', () => {
    const error = refusal(lines(2000, (i) => `${i}: [: {] } ] : - ? &`));
    expect((error.details.issues as FieldIssue[]).length).toBe(100);
    expect(error.details.notShown).toBeGreaterThan(1000);
  });

  it('keeps at most 100 issues and says how many more there were', () => {
    const error = refusal(`run: x\nenvs:\n${lines(300, (i) => `  ${i}bad: 1`)}`);
    expect((error.details.issues as FieldIssue[]).length).toBe(100);
    expect(error.details.notShown).toBe(200);
    expect(error.message).toMatch(/has 300 problems:.*\.\.\. and 200 more not shown$/s);
  });
});

describe('counts and durations', () => {
  it('caps the envs map and envs with --env together', () => {
    expect(issues(`envs:\n${lines(MAX_FILE_VARIABLES + 1, (i) => `  K${i}: v`)}\nrun: x`)[0]).toMatchObject({ field: 'envs', value: 1001 });
    const many = Object.fromEntries(Array.from({ length: MAX_VARIABLES + 1 }, (_, i) => [`S${i}`, 'v']));
    expect(issues('run: x', { secretOverrides: many })[0]?.message).toMatch(/5001 secrets.*at most 5000/);
  });

  it('refuses max_runtime over 365 days and a backoff over 7 days, naming the range', () => {
    expect(issues('max_runtime: 300000000d\nrun: x')[0]).toMatchObject({ field: 'max_runtime', value: '300000000d', message: 'must be at most 365d' });
    expect(issues('max_runtime: 366d\nrun: x')[0]?.accepted).toMatch(/at most 365d/);
    expect(parseTaskFile('max_runtime: 365d\nrun: x').tasks[0]?.maxRuntimeSeconds).toBe(365 * 86400);
    expect(issues('retries: {max: 1, backoff: 8d}\nrun: x')[0]).toMatchObject({ field: 'retries.backoff', message: 'must be at most 7d' });
    expect(issues(`max_runtime: ${'9'.repeat(400)}\nrun: x`)[0]?.field).toBe('max_runtime');
  });

  it('refuses GPU counts beyond any node', () => {
    expect(issues('resources: {accelerators: "A100:5000"}\nrun: x')[0]?.message).toMatch(/at most 1024 per node/);
    expect(issues('resources: {accelerators: {A100: 4096}}\nrun: x')[0]?.message).toMatch(/at most 1024 per node/);
  });

  it('refuses CPU counts and sizes beyond any machine', () => {
    expect(issues('resources: {cpus: 1e9}\nrun: x')[0]?.message).toBe('must be at most 100000');
    expect(issues('resources: {memory: 2PB}\nrun: x')[0]?.message).toMatch(/at most 1048576 GB/);
  });
});
