// `stint notify set URL [--slack] | show | clear`: your alert webhook. stint posts to it when one of
// your jobs ends or fails, or idles its GPUs (generic JSON, or a Slack-compatible body).

import type { Command } from 'commander';
import { connect } from '../api/client.js';
import { clientConfig } from '../config.js';

export function registerNotify(program: Command): void {
  const notify = program.command('notify').description('your alert webhook: job ended, failed, or idle');
  notify.command('set')
    .argument('<url>', 'http(s) URL that accepts a POST (members: within the server\'s --webhook-allow list)')
    .option('--slack', 'send a Slack-compatible body ({text, blocks}) instead of stint\'s JSON')
    .action(async (url: string, flags: { slack?: boolean }) => {
      const { webhook } = await connect(clientConfig()).setWebhook(url, flags.slack ? 'slack' : 'json');
      process.stdout.write(`alerts go to ${webhook?.url} (${webhook?.format})\n`);
    });
  notify.command('show').action(async () => {
    const { webhook } = await connect(clientConfig()).webhook();
    process.stdout.write(webhook ? `${webhook.url} (${webhook.format})\n` : 'no webhook set\n');
  });
  notify.command('clear').action(async () => {
    await connect(clientConfig()).removeWebhook();
    process.stdout.write('webhook removed\n');
  });
}
