// Where alerts may be sent: the admins' allow-list (`--webhook-allow`) and the address ranges a
// member's webhook never reaches unless an admin allow-lists the address itself. Admins are
// trusted with the server's network position (their own webhook and --admin-webhook may point
// anywhere); members are not. Invariants: a member's target matches an allow-list entry; every
// address it resolves to is public or vouched for by an address entry, checked when it is set and
// again on the very address each delivery connects to (src/alerts/deliver.ts); odd IPv4
// spellings (0x7f000001, 2130706433, 127.1, 0177.0.0.1) are normalised by the WHATWG URL parser
// before any check, and IPv4 addresses inside IPv6 ones (::ffff:a.b.c.d, NAT64, 6to4) are checked
// as the IPv4 address they carry.

import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import { StintError } from '../core/errors.js';

export const ALLOW_FLAG = '--webhook-allow';
const ALLOW_FORMS = "a host (hooks.slack.com), host:port, URL prefix (https://hooks.slack.com/services/), address or CIDR (10.0.0.5, 10.0.0.0/8), or '*' for any public host";

const V4_RANGES: Array<[string, number, string]> = [
  ['0.0.0.0', 8, 'unspecified'], ['127.0.0.0', 8, 'loopback'], ['169.254.0.0', 16, 'link-local'],
  ['10.0.0.0', 8, 'private'], ['172.16.0.0', 12, 'private'], ['192.168.0.0', 16, 'private'],
  ['100.64.0.0', 10, 'shared (CGNAT)'], ['224.0.0.0', 4, 'multicast'], ['240.0.0.0', 4, 'reserved'],
  ['192.0.0.0', 24, 'reserved'], ['192.0.2.0', 24, 'documentation'], ['198.51.100.0', 24, 'documentation'],
  ['203.0.113.0', 24, 'documentation'], ['198.18.0.0', 15, 'benchmarking'],
];
const V6_RANGES: Array<[string, number, string]> = [
  ['::', 128, 'unspecified'], ['::1', 128, 'loopback'], ['fe80::', 10, 'link-local'], ['fc00::', 7, 'unique-local'],
  ['fec0::', 10, 'site-local'], ['ff00::', 8, 'multicast'], ['2001:db8::', 32, 'documentation'], ['100::', 64, 'discard'],
  // IETF protocol assignments: Teredo (2001::/32, which tunnels to an IPv4 host), ORCHID, and more.
  ['2001::', 23, 'IETF protocol assignment (Teredo, ORCHID)'],
];
/** Global unicast: every IPv6 address outside it (local-use NAT64 64:ff9b:1::/48, IPv4-translated ::ffff:0:a.b.c.d, ...) is refused. */
const V6_GLOBAL = subnet('2000::', 3, 'ipv6');
const RANGES = [...V4_RANGES.map(([a, p, label]) => ({ label, list: subnet(a, p, 'ipv4') })), ...V6_RANGES.map(([a, p, label]) => ({ label, list: subnet(a, p, 'ipv6') }))];

function subnet(address: string, prefix: number, family: 'ipv4' | 'ipv6'): BlockList {
  const list = new BlockList();
  list.addSubnet(address, prefix, family);
  return list;
}

/** The eight 16-bit groups of an IPv6 address. */
function groups(v6: string): number[] {
  let text = v6.toLowerCase();
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted[1]!.split('.').map(Number) as [number, number, number, number];
    text = text.slice(0, -dotted[1]!.length) + `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? text.split('::') as [string, string] : [text, undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const fill = tail === undefined ? [] : Array<string>(8 - h.length - t.length).fill('0');
  return [...h, ...fill, ...t].map((g) => parseInt(g, 16));
}

/** The IPv4 address an IPv6 one carries (mapped, IPv4-compatible, NAT64, 6to4), if any. */
function embeddedIPv4(v6: string): string | null {
  const g = groups(v6);
  const v4 = (hi: number, lo: number) => `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  const zeros = (n: number) => g.slice(0, n).every((x) => x === 0);
  if (zeros(5) && g[5] === 0xffff) return v4(g[6]!, g[7]!);
  if (zeros(6) && (g[6]! !== 0 || g[7]! > 1)) return v4(g[6]!, g[7]!);
  if (g[0] === 0x64 && g[1] === 0xff9b && g.slice(2, 6).every((x) => x === 0)) return v4(g[6]!, g[7]!);
  if (g[0] === 0x2002) return v4(g[1]!, g[2]!);
  return null;
}

