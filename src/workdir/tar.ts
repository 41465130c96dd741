// Owns the POSIX ustar format for workdir snapshots: writing the three kinds of entry a snapshot
// holds (directory, regular file, symlink) and reading them back, with PAX extended headers for
// names, link targets or sizes that do not fit ustar's fields (and GNU long-name entries on read).
// Invariants: every header is 512 bytes with a valid checksum, data is padded to 512, the archive
// ends with two zero blocks; the reader rejects a bad checksum or a truncated archive instead of
// guessing, and reports entry types it does not handle rather than dropping them; the streaming
// reader holds at most one header and one PAX/long-name record (≤ 1 MiB) in memory.

import { StintError } from '../core/errors.js';

export const BLOCK = 512;

export type TarEntryType = 'file' | 'directory' | 'symlink' | 'other';

export interface TarEntry {
  /** Relative POSIX path as stored (directories without their trailing slash). */
  path: string;
  type: TarEntryType;
  /** Permission bits only (e.g. 0o755). */
  mode: number;
  size: number;
  /** Seconds since the epoch. */
  mtime: number;
  linkTarget?: string;
  /** The raw ustar type flag, for messages about entries of type 'other'. */
  typeflag: string;
}

const MAX_OCTAL_SIZE = 8 ** 11 - 1;
const TYPEFLAG: Readonly<Record<Exclude<TarEntryType, 'other'>, string>> = { file: '0', directory: '5', symlink: '2' };

function corrupt(reason: string): StintError {
  return new StintError('INVALID_REQUEST', `workdir archive is not a readable tar: ${reason}`, { reason });
}

// ---- writing -------------------------------------------------------------------------------

function writeString(header: Buffer, offset: number, length: number, value: string): void {
  header.write(value, offset, Math.min(length, Buffer.byteLength(value)), 'utf8');
}

function writeOctal(header: Buffer, offset: number, length: number, value: number): void {
  header.write(`${value.toString(8).padStart(length - 1, '0')}\0`, offset, length, 'ascii');
}

function checksum(header: Buffer): number {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : (header[i] ?? 0);
  return sum;
}

/** Splits a long path into ustar's prefix (≤155 bytes) and name (≤100 bytes) at a slash, if it can. */
function splitUstarPath(path: string): { prefix: string; name: string } | undefined {
  if (Buffer.byteLength(path) <= 100) return { prefix: '', name: path };
  for (let i = path.indexOf('/'); i > 0; i = path.indexOf('/', i + 1)) {
    const prefix = path.slice(0, i);
    const name = path.slice(i + 1);
    if (Buffer.byteLength(prefix) <= 155 && name !== '' && Buffer.byteLength(name) <= 100) return { prefix, name };
  }
  return undefined;
}

function ustarHeader(entry: Omit<TarEntry, 'typeflag'>, name: string, prefix: string, typeflag: string): Buffer {
  const header = Buffer.alloc(BLOCK);
  writeString(header, 0, 100, name);
  writeOctal(header, 100, 8, entry.mode & 0o7777);
  writeOctal(header, 108, 8, 0);
  writeOctal(header, 116, 8, 0);
  writeOctal(header, 124, 12, entry.size > MAX_OCTAL_SIZE ? 0 : entry.size);
  writeOctal(header, 136, 12, Math.max(0, Math.floor(entry.mtime)));
  header.write(typeflag, 156, 1, 'ascii');
  writeString(header, 157, 100, entry.linkTarget ?? '');
  header.write('ustar\0', 257, 6, 'ascii');
  header.write('00', 263, 2, 'ascii');
  writeString(header, 345, 155, prefix);
  header.write(`${checksum(header).toString(8).padStart(6, '0')}\0 `, 148, 8, 'ascii');
  return header;
}

function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let length = Buffer.byteLength(body) + 1;
  while (String(length).length + Buffer.byteLength(body) !== length) length = String(length).length + Buffer.byteLength(body);
  return `${length}${body}`;
}

export function padding(size: number): Buffer {
  return Buffer.alloc((BLOCK - (size % BLOCK)) % BLOCK);
}

/** The header blocks for one entry: a PAX header first when a field does not fit ustar. */
export function encodeHeader(entry: Omit<TarEntry, 'typeflag' | 'type'> & { type: Exclude<TarEntryType, 'other'> }): Buffer[] {
  const stored = entry.type === 'directory' ? `${entry.path}/` : entry.path;
  const split = splitUstarPath(stored);
  const records: string[] = [];
  if (!split) records.push(paxRecord('path', stored));
  if (entry.linkTarget !== undefined && Buffer.byteLength(entry.linkTarget) > 100) records.push(paxRecord('linkpath', entry.linkTarget));
  if (entry.size > MAX_OCTAL_SIZE) records.push(paxRecord('size', String(entry.size)));
  const blocks: Buffer[] = [];
  if (records.length > 0) {
    const data = Buffer.from(records.join(''), 'utf8');
    const paxName = `PaxHeaders/${stored.replace(/[^\x20-\x7e]/g, '_').slice(-80)}`;
    blocks.push(ustarHeader({ path: paxName, type: 'file', mode: 0o644, size: data.length, mtime: entry.mtime }, paxName, '', 'x'));
    blocks.push(data, padding(data.length));
  }
  const short = split ?? { prefix: '', name: stored.replace(/[^\x20-\x7e]/g, '_').slice(-100) };
  const linkTarget = entry.linkTarget !== undefined && Buffer.byteLength(entry.linkTarget) > 100 ? '' : entry.linkTarget;
  blocks.push(ustarHeader({ ...entry, linkTarget }, short.name, short.prefix, TYPEFLAG[entry.type]));
  return blocks;
}

