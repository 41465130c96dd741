// `stint logs ID [--follow]`: a job's output (its current attempt), optionally until it ends.

import type { Command } from 'commander';
import { connect } from '../api/client.js';
import { clientConfig } from '../config.js';
import { followLogs, terminalWriter } from './follow.js';
import { parseJobId } from './options.js';

export function registerLogs(program: Command): void {
  program
    .command('logs')
    .argument('<id>', 'job id')
    .description("print a job's output")
    .option('-f, --follow', 'keep printing new output until the job ends')
    .action(async (id: string, flags: { follow?: boolean }) => {
      const client = connect(clientConfig());
      await followLogs(client, parseJobId(id), terminalWriter(), { follow: Boolean(flags.follow) });
    });
}
