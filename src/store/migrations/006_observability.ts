// Migration 006: observability and resilience. Drained GPUs and nodes (gpu_index -1 is the whole
// node), the health events behind them, per-job GPU telemetry (a downsampled series per attempt,
// with GPU-seconds and idle GPU-seconds), idle-GPU policies per project ('*' is the default), the
// webhooks users get alerts on, and two job columns: the earliest time a retried job may start
// again (retry backoff) and why stint itself cancelled a job (an idle job stopped). Append-only.

import type { Migration } from './index.js';

const tables = (id: string, time: string, real: string) => [
  `CREATE TABLE gpu_drains (backend TEXT NOT NULL, node TEXT NOT NULL, gpu_index INTEGER NOT NULL, reason TEXT NOT NULL, source TEXT NOT NULL, at ${time} NOT NULL, PRIMARY KEY (backend, node, gpu_index))`,
  `CREATE TABLE health_events (id ${id}, at ${time} NOT NULL, backend TEXT NOT NULL, node TEXT NOT NULL, gpu_index INTEGER, kind TEXT NOT NULL, detail TEXT NOT NULL)`,
  `CREATE INDEX health_events_at ON health_events (at)`,
  `CREATE TABLE job_telemetry (job_id ${time} NOT NULL, attempt INTEGER NOT NULL, updated_at ${time} NOT NULL, series TEXT NOT NULL, gpu_seconds ${real} NOT NULL, idle_gpu_seconds ${real} NOT NULL, PRIMARY KEY (job_id, attempt))`,
  `CREATE INDEX job_telemetry_updated ON job_telemetry (updated_at)`,
  `CREATE TABLE idle_policies (project TEXT PRIMARY KEY, threshold_percent ${real} NOT NULL, warn_after_seconds INTEGER NOT NULL, stop_after_seconds INTEGER, applies_to TEXT NOT NULL)`,
  `CREATE TABLE webhooks (user_name TEXT PRIMARY KEY, url TEXT NOT NULL, format TEXT NOT NULL)`,
  `ALTER TABLE jobs ADD COLUMN not_before ${time}`,
  `ALTER TABLE jobs ADD COLUMN cancel_reason TEXT`,
];

export const migration006: Migration = {
  version: 6,
  name: 'observability',
  statements: {
    sqlite: tables('INTEGER PRIMARY KEY AUTOINCREMENT', 'INTEGER', 'REAL'),
    postgres: tables('BIGSERIAL PRIMARY KEY', 'BIGINT', 'DOUBLE PRECISION'),
  },
};
