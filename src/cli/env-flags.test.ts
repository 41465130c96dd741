import { describe, expect, it } from 'vitest';
import { collectVariable, exportedEnvironment, resolveVariables } from './env-flags.js';

describe('--env / --secret', () => {
  it('keeps NAME=VALUE as written and takes NAME alone from the environment', () => {
    const given = ['A=1', 'B', 'C=x=y', 'D='].reduce((all, text) => collectVariable('--env')(text, all), [] as string[]);
    expect(resolveVariables('--env', given, { B: 'from-shell' })).toEqual({ A: '1', B: 'from-shell', C: 'x=y', D: '' });
    expect(resolveVariables('--env', undefined, {})).toBeUndefined();
  });

  it('names an unset variable and says how to give it', () => {
    expect(() => resolveVariables('--secret', ['HF_TOKEN'], {})).toThrow('--secret HF_TOKEN: HF_TOKEN is not set in your environment; pass --secret HF_TOKEN=VALUE or export it');
  });

  it("never takes an object's inherited members for a variable", () => {
    expect(() => resolveVariables('--env', ['constructor'], {})).toThrow(/constructor is not set/);
    expect(Object.keys(resolveVariables('--env', ['__proto__=x'], {})!)).toEqual(['__proto__']);
  });

  it('refuses a name that is not a shell name, as the user wrote it', () => {
    expect(() => collectVariable('--secret')('1X=2')).toThrow('--secret: "1X" is not a valid variable name');
  });
});

describe('--export-env', () => {
  it('warns about each variable left out for its length, naming it but not its value', () => {
    const lines: string[] = [];
    const env = exportedEnvironment({ KEEP: 'k', HUGE: 'q'.repeat(70_000), STINT_TOKEN: 't' }, (line) => lines.push(line));
    expect(env).toEqual({ KEEP: 'k' });
    expect(lines).toEqual(['stint: --export-env leaves out HUGE: its value is 70000 characters, more than the 65536 a job variable may hold; pass a shorter one with --env HUGE=VALUE if the job needs it\n']);
  });
});
