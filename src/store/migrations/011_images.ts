// Migration 011: container images imported with `stint image import` (src/containers/images.ts).
// One row per stint image name (the primary key): who imported it (the owner's name for display,
// its user id for the ownership rule), the podman image id and manifest digest it stands for, its
// size, what kind of archive it came from, and when. podman's storage is the truth for whether the
// image still exists; this table is the truth for who owns a name. Append-only.

import type { Migration } from './index.js';

const tables = (id: string, big: string) => [
  `CREATE TABLE images (
    name TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    owner_id ${id},
    image_id TEXT NOT NULL,
    digest TEXT NOT NULL,
    size_bytes ${big} NOT NULL,
    source TEXT NOT NULL,
    created_at ${big} NOT NULL
  )`,
  `CREATE INDEX images_owner ON images (owner_id)`,
];

export const migration011: Migration = {
  version: 11,
  name: 'images',
  statements: { sqlite: tables('INTEGER', 'INTEGER'), postgres: tables('BIGINT', 'BIGINT') },
};
