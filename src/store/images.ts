// The image part of the store: who owns each stint image name and which podman image it stands
// for (migration 011), one Kysely implementation for SQLite and PostgreSQL. Invariants: a name is
// one row (primary key), so two imports of a name at the same moment leave one owner, the second
// getting StintError CONFLICT from `add`; `replace` changes the image of an existing name and
// never its owner; times are epoch milliseconds. Who may add, replace or remove is decided by the
// caller (src/containers/images.ts), not here.

import type { Kysely, Selectable } from 'kysely';
import { StintError } from '../core/errors.js';
import type { Database as Schema, ImagesTable } from './schema.js';

/** What archive an image was imported from. */
export type ImageSource = 'rootfs' | 'docker-archive' | 'oci-archive';

export interface ImageRow {
  /** The stint name with its tag (`python:3.11`, `lab/base:latest`). */
  name: string;
  /** The importer's name (display) and user id (the ownership rule). */
  owner: string;
  ownerId: number | null;
  /** podman's image id (the config digest, `sha256:...`). */
  imageId: string;
  /** The manifest digest (`sha256:...`). */
  digest: string;
  sizeBytes: number;
  source: ImageSource;
  createdAt: number;
}

export interface ImageStore {
  getImage(name: string): Promise<ImageRow | null>;
  listImages(): Promise<ImageRow[]>;
  /** A new name; CONFLICT when the name was taken meanwhile. */
  addImage(row: ImageRow): Promise<ImageRow>;
  /** Points an existing name at another image (its owner stays); null when the name is gone. */
  replaceImage(name: string, image: Pick<ImageRow, 'imageId' | 'digest' | 'sizeBytes' | 'source' | 'createdAt'>): Promise<ImageRow | null>;
  /** True when a row was removed. */
  removeImage(name: string): Promise<boolean>;
}

export class KyselyImageStore implements ImageStore {
  constructor(
    private readonly db: Kysely<Schema>,
    /** Whether a failed write broke a unique constraint (the dialect's error). */
    private readonly isUniqueViolation: (error: unknown) => boolean,
  ) {}

  async getImage(name: string): Promise<ImageRow | null> {
    const row = await this.db.selectFrom('images').selectAll().where('name', '=', name).executeTakeFirst();
    return row ? toImageRow(row) : null;
  }

  async listImages(): Promise<ImageRow[]> {
    return (await this.db.selectFrom('images').selectAll().orderBy('name').execute()).map(toImageRow);
  }

  async addImage(row: ImageRow): Promise<ImageRow> {
    try {
      const inserted = await this.db.insertInto('images').values(toColumns(row)).returningAll().executeTakeFirstOrThrow();
      return toImageRow(inserted);
    } catch (error) {
      if (this.isUniqueViolation(error)) throw new StintError('CONFLICT', `image ${row.name} was imported by someone else at the same moment; list images with \`stint image list\``, { field: 'name', value: row.name });
      throw error;
    }
  }

  async replaceImage(name: string, image: Pick<ImageRow, 'imageId' | 'digest' | 'sizeBytes' | 'source' | 'createdAt'>): Promise<ImageRow | null> {
    const row = await this.db
      .updateTable('images')
      .set({ image_id: image.imageId, digest: image.digest, size_bytes: image.sizeBytes, source: image.source, created_at: image.createdAt })
      .where('name', '=', name)
      .returningAll()
      .executeTakeFirst();
    return row ? toImageRow(row) : null;
  }

  async removeImage(name: string): Promise<boolean> {
    const result = await this.db.deleteFrom('images').where('name', '=', name).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }
}

function toColumns(row: ImageRow): ImagesTable {
  return {
    name: row.name,
    owner: row.owner,
    owner_id: row.ownerId,
    image_id: row.imageId,
    digest: row.digest,
    size_bytes: row.sizeBytes,
    source: row.source,
    created_at: row.createdAt,
  };
}

function toImageRow(row: Selectable<ImagesTable>): ImageRow {
  return {
    name: row.name,
    owner: row.owner,
    ownerId: row.owner_id,
    imageId: row.image_id,
    digest: row.digest,
    sizeBytes: row.size_bytes,
    source: row.source as ImageSource,
    createdAt: row.created_at,
  };
}
