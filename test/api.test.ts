// The REST API's edges: authentication, the OpenAPI document, and bad input of every kind, which
// must get a 4xx with {code, message, details} and never a 500.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { MAX_LOOP_DELAY_MS } from './helpers/event-loop.js';
import { inProcessServer, type InProcessServer } from './helpers/server.js';

let s: InProcessServer;
beforeAll(async () => {
  s = await inProcessServer({ gpus: 'A100:4' });
});
afterAll(async () => {
  await s.server.stop();
});

async function call(method: string, path: string, body?: string, headers: Record<string, string> = {}) {
  const response = await fetch(s.server.url + path, {
    method,
    headers: { authorization: `Bearer ${s.token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
    body,
  });
  return { status: response.status, body: (await response.json()) as { code: string; message: string; details: Record<string, unknown> } };
}

const submit = (task: unknown) => call('POST', '/api/v1/jobs', JSON.stringify({ task }));

describe('authentication', () => {
  it('requires the token on every /api/v1 call', async () => {
    const none = await fetch(s.server.url + '/api/v1/jobs');
    expect(none.status).toBe(401);
    expect(((await none.json()) as { code: string }).code).toBe('UNAUTHORIZED');
    const wrong = await call('GET', '/api/v1/jobs', undefined, { authorization: 'Bearer nope' });
    expect(wrong.status).toBe(401);
  });
});

describe('OpenAPI', () => {
  it('documents the job routes', async () => {
    const doc = (await (await fetch(s.server.url + '/api/openapi.json')).json()) as { openapi: string; paths: Record<string, unknown> };
    expect(doc.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/api/v1/jobs', '/api/v1/jobs/{id}', '/api/v1/jobs/{id}/cancel', '/api/v1/jobs/{id}/logs', '/api/v1/gpus', '/api/v1/uploads']));
  });
});

describe('bad input never gets a 500', () => {
  // Issue 11: no bad-input request blocks the event loop for more than 200 ms (the last test checks).
  const loop = monitorEventLoopDelay({ resolution: 10 });
  beforeAll(() => loop.enable());
  const tasks: Array<[string, unknown, number, string, RegExp]> = [
    ['unknown GPU type', 'resources: {accelerators: V100:1}\nrun: x', 422, 'UNSATISFIABLE', /V100.*A100/s],
    ['more GPUs than the machine has', 'resources: {accelerators: A100:8}\nrun: x', 422, 'UNSATISFIABLE', /8.*A100/],
    ['bad YAML', 'run: [unclosed\n', 400, 'INVALID_SPEC', /line \d+/],
    ['wrong type', 'num_nodes: two\nrun: x', 400, 'INVALID_SPEC', /num_nodes \(line 1:12\): got "two"; must be/],
    ['negative count', 'resources: {accelerators: "A100:-2"}\nrun: x', 400, 'INVALID_SPEC', /accelerators/],
    ['unknown key', 'reources: {accelerators: A100:1}\nrun: x', 400, 'INVALID_SPEC', /reources.*resources/s],
    ['multi-node', 'num_nodes: 4\nrun: x', 422, 'UNSUPPORTED_FEATURE', /num_nodes.*line 1/s],
    ['spot', 'resources: {use_spot: true}\nrun: x', 422, 'UNSUPPORTED_FEATURE', /use_spot/],
    // docker:/stint:/oci: images run where podman is (test/containers); an unknown kind is refused anywhere.
    ['container image of an unknown kind', 'resources: {image_id: "nix:pytorch"}\nrun: x', 400, 'INVALID_SPEC', /image_id.*nix:pytorch.*docker:/s],
    ['bucket mount', 'file_mounts: {/data: "s3://bucket/x"}\nrun: x', 422, 'UNSUPPORTED_FEATURE', /file_mounts/],
    ['task not a string', 42, 400, 'INVALID_REQUEST', /task/],
    ['empty task', '', 400, 'INVALID_REQUEST', /task/],
  ];
  for (const [what, task, status, code, message] of tasks) {
    it(what, async () => {
      const result = await submit(task);
      expect(result.status).toBe(status);
      expect(result.body.code).toBe(code);
      expect(result.body.message).toMatch(message);
    });
  }

  it('malformed JSON, wrong content type, bad ids, unknown routes and states', async () => {
    const responses = await Promise.all([
      call('POST', '/api/v1/jobs', '{"task": '),
      call('POST', '/api/v1/jobs', 'task: x', { 'content-type': 'text/plain' }),
      call('GET', '/api/v1/jobs/abc'),
      call('GET', '/api/v1/jobs/-3'),
      call('GET', '/api/v1/jobs/424242'),
      call('POST', '/api/v1/jobs/424242/cancel'),
      call('GET', '/api/v1/jobs?state=DONE'),
      call('GET', '/api/v1/jobs?limit=0'),
      call('GET', '/api/v1/nothing-here'),
      call('POST', '/api/v1/uploads', 'not gzip', { 'content-type': 'application/gzip' }),
      call('POST', '/api/v1/jobs', JSON.stringify({ task: 'run: x', workdirUpload: 'f'.repeat(64) })),
      call('POST', '/api/v1/jobs', JSON.stringify({ task: 'workdir: .\nrun: x' })),
    ]);
    for (const r of responses) {
      expect(r.status).toBeGreaterThanOrEqual(400);
      expect(r.status).toBeLessThan(500);
      expect(r.body).toEqual({ code: expect.any(String), message: expect.any(String), details: expect.any(Object) });
    }
    expect(responses[6]!.body.message).toMatch(/DONE.*PENDING/);
  });

  it('blocked the event loop for less than 200 ms at every request above', async () => {
    await new Promise((resolve) => setTimeout(resolve, 30));
    loop.disable();
    expect(loop.max / 1e6).toBeGreaterThan(0);
    expect(loop.max / 1e6).toBeLessThan(MAX_LOOP_DELAY_MS);
  });
});