function ownAddresses(): Set<string> {
  return new Set(Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((i) => i.address.toLowerCase())));
}

/** Why a member's webhook may not reach `address` ("loopback", ...), or null for a public address. */
export function blockedRange(address: string): string | null {
  const family = isIP(address);
  if (family === 0) return 'not an IP address';
  if (family === 6) {
    const inner = embeddedIPv4(address);
    if (inner) {
      // An address that carries IPv4 is judged by the IPv4 address it reaches.
      const range = blockedRange(inner);
      return range ? `${range} (IPv4 ${inner} inside IPv6)` : null;
    }
  }
  const type = family === 4 ? 'ipv4' : 'ipv6';
  const hit = RANGES.find((r) => r.list.check(address, type));
  if (hit) return hit.label;
  if (family === 6 && !V6_GLOBAL.check(address, 'ipv6')) return 'not global unicast (outside 2000::/3)';
  return ownAddresses().has(address.toLowerCase()) ? 'this machine' : null;
}

interface AllowEntry {
  text: string;
  matches(url: URL): boolean;
  /** Whether this entry allows `address` (on `port`) although it is in a blocked range. */
  vouches(address: string, port: number): boolean;
}

export function defaultPort(url: URL): number {
  return Number(url.port || (url.protocol === 'https:' ? 443 : 80));
}

const bare = (host: string) => host.replace(/^\[|\]$/g, '');

function addressEntry(text: string, address: string, prefix: number | null, port: number | null, matches: (url: URL) => boolean): AllowEntry {
  const type = isIP(address) === 4 ? 'ipv4' : 'ipv6';
  const list = new BlockList();
  if (prefix === null) list.addAddress(address, type);
  else list.addSubnet(address, prefix, type);
  const inList = (a: string) => isIP(a) !== 0 && list.check(a, isIP(a) === 4 ? 'ipv4' : 'ipv6');
  return { text, matches: (url) => matches(url) || (prefix !== null && inList(bare(url.hostname))), vouches: (a, p) => inList(a) && (port === null || p === port) };
}

