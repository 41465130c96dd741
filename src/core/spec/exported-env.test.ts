import { describe, expect, it } from 'vitest';
import { issues } from '../../../test/helpers/spec.js';
import { StintError } from '../errors.js';
import { MAX_VALUE_LENGTH } from './envs.js';
import { checkExportedEnv, exportableEnvironment, MAX_EXPORTED_TOTAL, notExportable } from './exported-env.js';
import { parseTaskFile } from './parse.js';

function thrown(run: () => unknown): StintError {
  try {
    run();
  } catch (error) {
    if (error instanceof StintError) return error;
    throw error;
  }
  throw new Error('expected a StintError');
}

describe('export_env in the task file', () => {
  it('is false unless the task says true, at the top level or under stint:', () => {
    expect(parseTaskFile('run: env\n').tasks[0]?.exportEnv).toBe(false);
    expect(parseTaskFile('export_env: true\nrun: env\n').tasks[0]?.exportEnv).toBe(true);
    expect(parseTaskFile('stint: {export_env: true}\nrun: env\n').tasks[0]?.exportEnv).toBe(true);
  });

  it('refuses a value that is not a boolean, naming the field and what is accepted', () => {
    expect(issues('export_env: yes please\nrun: env\n')[0]).toMatchObject({ field: 'export_env', line: 1, value: 'yes please', accepted: 'true or false', message: 'must be true or false' });
    expect(issues('stint:\n  export_env: 1\nrun: env\n')[0]).toMatchObject({ field: 'stint.export_env', line: 2 });
  });

  it('suggests export_env for a near miss', () => {
    expect(issues('export_envs: true\nrun: env\n')[0]?.message).toMatch(/did you mean `export_env`/);
  });
});

describe('what the CLI carries of its environment', () => {
  it("leaves out stint's own variables, names that are not shell names and what the host sets", () => {
    const { env, tooLong } = exportableEnvironment({
      MY_SUBMIT_VAR: 'kept', PATH: '/opt/conda/bin:/usr/bin', CONDA_PREFIX: '/opt/conda', EMPTY: '',
      STINT_TOKEN: 't0ken', STINT_URL: 'http://x', 'BASH_FUNC_x%%': '() { :; }', '1BAD': 'x', 'A-B': 'x',
      HOME: '/home/other', USER: 'other', LOGNAME: 'other', CUDA_VISIBLE_DEVICES: '0,1', SLURM_JOB_ID: '7', UNSET: undefined,
      UID: '0', SHELLOPTS: 'braceexpand',
    });
    expect(env).toEqual({ MY_SUBMIT_VAR: 'kept', PATH: '/opt/conda/bin:/usr/bin', CONDA_PREFIX: '/opt/conda', EMPTY: '' });
    expect(tooLong).toEqual([]);
  });

  it('leaves out a value past the env limit and names it (length only, never the value)', () => {
    const { env, tooLong } = exportableEnvironment({ BIG: 'v'.repeat(MAX_VALUE_LENGTH.envs + 1), OK: 'v'.repeat(MAX_VALUE_LENGTH.envs) });
    expect(Object.keys(env)).toEqual(['OK']);
    expect(tooLong).toEqual([{ name: 'BIG', length: MAX_VALUE_LENGTH.envs + 1 }]);
  });

  it('refuses more text than a submission may carry, naming the largest variables', () => {
    const environment: Record<string, string> = {};
    for (let i = 0; i < 20; i++) environment[`V${i}`] = String(i % 10).repeat(60_000);
    const error = thrown(() => exportableEnvironment(environment));
    expect(error.code).toBe('INVALID_REQUEST');
    expect(error.details).toMatchObject({ field: '--export-env', accepted: `at most ${MAX_EXPORTED_TOTAL} characters of names and values together` });
    expect(error.message).toMatch(/the largest: V\d+ \(60000 characters\)/);
    expect(error.message).toMatch(/--env NAME/);
    expect(error.message).not.toContain('000000000');
  });
});

describe("the server's check of exportedEnv", () => {
  it('accepts what the CLI sends', () => {
    expect(() => checkExportedEnv({ MY_SUBMIT_VAR: 'x', PATH: '/usr/bin', EMPTY: '' })).not.toThrow();
  });

  it.each([
    ['BASH_FUNC_x%%', /not a valid shell variable name/],
    ['STINT_TOKEN', /stint's own variables/],
    ['STINT_RUN_AS_UID', /stint's own variables/],
    ['HOME', /set for each job by the host/],
    ['SLURM_JOB_ID', /set for each job by the host/],
    ['UID', /read-only in bash/],
    ['', /not a valid shell variable name/],
  ])('refuses the name %j with 400 naming exportedEnv.<name>', (name, why) => {
    const error = thrown(() => checkExportedEnv({ OK: '1', [name]: 'x' }));
    expect(error.code).toBe('INVALID_REQUEST');
    expect(error.details.field).toBe(`exportedEnv.${name}`);
    expect(error.message).toMatch(why);
  });

  it('refuses an oversize value by its length, never showing it', () => {
    const error = thrown(() => checkExportedEnv({ LONG: 's3cret'.repeat(20_000) }));
    expect(error.details).toMatchObject({ field: 'exportedEnv.LONG', value: 120_000, accepted: `at most ${MAX_VALUE_LENGTH.envs} characters` });
    expect(JSON.stringify({ m: error.message, d: error.details })).not.toContain('s3cret');
  });

  it('shortens a huge bad name in the message', () => {
    const name = `${'x'.repeat(500)}-`;
    const error = thrown(() => checkExportedEnv({ [name]: 'v' }));
    expect(error.message.length).toBeLessThan(400);
  });

  it('refuses too many variables', () => {
    const many = Object.fromEntries(Array.from({ length: 5001 }, (_, i) => [`V${i}`, '']));
    expect(thrown(() => checkExportedEnv(many)).details).toMatchObject({ field: 'exportedEnv', value: 5001 });
  });
});

describe('notExportable', () => {
  it('allows ordinary names, PATH and SHELL included', () => {
    for (const name of ['PATH', 'SHELL', 'LANG', 'VIRTUAL_ENV', '_', 'stint_lower']) expect(notExportable(name)).toBeNull();
  });
});
