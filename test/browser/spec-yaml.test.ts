// The web UI writes a job's normalised spec back as a task file (requeue, launch again with
// edits) and turns the launch form into one. Both must mean, to the real parser, what they came
// from: parse(specToYaml(parse(file))) == parse(file).
import { describe, expect, it } from 'vitest';
import { parseTaskFile } from '../../src/core/spec/parse.js';
import { maskSecrets } from '../../src/server/views.js';
import { specToYaml, type SpecLike } from '../../web/src/spec-yaml.js';
import { formToYaml } from '../../web/src/pages/launch-form.js';

const strip = (spec: ReturnType<typeof parseTaskFile>['tasks'][number]) => {
  const { features: _f, ...rest } = maskSecrets(spec) as unknown as Record<string, unknown> & { features: unknown };
  return rest;
};

describe('task files written by the web UI', () => {
  const files: Array<[string, string]> = [
    ['plain', 'name: t\nresources:\n  accelerators: A100:2\n  cpus: 4+\n  memory: 16\nenvs:\n  LR: "0.1"\nsetup: pip list\nrun: |\n  echo "a: b"\n  python train.py --x 1\n'],
    ['stint keys', 'name: s\npriority: 5\nproject: vision\nmax_runtime: 2h\nretries: {max: 2, on: [failure], exit_codes: [3]}\npreemptible: false\nrun: "  indented"\n'],
    ['any_of', 'resources:\n  any_of:\n    - accelerators: A100:1\n    - accelerators: H100:1\n      cpus: 2\nrun: x\n'],
    ['ordered', 'resources:\n  ordered:\n    - accelerators: H100:1\n    - accelerators: A100:1\nrun: x\n'],
  ];
  for (const [what, text] of files) {
    it(`round-trips a spec: ${what}`, () => {
      const first = parseTaskFile(text).tasks[0]!;
      const again = parseTaskFile(specToYaml(maskSecrets(first) as unknown as SpecLike)).tasks[0]!;
      expect(strip(again)).toEqual(strip(first));
    });
  }

  it('lists secrets with empty values to fill in, never their values', () => {
    const spec = parseTaskFile('secrets:\n  HF_TOKEN: hunter2\nrun: x\n').tasks[0]!;
    const yaml = specToYaml(maskSecrets(spec) as unknown as SpecLike);
    expect(yaml).not.toContain('hunter2');
    expect(yaml).toContain('"HF_TOKEN": ""');
  });

  it('turns the launch form into the task it shows', () => {
    const yaml = formToYaml({ name: 'demo', project: 'vision', gpuType: 'A100', gpuCount: 2, run: 'echo hi\necho there', setup: '', envs: [{ key: 'A', value: '1 2' }, { key: '', value: 'ignored' }], maxRuntime: '30m' });
    const spec = parseTaskFile(yaml).tasks[0]!;
    expect(spec).toMatchObject({ name: 'demo', project: 'vision', maxRuntimeSeconds: 1800, envs: { A: '1 2' }, run: 'echo hi\necho there' });
    expect(spec.resources[0]?.accelerator).toEqual({ name: 'A100', count: 2 });
  });
});
