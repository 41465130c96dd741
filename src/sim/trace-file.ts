// Reading trace and quota files from disk: plain or gzip-compressed (by the `.gz` suffix or the
// gzip magic bytes). The only I/O of the simulator besides the CLI's output.

import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { StintError } from '../core/errors.js';

export function readTextFile(path: string, flag: string): string {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    throw new StintError('INVALID_REQUEST', `${flag}: cannot read ${path}: ${(error as Error).message}`, { field: flag, value: path }, { cause: error });
  }
  const gzipped = path.endsWith('.gz') || (bytes[0] === 0x1f && bytes[1] === 0x8b);
  try {
    return (gzipped ? gunzipSync(bytes) : bytes).toString('utf8');
  } catch (error) {
    throw new StintError('INVALID_REQUEST', `${flag}: ${path} is not valid gzip: ${(error as Error).message}`, { field: flag, value: path }, { cause: error });
  }
}
