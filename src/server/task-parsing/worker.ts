// The worker thread of task-parser.ts: parses one task file per message and answers with the
// TaskFile or the StintError's {code, message, details}. Holds no state between messages; says
// {ready: true} once its modules are loaded.

import { parentPort } from 'node:worker_threads';
import { StintError } from '../../core/errors.js';
import { parseTaskFile, type ParseOptions } from '../../core/spec/parse.js';

export interface ParseRequest {
  id: number;
  text: string;
  opts: ParseOptions;
}

parentPort?.on('message', ({ id, text, opts }: ParseRequest) => {
  try {
    parentPort!.postMessage({ id, file: parseTaskFile(text, opts) });
  } catch (error) {
    const wire = error instanceof StintError ? error.toJSON() : { code: 'INTERNAL', message: String(error), details: {} };
    parentPort!.postMessage({ id, error: wire });
  }
});
// Modules are loaded: the parser's time limit starts counting from here.
parentPort?.postMessage({ ready: true });
