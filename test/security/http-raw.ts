// Raw HTTP for attack tests: the path is sent exactly as written (fetch would normalise `./` and
// `//`), from a chosen local address (any 127.x.y.z reaches a server on 127.0.0.1, so a test can
// play several clients), with the answer's status, headers and text.

import { request } from 'node:http';

export interface RawAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

export interface RawOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  /** The client's own address, e.g. 127.0.0.2 (default: the system's choice). */
  from?: string;
}

export function raw(baseUrl: string, path: string, options: RawOptions = {}): Promise<RawAnswer> {
  const url = new URL(baseUrl);
  const body = options.body;
  const headers: Record<string, string> = { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...options.headers };
  if (body !== undefined) headers['content-length'] = String(Buffer.byteLength(body));
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path, method: options.method ?? 'GET', headers, localAddress: options.from }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** The code of a {code, message, details} answer, or null. */
export function codeOf(answer: RawAnswer): string | null {
  try {
    return (JSON.parse(answer.text) as { code?: string }).code ?? null;
  } catch {
    return null;
  }
}
