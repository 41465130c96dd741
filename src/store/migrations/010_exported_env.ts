// Migration 010: the submitter's environment carried into a job (`stint launch --export-env`,
// `export_env: true`), one row per job that carries one, written in the job's transaction. `env` is
// the JSON map as the store's SecretBox seals it (as jobs.secrets is), so a copy of the database
// holds no value; it is read only to launch an attempt, never by a listing. Jobs without an
// exported environment have no row. Append-only.

import type { Migration } from './index.js';

const tables = (id: string) => [
  `CREATE TABLE job_exported_env (
    job_id ${id} PRIMARY KEY REFERENCES jobs (id),
    env TEXT NOT NULL
  )`,
];

export const migration010: Migration = {
  version: 10,
  name: 'exported_env',
  statements: { sqlite: tables('INTEGER'), postgres: tables('BIGINT') },
};
