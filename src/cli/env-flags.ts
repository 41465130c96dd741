// How `stint launch` turns the caller's shell into job variables: `--env NAME=VALUE` and
// `--secret NAME=VALUE` as written, `--env NAME` / `--secret NAME` (SkyPilot's form) from the
// caller's environment, and `--export-env` (or `export_env: true`) carrying the whole environment
// under the rules of core/spec/exported-env.ts. The environment arrives as a value (config.ts reads
// process.env); nothing here reads it. Invariant: no value is ever printed, only names and lengths.

import { StintError } from '../core/errors.js';
import { MAX_VALUE_LENGTH } from '../core/spec/envs.js';
import { exportableEnvironment } from '../core/spec/exported-env.js';

type Flag = '--env' | '--secret';
type Environment = Readonly<Record<string, string | undefined>>;

const NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Commander collector for a repeatable `--env`/`--secret`: checks the name, keeps the text. */
export function collectVariable(flag: Flag) {
  return (value: string, previous: string[] = []): string[] => {
    const eq = value.indexOf('=');
    const name = eq === -1 ? value : value.slice(0, eq);
    if (!NAME_PATTERN.test(name)) {
      throw new StintError('INVALID_REQUEST', `${flag}: "${name}" is not a valid variable name; expected ${flag} NAME=VALUE or ${flag} NAME with NAME made of letters, digits and _`, { field: flag, value: name });
    }
    return [...previous, value];
  };
}

/** `NAME=VALUE` as given; `NAME` from the caller's environment (an error when it is unset there). */
export function resolveVariables(flag: Flag, given: readonly string[] | undefined, environment: Environment): Record<string, string> | undefined {
  if (given === undefined) return undefined;
  const values: Array<[string, string]> = [];
  for (const text of given) {
    const eq = text.indexOf('=');
    if (eq !== -1) {
      values.push([text.slice(0, eq), text.slice(eq + 1)]);
      continue;
    }
    const value = Object.hasOwn(environment, text) ? environment[text] : undefined;
    if (typeof value !== 'string') {
      throw new StintError('INVALID_REQUEST', `${flag} ${text}: ${text} is not set in your environment; pass ${flag} ${text}=VALUE or export it`, { field: flag, value: text });
    }
    values.push([text, value]);
  }
  // fromEntries makes own properties even of names such as __proto__.
  return Object.fromEntries(values);
}

/** The environment `--export-env` sends; each variable left out for its length is named on `warn`. */
export function exportedEnvironment(environment: Environment, warn: (line: string) => void): Record<string, string> {
  const { env, tooLong } = exportableEnvironment(environment);
  for (const { name, length } of tooLong) {
    warn(`stint: --export-env leaves out ${name}: its value is ${length} characters, more than the ${MAX_VALUE_LENGTH.envs} a job variable may hold; pass a shorter one with --env ${name}=VALUE if the job needs it\n`);
  }
  return env;
}
