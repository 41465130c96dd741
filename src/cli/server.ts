// `stint server`: runs the server in this process until SIGINT/SIGTERM.

import type { Command } from 'commander';
import { serverConfig } from '../config.js';

export function registerServer(program: Command): void {
  program
    .command('server')
    .description('run the stint server (SQLite store, local backend, REST API)')
    .option('--port <port>', 'TCP port to listen on (0 = any free port)')
    .option('--host <host>', 'address to bind (default 127.0.0.1: this machine only)')
    .option('--home <dir>', 'state directory (default $STINT_HOME or ~/.stint)')
    .option('--gpus <spec>', 'declare fake GPUs for a machine without any, e.g. A100:4 or 4')
    .option('--kill-grace <seconds>', 'seconds between SIGTERM and SIGKILL on cancel and timeout (default 30)')
    .option('--preempt-grace <seconds>', 'seconds a preempted job has to checkpoint before SIGKILL (default 60)')
    .option('--preempt-min-runtime <seconds>', 'a job younger than this is never preempted (default 300)')
    .option('--allow-root-jobs', 'when the server runs as root, run the jobs of users not mapped to a Unix account as root')
    .action(async (flags: { port?: string; host?: string; home?: string; gpus?: string; killGrace?: string; preemptGrace?: string; preemptMinRuntime?: string; allowRootJobs?: boolean }) => {
      const config = serverConfig(flags);
      // Loaded on demand: the other commands must not pay for the server's dependencies.
      const { startServer } = await import('../server/start.js');
      const server = await startServer(config);
      process.stdout.write(`stint server listening on ${server.url} (home ${config.home}; ${server.gpuSummary})\n`);
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      process.stdout.write('stint server stopping; running jobs keep running\n');
      await server.stop();
    });
}