/** Collects entries into one uncompressed tar. */
export class TarWriter {
  private readonly chunks: Buffer[] = [];

  directory(path: string, mode: number, mtime: number): void {
    this.chunks.push(...encodeHeader({ path, type: 'directory', mode, size: 0, mtime }));
  }

  file(path: string, mode: number, mtime: number, data: Buffer): void {
    this.chunks.push(...encodeHeader({ path, type: 'file', mode, size: data.length, mtime }), data, padding(data.length));
  }

  symlink(path: string, target: string, mtime: number): void {
    this.chunks.push(...encodeHeader({ path, type: 'symlink', mode: 0o777, size: 0, mtime, linkTarget: target }));
  }

  finish(): Buffer {
    return Buffer.concat([...this.chunks, Buffer.alloc(2 * BLOCK)]);
  }
}

// ---- reading -------------------------------------------------------------------------------

function readString(block: Buffer, offset: number, length: number): string {
  const field = block.subarray(offset, offset + length);
  const end = field.indexOf(0);
  return field.subarray(0, end < 0 ? length : end).toString('utf8');
}

function readNumber(block: Buffer, offset: number, length: number): number {
  const field = block.subarray(offset, offset + length);
  if (((field[0] ?? 0) & 0x80) !== 0) {
    let value = (field[0] ?? 0) & 0x7f;
    for (let i = 1; i < length; i++) value = value * 256 + (field[i] ?? 0);
    return value;
  }
  const text = readString(block, offset, length).trim();
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) throw corrupt(`a header field holds ${JSON.stringify(text)} where an octal number belongs`);
  return parseInt(text, 8);
}

function parsePax(data: Buffer): Map<string, string> {
  const fields = new Map<string, string>();
  let offset = 0;
  while (offset < data.length) {
    const space = data.indexOf(0x20, offset);
    const length = Number(data.subarray(offset, space).toString('ascii'));
    if (space < 0 || !Number.isInteger(length) || length <= 0 || offset + length > data.length) throw corrupt('a PAX header record is malformed');
    const record = data.subarray(space + 1, offset + length - 1).toString('utf8');
    const equals = record.indexOf('=');
    if (equals > 0) fields.set(record.slice(0, equals), record.slice(equals + 1));
    offset += length;
  }
  return fields;
}

function entryType(typeflag: string): TarEntryType {
  if (typeflag === '0' || typeflag === '\0' || typeflag === '' || typeflag === '7') return 'file';
  if (typeflag === '5') return 'directory';
  if (typeflag === '2') return 'symlink';
  return 'other';
}

interface Overrides {
  path?: string;
  linkTarget?: string;
  size?: number;
}

function decodeHeader(block: Buffer, overrides: Overrides): TarEntry {
  if (readNumber(block, 148, 8) !== checksum(block)) throw corrupt('a header checksum does not match');
  const name = readString(block, 0, 100);
  const prefix = readString(block, 257, 6) === 'ustar' ? readString(block, 345, 155) : '';
  const typeflag = String.fromCharCode(block[156] ?? 0).replace('\0', '0');
  const rawPath = overrides.path ?? (prefix ? `${prefix}/${name}` : name);
  const type = entryType(typeflag) === 'file' && rawPath.endsWith('/') ? 'directory' : entryType(typeflag);
  const entry: TarEntry = {
    path: rawPath.replace(/\/+$/, ''),
    type,
    mode: readNumber(block, 100, 8) & 0o7777,
    size: overrides.size ?? readNumber(block, 124, 12),
    mtime: readNumber(block, 136, 12),
    typeflag,
  };
  const link = overrides.linkTarget ?? readString(block, 157, 100);
  if (entry.type === 'symlink' || link !== '') entry.linkTarget = link;
  return entry;
}

function isZeroBlock(block: Buffer): boolean {
  return block.every((byte) => byte === 0);
}

/** What the streaming reader reports: an entry's header, then its data in one or more slices. */
export type TarEvent = { type: 'entry'; entry: TarEntry } | { type: 'data'; data: Buffer };

/** PAX and GNU long-name records are held whole; none legitimately comes near this. */
const MAX_META_BYTES = 1024 * 1024;

