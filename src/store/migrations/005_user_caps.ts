// Migration 005: per-user caps (GPUs held at once, jobs queued). Append-only.

import type { Migration } from './index.js';

const statements = [`CREATE TABLE user_caps (user_name TEXT PRIMARY KEY, max_gpus INTEGER, max_queued INTEGER)`];

export const migration005: Migration = { version: 5, name: 'user_caps', statements: { sqlite: statements, postgres: statements } };
