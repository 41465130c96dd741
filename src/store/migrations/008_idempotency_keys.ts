// Migration 008: idempotency keys of submissions (the Idempotency-Key request header). A key is
// unique per user id; it is written in the same transaction as the job it made, so a key exists
// if and only if its job does. `request_hash` is the SHA-256 of the submission's canonical body:
// the same key with another body is refused. Keys older than 24 h are ignored and deleted by the
// next keyed submission (index on created_at). Append-only.

import type { Migration } from './index.js';

const tables = (id: string, time: string) => [
  `CREATE TABLE idempotency_keys (
    user_id ${id} NOT NULL REFERENCES users (id),
    key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    job_id ${id} NOT NULL REFERENCES jobs (id),
    created_at ${time} NOT NULL,
    PRIMARY KEY (user_id, key)
  )`,
  `CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at)`,
];

export const migration008: Migration = {
  version: 8,
  name: 'idempotency_keys',
  statements: { sqlite: tables('INTEGER', 'INTEGER'), postgres: tables('BIGINT', 'BIGINT') },
};
