// The configuration file's validation: every problem names the field path, its line and value.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { StintError } from '../core/errors.js';
import { localBackendType, readConfigFile, type BackendType } from './config-file.js';

const remoteType: BackendType = {
  schema: z.strictObject({ name: z.string(), type: z.literal('remote'), workdir: z.string().startsWith('/', 'must be an absolute path') }),
};
const TYPES = { local: localBackendType, remote: remoteType };

function file(text: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'stint-config-')), 'stint.yaml');
  writeFileSync(path, text);
  return path;
}

function failure(text: string): StintError {
  try {
    readConfigFile(file(text), TYPES);
  } catch (error) {
    if (error instanceof StintError) return error;
    throw error;
  }
  throw new Error('expected the file to be refused');
}

describe('readConfigFile', () => {
  it('returns the backends in the file order with their validated sections', () => {
    const config = readConfigFile(file('backends:\n  - {name: desk, type: local, gpus: "A100:4"}\n  - {name: hpc, type: remote, workdir: /shared/stint}\n'), TYPES);
    expect(config.backends.map((b) => [b.name, b.type])).toEqual([['desk', 'local'], ['hpc', 'remote']]);
    expect(config.backends[1]!.config.workdir).toBe('/shared/stint');
  });

  it('names an unknown type with its line and the accepted types', () => {
    const error = failure('backends:\n  - name: hpc\n    type: slurmm\n');
    expect(error.code).toBe('INVALID_REQUEST');
    expect(error.message).toContain('backends[0].type (line 3:11): got "slurmm"; must be one of: local, remote');
  });

  it('names a bad field of a section with its path, line and value', () => {
    const error = failure('backends:\n  - name: hpc\n    type: remote\n    workdir: shared/stint\n');
    expect(error.message).toContain('backends[0].workdir (line 4:14): got "shared/stint"; must be an absolute path');
  });

  it('refuses a key no backend type has instead of ignoring it', () => {
    const error = failure('backends:\n  - name: desk\n    type: local\n    partiton: gpu\n');
    expect(error.message).toMatch(/backends\[0\]/);
    expect(error.message).toMatch(/partiton/);
  });

  it('refuses duplicate names, two local backends, unknown top-level keys and broken YAML', () => {
    expect(failure('backends:\n  - {name: a, type: local}\n  - {name: a, type: remote, workdir: /x}\n').message).toContain('backends[1].name (line 3:12): is used by an earlier backend');
    expect(failure('backends:\n  - {name: a, type: local}\n  - {name: b, type: local}\n').message).toContain('at most one');
    expect(failure('backend:\n  - {name: a, type: local}\n').message).toContain('backend (line 1:1): is not a configuration key; accepted: backends');
    expect(failure('backends: [\n').message).toContain('(yaml)');
    expect(failure('backends: []\n').message).toContain('must be a non-empty list');
  });

  it('names a file it cannot read', () => {
    expect(() => readConfigFile('/nonexistent/stint.yaml', TYPES)).toThrow(/--config \/nonexistent\/stint.yaml: cannot read it \(ENOENT\)/);
  });
});
