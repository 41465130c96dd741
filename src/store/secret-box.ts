// Job secrets at rest: the store seals a job's secret values (AES-256-GCM) before they reach the
// database and opens them only when a job row's `secrets` is read (launching an attempt, masking
// its logs). The key is a file of the server's home ($STINT_HOME/secrets.key, 0600), never in
// the database, so a copy of stint.db, its WAL, a backup or a PostgreSQL dump holds no secret
// value. Invariants: a sealed value is "sealed:v1:" + iv, tag and ciphertext (base64); text
// without that prefix is a row written before sealing (plain JSON) and is read as it is; a sealed
// value that this key cannot open is an error when read, never an empty set of secrets in silence.

import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { StintError } from '../core/errors.js';

const PREFIX = 'sealed:v1:';
const KEY_BYTES = 32;

export interface SecretBox {
  /** The stored form of a job's secrets JSON. */
  seal(json: string): string;
  /** The secrets JSON of a stored form; throws when it was sealed with another key. */
  open(stored: string, jobId: number): string;
}

/** Stores secrets as plain JSON (stores opened without a key: tests, tools). */
export const PLAIN_SECRETS: SecretBox = {
  seal: (json) => json,
  open: (stored, jobId) => {
    if (stored.startsWith(PREFIX)) throw unopenable(jobId, 'the store was opened without a secrets key');
    return stored;
  },
};

export function sealedSecrets(key: Buffer): SecretBox {
  if (key.length !== KEY_BYTES) throw new StintError('INVALID_REQUEST', `a secrets key is ${KEY_BYTES} bytes; this one is ${key.length}`, { field: 'secrets.key' });
  return {
    seal(json) {
      if (json === '{}') return json; // nothing to hide
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      const sealed = Buffer.concat([cipher.update(json, 'utf8'), cipher.final()]);
      return `${PREFIX}${iv.toString('base64')}:${cipher.getAuthTag().toString('base64')}:${sealed.toString('base64')}`;
    },
    open(stored, jobId) {
      if (!stored.startsWith(PREFIX)) return stored;
      const [iv, tag, data] = stored.slice(PREFIX.length).split(':');
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv ?? '', 'base64'));
        decipher.setAuthTag(Buffer.from(tag ?? '', 'base64'));
        return Buffer.concat([decipher.update(Buffer.from(data ?? '', 'base64')), decipher.final()]).toString('utf8');
      } catch (error) {
        throw unopenable(jobId, 'the secrets key is not the one they were sealed with', error);
      }
    },
  };
}

/** The key in `path`, made (32 random bytes, 0600) when there is none yet. */
export function loadSecretKey(path: string): Buffer {
  if (!existsSync(path)) {
    try {
      writeFileSync(path, randomBytes(KEY_BYTES).toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
  chmodSync(path, 0o600);
  const key = Buffer.from(readFileSync(path, 'utf8').trim(), 'base64');
  if (key.length !== KEY_BYTES) throw new StintError('INVALID_REQUEST', `${path} does not hold a ${KEY_BYTES}-byte base64 key; restore it from a backup (sealed secrets cannot be opened without it)`, { path });
  return key;
}

function unopenable(jobId: number, why: string, cause?: unknown): StintError {
  return new StintError('INTERNAL', `the secrets of job ${jobId} cannot be opened: ${why} ($STINT_HOME/secrets.key)`, { job: jobId }, { cause });
}
