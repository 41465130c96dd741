// The `stint` command line: one sub-command per file, all talking to the server through the REST
// client (only `server` runs in-process). Exit codes: 0 success, 2 bad input or a refused task,
// 1 anything else; `launch` without --detach exits with the job's own exit code.

import { Command, CommanderError } from 'commander';
import { StintError } from '../core/errors.js';
import { VERSION } from '../version.js';
import { registerServer } from './server.js';
import { registerLaunch } from './launch.js';
import { registerQueue } from './queue.js';
import { registerJob } from './job.js';
import { registerLogs } from './logs.js';
import { registerCancel } from './cancel.js';
import { registerGpus } from './gpus.js';
import { registerUsage } from './usage.js';
import { registerAdmin } from './admin.js';
import { registerDrain } from './drain.js';
import { registerNotify } from './notify.js';
import { registerSim } from './sim.js';
import { registerImage } from './image.js';

const INPUT_ERRORS = new Set(['INVALID_SPEC', 'INVALID_REQUEST', 'UNSUPPORTED_FEATURE', 'UNSATISFIABLE', 'WORKDIR_TOO_LARGE', 'NOT_FOUND', 'QUOTA_EXCEEDED', 'IMAGE_NOT_FOUND']);

export function buildProgram(): Command {
  const program = new Command('stint')
    .description('One fair GPU queue for a lab: launch SkyPilot-style task files, watch the queue, read logs.')
    .version(VERSION)
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  registerServer(program);
  registerLaunch(program);
  registerQueue(program);
  registerJob(program);
  registerLogs(program);
  registerCancel(program);
  registerGpus(program);
  registerUsage(program);
  registerAdmin(program);
  registerDrain(program);
  registerNotify(program);
  registerSim(program);
  registerImage(program);
  return program;
}

export function exitCodeFor(error: unknown): number {
  if (error instanceof StintError) return INPUT_ERRORS.has(error.code) ? 2 : 1;
  return 1;
}

export function describeError(error: unknown): string {
  if (error instanceof StintError) return `stint: ${error.message}`;
  if (error instanceof Error) return `stint: unexpected error: ${error.message}`;
  return `stint: unexpected error: ${String(error)}`;
}

async function main(argv: string[]): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      process.exitCode = error.exitCode === 0 ? 0 : 2;
      return;
    }
    process.stderr.write(describeError(error) + '\n');
    process.exitCode = exitCodeFor(error);
  }
}

await main(process.argv);
