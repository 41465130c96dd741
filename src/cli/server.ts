// `stint server`: runs the server in this process until SIGINT/SIGTERM.

import type { Command } from 'commander';
import { serverConfig, type ServerFlags } from '../config.js';
import { StintError } from '../core/errors.js';

type ObservabilityFlags = Pick<ServerFlags, 'metricsToken' | 'metricsTokenFile' | 'webhookAllow' | 'telemetryInterval' | 'gpuTelemetryFile' | 'healthCommand' | 'healthInterval' | 'idlePolicy' | 'adminWebhook'>;

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
    .option('--config <file>', 'YAML file declaring the backends (local, slurm); see docs/slurm.md')
    .option('--allow-root-jobs', 'when the server runs as root, run the jobs of users not mapped to a Unix account as root')
    .option('--shared-account-insecure', 'allow several users who may run jobs although their jobs share one Unix account (a non-root server, Slurm through one account): each can read the others\' files, secrets and the admin token')
    .option('--max-image-mb <mib>', 'largest image archive `stint image import` accepts, in MiB (default 20480: 20 GiB)')
    .option('--jobs-dir <dir>', 'where job directories live (default <home>/jobs, or /var/lib/stint/jobs-HASH when a root server\'s home is closed to other accounts)')
    .option('--metrics-token <token>', 'refused: a token on the command line shows in every local user\'s `ps`; use --metrics-token-file')
    .option('--metrics-token-file <path>', 'require the bearer token in this file (mode 600) on /metrics (default: open, as exporters are; or STINT_METRICS_TOKEN)')
    .option('--telemetry-interval <seconds>', 'how often GPUs are sampled (default 5)')
    .option('--gpu-telemetry-file <file>', 'read fake GPUs\' utilisation, memory, Xids and ECC from this JSON file')
    .option('--health-command <command>', 'run per GPU (STINT_GPU_INDEX set); a non-zero exit drains that GPU')
    .option('--health-interval <seconds>', 'how often the health command runs (default 60)')
    .option('--idle-policy <rule>', 'default idle-GPU rule: threshold=5,warn=30m,stop=2h,applies=interactive (the default), or off')
    .option('--admin-webhook <urls>', 'comma-separated webhook URLs for drains and node failures; prefix slack: for Slack-compatible bodies')
    .option('--fake-gpu-devices <dir>', 'device nodes of the fake GPUs (--gpus): GPU N is DIR/nvidiaN, so a job can open only its own')
    .option('--default-memory-per-gpu <size>', 'memory limit of a task that states no `memory`, per GPU it holds, e.g. 64GB (default: no limit)')
    .option('--pids-limit <n>', 'processes and threads per job (default 16384)')
    .option('--container-runtime <path>', 'OCI runtime podman runs containers with (default: runc if installed, else crun)')
    .option('--no-confine', 'run jobs without their own cgroup and mount namespace (limits are then not enforced; the server says so)')
    .option('--webhook-allow <entries>', 'where members may point their webhooks: comma-separated hosts, host:port, URL prefixes, addresses or CIDRs, or * for any public host (default: none, only admins set webhooks; or STINT_WEBHOOK_ALLOW)')
    .action(async (flags: { port?: string; host?: string; home?: string; gpus?: string; killGrace?: string; preemptGrace?: string; preemptMinRuntime?: string; allowRootJobs?: boolean; sharedAccountInsecure?: boolean; jobsDir?: string; config?: string; maxImageMb?: string; fakeGpuDevices?: string; defaultMemoryPerGpu?: string; pidsLimit?: string; confine?: boolean; containerRuntime?: string } & ObservabilityFlags) => {
      if (flags.metricsToken !== undefined) {
        throw new StintError('INVALID_REQUEST', '--metrics-token is refused: a token on the command line is visible to every local user in `ps`. Write it to a file only the server\'s account can read and pass --metrics-token-file PATH, or set STINT_METRICS_TOKEN', { field: '--metrics-token', accepted: '--metrics-token-file PATH or STINT_METRICS_TOKEN' });
      }
      const config = serverConfig(flags);
      if (config.sharedAccountInsecure) {
        process.stderr.write('stint: warning: --shared-account-insecure: users whose jobs share one Unix account can read each other\'s files, secrets and the admin token\n');
      }
      // Loaded on demand: the other commands must not pay for the server's dependencies.
      const { startServer } = await import('../server/start.js');
      const server = await startServer(config);
      process.stdout.write(`stint server listening on ${server.url} (home ${config.home}; ${server.gpuSummary})\n`);
      for (const warning of server.warnings) process.stderr.write(`stint: warning: ${warning}\n`);
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      process.stdout.write('stint server stopping; running jobs keep running\n');
      await server.stop();
    });
}
