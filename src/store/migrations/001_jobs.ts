// Migration 001: jobs, attempts, events, GPU holds, meta. Append-only: never edit a shipped
// migration; add the next number instead. Both dialects' statements create the same tables,
// columns and indexes; they differ only in types: SQLite's INTEGER is 64-bit and AUTOINCREMENT
// never reuses an id, where PostgreSQL needs BIGINT/BIGSERIAL for ids and epoch-ms times and
// DOUBLE PRECISION for REAL. JSON stays TEXT on both, so rows map the same way.

import type { Migration } from './index.js';

const sqlite = [
    `CREATE TABLE jobs (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      name TEXT,
      owner TEXT NOT NULL,
      project TEXT,
      priority INTEGER NOT NULL,
      state TEXT NOT NULL,
      reason TEXT,
      spec TEXT NOT NULL,
      choices TEXT NOT NULL,
      secrets TEXT NOT NULL,
      backend TEXT,
      workdir_archive TEXT,
      attempt INTEGER NOT NULL DEFAULT 0,
      exit_code INTEGER,
      signal TEXT,
      submitted_at INTEGER NOT NULL,
      started_at INTEGER,
      ended_at INTEGER,
      cancel_requested_at INTEGER
    )`,
    `CREATE INDEX jobs_state ON jobs (state)`,
    `CREATE TABLE attempts (
      job_id INTEGER NOT NULL REFERENCES jobs (id),
      attempt INTEGER NOT NULL,
      backend TEXT NOT NULL,
      node TEXT,
      gpus TEXT NOT NULL,
      cpus REAL NOT NULL,
      memory_gb REAL NOT NULL,
      handle TEXT NOT NULL,
      log_path TEXT,
      started_at INTEGER NOT NULL,
      ended_at INTEGER,
      exit_code INTEGER,
      signal TEXT,
      end_reason TEXT,
      PRIMARY KEY (job_id, attempt)
    )`,
    `CREATE INDEX attempts_open ON attempts (job_id) WHERE ended_at IS NULL`,
    `CREATE TABLE events (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      job_id INTEGER NOT NULL REFERENCES jobs (id),
      at INTEGER NOT NULL,
      from_state TEXT,
      to_state TEXT NOT NULL,
      reason TEXT NOT NULL
    )`,
    `CREATE INDEX events_job ON events (job_id)`,
    `CREATE TABLE gpu_holds (
      backend TEXT NOT NULL,
      node TEXT NOT NULL,
      gpu_index INTEGER NOT NULL,
      job_id INTEGER NOT NULL REFERENCES jobs (id),
      PRIMARY KEY (backend, node, gpu_index)
    )`,
    `CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`,
];

const postgres = [
    `CREATE TABLE jobs (
      id BIGSERIAL PRIMARY KEY,
      name TEXT,
      owner TEXT NOT NULL,
      project TEXT,
      priority INTEGER NOT NULL,
      state TEXT NOT NULL,
      reason TEXT,
      spec TEXT NOT NULL,
      choices TEXT NOT NULL,
      secrets TEXT NOT NULL,
      backend TEXT,
      workdir_archive TEXT,
      attempt INTEGER NOT NULL DEFAULT 0,
      exit_code INTEGER,
      signal TEXT,
      submitted_at BIGINT NOT NULL,
      started_at BIGINT,
      ended_at BIGINT,
      cancel_requested_at BIGINT
    )`,
    `CREATE INDEX jobs_state ON jobs (state)`,
    `CREATE TABLE attempts (
      job_id BIGINT NOT NULL REFERENCES jobs (id),
      attempt INTEGER NOT NULL,
      backend TEXT NOT NULL,
      node TEXT,
      gpus TEXT NOT NULL,
      cpus DOUBLE PRECISION NOT NULL,
      memory_gb DOUBLE PRECISION NOT NULL,
      handle TEXT NOT NULL,
      log_path TEXT,
      started_at BIGINT NOT NULL,
      ended_at BIGINT,
      exit_code INTEGER,
      signal TEXT,
      end_reason TEXT,
      PRIMARY KEY (job_id, attempt)
    )`,
    `CREATE INDEX attempts_open ON attempts (job_id) WHERE ended_at IS NULL`,
    `CREATE TABLE events (
      id BIGSERIAL PRIMARY KEY,
      job_id BIGINT NOT NULL REFERENCES jobs (id),
      at BIGINT NOT NULL,
      from_state TEXT,
      to_state TEXT NOT NULL,
      reason TEXT NOT NULL
    )`,
    `CREATE INDEX events_job ON events (job_id)`,
    `CREATE TABLE gpu_holds (
      backend TEXT NOT NULL,
      node TEXT NOT NULL,
      gpu_index INTEGER NOT NULL,
      job_id BIGINT NOT NULL REFERENCES jobs (id),
      PRIMARY KEY (backend, node, gpu_index)
    )`,
    `CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`,
];

export const migration001: Migration = {
  version: 1,
  name: 'jobs',
  statements: { sqlite, postgres },
};
