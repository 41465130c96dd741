// `stint launch FILE`: snapshot the workdir, submit, then stream the job's output until it ends
// and exit with its exit code (or, with --detach / --json, print the id and return at once). The
// submission carries a random Idempotency-Key and is retried with it after connection errors and
// 502-504 (bounded, with backoff), so a lost answer never makes a second job. With --export-env
// (or `export_env: true` in the task) the caller's environment goes with it (cli/env-flags.ts).

import { readFile } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import type { Command } from 'commander';
import { stringify } from 'yaml';
import { connect } from '../api/client.js';
import { newIdempotencyKey, submitWithRetry } from '../api/submit-retry.js';
import { callerEnvironment, clientConfig } from '../config.js';
import { StintError } from '../core/errors.js';
import { parseTaskFile } from '../core/spec/parse.js';
import type { TaskFile } from '../core/spec/types.js';
import { packWorkdir } from '../workdir/pack.js';
import { collectVariable, exportedEnvironment, resolveVariables } from './env-flags.js';
import { followLogs, terminalWriter } from './follow.js';
import { paint, paintState } from './format.js';

const MAX_WORKDIR_BYTES = 100 * 1024 * 1024;

interface LaunchFlags {
  detach?: boolean;
  dryRun?: boolean;
  json?: boolean;
  env?: string[];
  secret?: string[];
  exportEnv?: boolean;
}

export function registerLaunch(program: Command): void {
  program
    .command('launch')
    .argument('<file>', 'task file (SkyPilot task YAML plus stint keys)')
    .description('submit a task; stream its output and exit with its exit code')
    .option('-d, --detach', 'print the job id and return without waiting')
    .option('--dry-run', 'submit nothing: print the normalised spec and whether it would be accepted')
    .option('--env <NAME[=VALUE]>', 'set or override an env; NAME alone takes its value from your environment (repeatable)', collectVariable('--env'))
    .option('--secret <NAME[=VALUE]>', 'give a secret its value; NAME alone takes it from your environment (repeatable; never printed)', collectVariable('--secret'))
    .option('--export-env', 'carry your environment into the job (as sbatch --export=ALL), under the task\'s envs; STINT_* never goes')
    .option('--json', 'print {"id": ...} (implies --detach)')
    .action(async (file: string, flags: LaunchFlags) => {
      process.exitCode = await launch(file, flags);
    });
}

async function launch(file: string, flags: LaunchFlags): Promise<number> {
  const text = await readTaskFile(file);
  const config = clientConfig();
  const client = connect(config);
  const environment = callerEnvironment();
  const env = resolveVariables('--env', flags.env, environment);
  const secrets = resolveVariables('--secret', flags.secret, environment);
  // A dry run reports a bad file as the server's verdict, so a local parse failure is not an error here.
  const parsed = parseLocally(text, file, env, secrets, !flags.dryRun);
  const exportEnv = flags.exportEnv === true || (parsed?.tasks.some((task) => task.exportEnv) ?? false);
  const exportedEnv = exportEnv ? exportedEnvironment(environment, (line) => process.stderr.write(line)) : undefined;
  const request = { task: text, fileName: basename(file), env, secrets, ...(exportedEnv && { exportedEnv }) };
  if (flags.dryRun) {
    const result = await client.submit({ ...request, dryRun: true });
    process.stdout.write(flags.json ? JSON.stringify(result, null, 2) + '\n' : stringify({ spec: result.spec, verdict: result.verdict }));
    if (!flags.json) process.stderr.write((result.verdict.ok ? 'would be accepted: ' : 'would be refused: ') + result.verdict.summary + '\n');
    return result.verdict.ok ? 0 : 2;
  }
  const workdirUpload = await uploadWorkdir(client, parsed!);
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

/** The task as the server will read it; null when `strict` is false and it does not parse. */
function parseLocally(text: string, file: string, env: Record<string, string> | undefined, secrets: Record<string, string> | undefined, strict: boolean): TaskFile | null {
  try {
    return parseTaskFile(text, { fileName: basename(file), envOverrides: env, secretOverrides: secrets });
  } catch (error) {
    if (strict) throw error;
    return null;
  }
}

/** The workdir is resolved from the current directory, as SkyPilot does. */
async function uploadWorkdir(client: ReturnType<typeof connect>, parsed: TaskFile): Promise<string | undefined> {
  const workdir = parsed.tasks[0]?.workdir;
  if (!workdir) return undefined;
  const packed = await packWorkdir(resolve(workdir), { maxBytes: MAX_WORKDIR_BYTES });
  const uploaded = await client.upload(packed.archive);
  return uploaded.id;
}
