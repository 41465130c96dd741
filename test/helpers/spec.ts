// Task-file refusals for the parser's unit tests: the INVALID_SPEC error a file gets, and its issues.

import { StintError, type FieldIssue } from '../../src/core/errors.js';
import { parseTaskFile, type ParseOptions } from '../../src/core/spec/parse.js';

/** The INVALID_SPEC refusal of `yaml`; throws when the file is accepted or fails otherwise. */
export function refusal(yaml: string, opts?: ParseOptions): StintError {
  try {
    parseTaskFile(yaml, opts);
  } catch (error) {
    if (error instanceof StintError && error.code === 'INVALID_SPEC') return error;
    throw error;
  }
  throw new Error('expected the file to be refused');
}

export const issues = (yaml: string, opts?: ParseOptions): FieldIssue[] => refusal(yaml, opts).details.issues as FieldIssue[];
