// `stint cancel ID...`: cancel jobs; pending ones end at once, running ones get SIGTERM then
// SIGKILL after the server's grace period.

import type { Command } from 'commander';
import { connect } from '../api/client.js';
import { clientConfig } from '../config.js';
import { StintError } from '../core/errors.js';
import { parseJobId } from './options.js';

export function registerCancel(program: Command): void {
  program
    .command('cancel')
    .argument('<ids...>', 'job ids')
    .description('cancel jobs')
    .action(async (ids: string[]) => {
      const client = connect(clientConfig());
      let failed = 0;
      for (const text of ids) {
        try {
          const outcome = await client.cancel(parseJobId(text));
          process.stdout.write(outcome.message + '\n');
        } catch (error) {
          // One bad id does not stop the others; a server or token problem stops them all.
          if (!(error instanceof StintError) || !['NOT_FOUND', 'INVALID_REQUEST', 'CONFLICT'].includes(error.code)) throw error;
          process.stderr.write(`stint: ${error.message}\n`);
          failed += 1;
        }
      }
      if (failed > 0) process.exitCode = 2;
    });
}
