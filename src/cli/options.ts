// Parsing of command-line values shared by commands (job ids). `--env`/`--secret`: cli/env-flags.ts.

import { StintError } from '../core/errors.js';

export function parseJobId(text: string): number {
  const id = Number(text);
  if (!Number.isInteger(id) || id <= 0) {
    throw new StintError('INVALID_REQUEST', `"${text}" is not a job id; job ids are positive whole numbers (see \`stint queue\`)`, { value: text });
  }
  return id;
}
