// Parsing of repeated command-line options shared by commands (`--env K=V`, `--secret K=V`).

import { StintError } from '../core/errors.js';

export function collectPair(flag: string) {
  return (value: string, previous: Record<string, string> = {}): Record<string, string> => {
    const eq = value.indexOf('=');
    const key = eq === -1 ? value : value.slice(0, eq);
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) {
      throw new StintError('INVALID_REQUEST', `${flag}: "${key}" is not a valid variable name; expected ${flag} NAME=VALUE with NAME made of letters, digits and _`, { field: flag });
    }
    if (eq === -1) {
      throw new StintError('INVALID_REQUEST', `${flag} ${key}: no value; expected ${flag} ${key}=VALUE`, { field: flag });
    }
    return { ...previous, [key]: value.slice(eq + 1) };
  };
}

export function parseJobId(text: string): number {
  const id = Number(text);
  if (!Number.isInteger(id) || id <= 0) {
    throw new StintError('INVALID_REQUEST', `"${text}" is not a job id; job ids are positive whole numbers (see \`stint queue\`)`, { value: text });
  }
  return id;
}