/**
 * Reads a tar from chunks of any size, holding at most one header block (and one PAX or long-name
 * record) at a time, so an archive of any length is read in constant memory. PAX (`x`) and GNU
 * long-name (`L`, `K`) entries are applied to the entry after them; global PAX headers are skipped.
 */
export class TarStreamReader {
  private header: Buffer[] = [];
  private headerBytes = 0;
  private dataLeft = 0;
  private padLeft = 0;
  private meta: { typeflag: string; chunks: Buffer[] } | null = null;
  private overrides: Overrides = {};
  private current = '';
  private ended = false;

  /** True once the end-of-archive blocks were read. */
  get done(): boolean {
    return this.ended;
  }

  /** The events found in `chunk`; bytes after the end-of-archive blocks are ignored. */
  *push(chunk: Buffer): Generator<TarEvent> {
    let offset = 0;
    while (offset < chunk.length && !this.ended) {
      if (this.dataLeft > 0) {
        const data = chunk.subarray(offset, offset + Math.min(this.dataLeft, chunk.length - offset));
        offset += data.length;
        this.dataLeft -= data.length;
        if (this.meta) this.meta.chunks.push(data);
        else yield { type: 'data', data };
        if (this.dataLeft === 0 && this.meta) this.applyMeta();
        continue;
      }
      if (this.padLeft > 0) {
        const skip = Math.min(this.padLeft, chunk.length - offset);
        offset += skip;
        this.padLeft -= skip;
        continue;
      }
      const part = chunk.subarray(offset, offset + Math.min(BLOCK - this.headerBytes, chunk.length - offset));
      offset += part.length;
      this.header.push(part);
      this.headerBytes += part.length;
      if (this.headerBytes < BLOCK) continue;
      const entry = this.readHeader(Buffer.concat(this.header, BLOCK));
      this.header = [];
      this.headerBytes = 0;
      if (entry) yield { type: 'entry', entry };
    }
  }

  /** Throws unless the end-of-archive blocks were seen. */
  finish(): void {
    if (this.ended) return;
    if (this.dataLeft > 0) throw corrupt(`entry ${JSON.stringify(this.current)} is cut short`);
    throw corrupt('it ends before its end-of-archive blocks');
  }

  private readHeader(block: Buffer): TarEntry | null {
    if (isZeroBlock(block)) {
      this.ended = true;
      return null;
    }
    const special = 'xgLK'.includes(String.fromCharCode(block[156] ?? 0));
    const entry = decodeHeader(block, special ? {} : this.overrides);
    const dataSize = entry.type === 'directory' || entry.type === 'symlink' ? 0 : entry.size;
    this.dataLeft = dataSize;
    this.padLeft = (BLOCK - (dataSize % BLOCK)) % BLOCK;
    this.current = entry.path;
    if (!special) {
      this.overrides = {};
      return entry;
    }
    if (dataSize > MAX_META_BYTES) throw corrupt(`a ${entry.typeflag} header record holds ${dataSize} bytes; at most ${MAX_META_BYTES} are read`);
    this.meta = { typeflag: entry.typeflag, chunks: [] };
    if (dataSize === 0) this.applyMeta();
    return null;
  }

  private applyMeta(): void {
    const { typeflag, chunks } = this.meta!;
    this.meta = null;
    const data = Buffer.concat(chunks);
    if (typeflag === 'x') this.overrides = { ...this.overrides, ...paxOverrides(parsePax(data)) };
    if (typeflag === 'L' || typeflag === 'K') {
      const value = data.toString('utf8').replace(/\0.*$/s, '');
      this.overrides = typeflag === 'L' ? { ...this.overrides, path: value } : { ...this.overrides, linkTarget: value };
    }
  }
}

/** Reads every entry of an uncompressed tar held in memory (small archives and tests). */
export function* readTar(tar: Buffer): Generator<{ entry: TarEntry; data: Buffer }> {
  const reader = new TarStreamReader();
  let current: { entry: TarEntry; chunks: Buffer[] } | null = null;
  for (const event of reader.push(tar)) {
    if (event.type === 'data') {
      current?.chunks.push(event.data);
      continue;
    }
    if (current) yield { entry: current.entry, data: Buffer.concat(current.chunks) };
    current = { entry: event.entry, chunks: [] };
  }
  reader.finish();
  if (current) yield { entry: current.entry, data: Buffer.concat(current.chunks) };
}

function paxOverrides(fields: Map<string, string>): Overrides {
  const overrides: Overrides = {};
  const path = fields.get('path');
  const link = fields.get('linkpath');
  const size = fields.get('size');
  if (path !== undefined) overrides.path = path;
  if (link !== undefined) overrides.linkTarget = link;
  if (size !== undefined) {
    if (!/^\d+$/.test(size)) throw corrupt('a PAX size is not a number');
    overrides.size = Number(size);
  }
  return overrides;
}