function parseEntry(text: string): AllowEntry {
  const bad = (why: string) => new StintError('INVALID_REQUEST', `${ALLOW_FLAG}: "${text}" ${why}; expected ${ALLOW_FORMS}`, { field: ALLOW_FLAG, value: text, accepted: ALLOW_FORMS });
  if (text === '*') return { text, matches: () => true, vouches: () => false };
  const cidr = /^([0-9a-fA-F:.]+)\/(\d{1,3})$/.exec(text);
  if (cidr) {
    const family = isIP(cidr[1]!);
    const prefix = Number(cidr[2]);
    if (family === 0 || prefix > (family === 4 ? 32 : 128)) throw bad('is not a valid CIDR range');
    return addressEntry(text, cidr[1]!, prefix, null, () => false);
  }
  let url: URL;
  try {
    url = new URL(/^https?:\/\//i.test(text) ? text : `http://${text}`);
  } catch {
    throw bad('is not a host, URL or address');
  }
  if (url.username || url.password) throw bad('must not carry a user name or password');
  const prefix = /^https?:\/\//i.test(text) ? url.href : null;
  if (prefix === null && (url.pathname !== '/' || url.search || url.hash)) throw bad('has a path: write the URL prefix with its scheme (https://...)');
  const port = prefix !== null || url.port ? defaultPort(url) : null;
  const sameHost = (u: URL) => u.hostname === url.hostname && (port === null || defaultPort(u) === port);
  const matches = prefix !== null ? (u: URL) => u.href.startsWith(prefix) : sameHost;
  const host = bare(url.hostname);
  if (isIP(host)) return addressEntry(text, host, null, port, matches);
  return { text, matches, vouches: () => false };
}

/** Parses `--webhook-allow` entries; a bad one fails the server's start, naming the flag. */
export function parseAllowList(entries: readonly string[]): readonly AllowEntry[] {
  return entries.map(parseEntry);
}

export type Role = 'admin' | 'member' | 'viewer';

export class WebhookPolicy {
  private readonly entries: readonly AllowEntry[];

  constructor(allow: readonly string[]) {
    this.entries = parseAllowList(allow);
  }

  /** Refuses a webhook URL the caller may not set (checked when it is set). */
  async checkSet(text: string, role: Role): Promise<void> {
    const url = parseTarget(text);
    if (role === 'admin') return;
    const rule = this.ruleProblem(url);
    if (rule) throw forbidden(text, rule);
    const host = bare(url.hostname);
    const addresses = isIP(host) ? [host] : await resolveSoon(host);
    for (const address of addresses) {
      const problem = this.addressProblem(address, defaultPort(url));
      if (problem) throw forbidden(text, isIP(host) ? problem : `${url.hostname} resolves to ${problem}`);
    }
  }

  /** Why a member's `url` is outside the allow-list, or null. */
  ruleProblem(url: URL): string | null {
    if (this.entries.length === 0) return 'members may not set webhooks on this server: no host is allow-listed';
    if (this.entries.some((e) => e.matches(url))) return null;
    return `${url.host} is not on the server's webhook allow-list (${this.entries.map((e) => e.text).join(', ')})`;
  }

  /** Why a member's webhook may not connect to `address` on `port`, or null. */
  addressProblem(address: string, port: number): string | null {
    const range = blockedRange(address);
    if (range === null || this.entries.some((e) => e.vouches(address, port))) return null;
    return `${address}, a ${range} address, which members' webhooks reach only when an admin allow-lists that address (${ALLOW_FLAG} ${isIP(address) === 6 ? `[${address}]` : address}:${port})`;
  }
}

/** An http(s) URL without credentials, or an INVALID_REQUEST naming the field. */
export function parseTarget(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new StintError('INVALID_REQUEST', `url: "${text}" is not a URL; expected an http(s) URL`, { field: 'url', value: text, accepted: 'an http(s) URL' });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new StintError('INVALID_REQUEST', `url: "${text}" is not an http(s) URL`, { field: 'url', value: text, accepted: 'an http(s) URL' });
  if (url.username || url.password) {
    throw new StintError('INVALID_REQUEST', 'url: a webhook URL must not carry a user name or password (they would be sent to every redirect and logged by proxies); put the secret in the path, as Slack does', { field: 'url', accepted: 'an http(s) URL without user:password@' });
  }
  return url;
}

function forbidden(text: string, why: string): StintError {
  return new StintError('FORBIDDEN', `webhook ${text} refused: ${why}. An admin allows hosts with \`stint server ${ALLOW_FLAG} ENTRY,...\` (${ALLOW_FORMS}); admins may set any webhook`, { field: 'url', value: text, rule: ALLOW_FLAG, accepted: ALLOW_FORMS });
}

let resolving = 0;

/**
 * The addresses `host` resolves to now; none when it does not resolve within 3 s, or when two
 * look-ups are already running (getaddrinfo holds one of libuv's four threads, which file I/O
 * shares: members must not be able to stall the server with slow names). Delivery checks again.
 */
async function resolveSoon(host: string): Promise<string[]> {
  if (resolving >= 2) return [];
  resolving++;
  const timeout = new Promise<string[]>((resolve) => setTimeout(() => resolve([]), 3000).unref());
  const resolved = lookup(host, { all: true }).then((list) => list.map((a) => a.address), () => []);
  void resolved.finally(() => resolving--);
  return Promise.race([resolved, timeout]);
}
