// `stint launch FILE`: snapshot the workdir, submit, then stream the job's output until it ends
// and exit with its exit code (or, with --detach / --json, print the id and return at once). The
// submission carries a random Idempotency-Key and is retried with it after connection errors and
// 502-504 (bounded, with backoff), so a lost answer never makes a second job.

import { readFile } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import type { Command } from 'commander';
import { stringify } from 'yaml';
import { connect } from '../api/client.js';
import { newIdempotencyKey, submitWithRetry } from '../api/submit-retry.js';
import { clientConfig } from '../config.js';
import { StintError } from '../core/errors.js';
import { parseTaskFile } from '../core/spec/parse.js';
import { packWorkdir } from '../workdir/pack.js';
import { collectPair } from './options.js';
import { followLogs, terminalWriter } from './follow.js';
import { paint, paintState } from './format.js';

const MAX_WORKDIR_BYTES = 100 * 1024 * 1024;

interface LaunchFlags {
  detach?: boolean;
  dryRun?: boolean;
  json?: boolean;
  env?: Record<string, string>;
  secret?: Record<string, string>;
}

export function registerLaunch(program: Command): void {
  program
    .command('launch')
    .argument('<file>', 'task file (SkyPilot task YAML plus stint keys)')
    .description('submit a task; stream its output and exit with its exit code')
    .option('-d, --detach', 'print the job id and return without waiting')
    .option('--dry-run', 'submit nothing: print the normalised spec and whether it would be accepted')
    .option('--env <NAME=VALUE>', 'set or override an env (repeatable)', collectPair('--env'))
    .option('--secret <NAME=VALUE>', 'give a secret its value (repeatable; never printed)', collectPair('--secret'))
    .option('--json', 'print {"id": ...} (implies --detach)')
    .action(async (file: string, flags: LaunchFlags) => {
      process.exitCode = await launch(file, flags);
    });
}

async function launch(file: string, flags: LaunchFlags): Promise<number> {
  const text = await readTaskFile(file);
  const config = clientConfig();
  const client = connect(config);
  const request = { task: text, fileName: basename(file), env: flags.env, secrets: flags.secret };
  if (flags.dryRun) {
    const result = await client.submit({ ...request, dryRun: true });
    process.stdout.write(flags.json ? JSON.stringify(result, null, 2) + '\n' : stringify({ spec: result.spec, verdict: result.verdict }));
    if (!flags.json) process.stderr.write((result.verdict.ok ? 'would be accepted: ' : 'would be refused: ') + result.verdict.summary + '\n');
    return result.verdict.ok ? 0 : 2;
  }
  const workdirUpload = await uploadWorkdir(client, text, file, flags);
  // One key for this invocation: a retry after a lost answer returns the job the first try made.
  const result = await submitWithRetry(client, { ...request, workdirUpload }, {
    idempotencyKey: newIdempotencyKey(),
    attempts: 6, // about 8 s of waits in all: a server restarting, not one that is not there
    onRetry: (error, attempt, delayMs) => process.stderr.write(`stint: no answer to the submission (${error.message}); try ${attempt + 1} in ${(delayMs / 1000).toFixed(1)} s with the same Idempotency-Key\n`),
  });
  const id = result.id!;
  if (flags.json) {
    process.stdout.write(JSON.stringify({ id }) + '\n');
    return 0;
  }
  if (flags.detach) {
    process.stdout.write(`${id}\n`);
    return 0;
  }
  const style = { color: config.color };
  process.stderr.write(paint(style, 'gray', `stint: job ${id} submitted; streaming its output (Ctrl-C detaches, the job keeps running)\n`));
  process.once('SIGINT', () => {
    process.stderr.write(`\nstint: detached; job ${id} keeps running. Follow it with: stint logs ${id} --follow\n`);
    process.exit(130);
  });
  await followLogs(client, id, terminalWriter(), { follow: true });
  const job = await client.getJob(id);
  process.stderr.write(paint(style, 'gray', `stint: job ${id} `) + paintState(style, job.state) + paint(style, 'gray', ` (${job.reason ?? ''})\n`));
  if (job.state === 'SUCCEEDED') return 0;
  return job.exitCode !== null && job.exitCode !== 0 ? job.exitCode : 1;
}

async function readTaskFile(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    throw new StintError('INVALID_REQUEST', `cannot read task file ${file}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message}`, { field: 'FILE', value: file });
  }
}

/** The workdir is resolved from the current directory, as SkyPilot does. */
async function uploadWorkdir(client: ReturnType<typeof connect>, text: string, file: string, flags: LaunchFlags): Promise<string | undefined> {
  const parsed = parseTaskFile(text, { fileName: basename(file), envOverrides: flags.env, secretOverrides: flags.secret });
  const workdir = parsed.tasks[0]?.workdir;
  if (!workdir) return undefined;
  const packed = await packWorkdir(resolve(workdir), { maxBytes: MAX_WORKDIR_BYTES });
  const uploaded = await client.upload(packed.archive);
  return uploaded.id;
}
