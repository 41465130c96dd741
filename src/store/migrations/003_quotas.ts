// Migration 003: guaranteed GPU quotas and caps per project, and the preemption request of a job
// (when stint asked it to stop for another job, and why). Append-only.

import type { Migration } from './index.js';

export const migration003: Migration = {
  version: 3,
  name: 'quotas',
  statements: {
    sqlite: [
      `CREATE TABLE project_quotas (project TEXT PRIMARY KEY, guaranteed TEXT NOT NULL, max_gpus INTEGER, max_queued INTEGER)`,
      `ALTER TABLE jobs ADD COLUMN preempt_requested_at INTEGER`,
      `ALTER TABLE jobs ADD COLUMN preempt_reason TEXT`,
    ],
    postgres: [
      `CREATE TABLE project_quotas (project TEXT PRIMARY KEY, guaranteed TEXT NOT NULL, max_gpus INTEGER, max_queued INTEGER)`,
      `ALTER TABLE jobs ADD COLUMN preempt_requested_at BIGINT`,
      `ALTER TABLE jobs ADD COLUMN preempt_reason TEXT`,
    ],
  },
};
