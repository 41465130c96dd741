// One webhook POST over node:http/https (not fetch: fetch takes no `lookup`, so the address it
// connects to could differ from the one checked). Invariants: when a `check` is given, every
// address the host resolves to is checked and the connection goes to one of those very addresses
// (resolution and connection share one lookup, so DNS rebinding between them is impossible); an
// IP-literal host is checked before connecting; redirects are never followed (a 3xx is a failed
// delivery that is not retried); each request is bounded by `timeoutMs`, answer included.

import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { request as httpRequest, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { defaultPort } from './address-policy.js';

export interface DeliveryResult {
  ok: boolean;
  /** A failure that a retry cannot fix (a refused address, a redirect). */
  permanent: boolean;
  problem?: string;
}

/** Why the server may not connect to `address` on `port`, or null. */
export type AddressCheck = (address: string, port: number) => string | null;

class RefusedAddress extends Error {}

export function deliver(url: string, body: string, options: { timeoutMs: number; check?: AddressCheck }): Promise<DeliveryResult> {
  const target = new URL(url);
  const host = target.hostname.replace(/^\[|\]$/g, '');
  const port = defaultPort(target);
  const { check } = options;
  if (check && isIP(host)) {
    const problem = check(host, port);
    if (problem) return Promise.resolve({ ok: false, permanent: true, problem: `refused: ${problem}` });
  }
  const request: RequestOptions = {
    method: 'POST',
    hostname: host,
    port,
    path: target.pathname + target.search,
    headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'user-agent': 'stint-alerts' },
    agent: false,
    signal: AbortSignal.timeout(options.timeoutMs),
    ...(check ? { lookup: checkedLookup(check, port) } : {}),
  };
  return new Promise((resolve) => {
    const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = send(request, (res) => {
      const status = res.statusCode ?? 0;
      res.resume();
      res.on('error', () => undefined);
      req.destroy();
      if (status >= 200 && status < 300) resolve({ ok: true, permanent: false });
      else if (status >= 300 && status < 400) resolve({ ok: false, permanent: true, problem: `HTTP ${status} redirect not followed (a webhook must answer 2xx itself)` });
      else resolve({ ok: false, permanent: false, problem: `HTTP ${status}` });
    });
    req.on('error', (error) => {
      const cause = error instanceof RefusedAddress ? error : (error as { cause?: unknown }).cause;
      if (cause instanceof RefusedAddress) resolve({ ok: false, permanent: true, problem: `refused: ${cause.message}` });
      else resolve({ ok: false, permanent: false, problem: error.message });
    });
    req.end(body);
  });
}

/** A lookup that resolves every address, refuses the lot if any one is refused, and returns them. */
function checkedLookup(check: AddressCheck, port: number): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { all: true, family: options.family, hints: options.hints }, (error, addresses: LookupAddress[]) => {
      if (error) return callback(error, '', 0);
      for (const a of addresses) {
        const problem = check(a.address, port);
        if (problem) return callback(new RefusedAddress(`${hostname} resolves to ${problem}`), '', 0);
      }
      if (addresses.length === 0) return callback(new Error(`${hostname} has no address`), '', 0);
      if (options.all) (callback as unknown as (e: null, list: LookupAddress[]) => void)(null, addresses);
      else callback(null, addresses[0]!.address, addresses[0]!.family);
    });
  };
}
