// The `podman run` command line of one attempt (pinned by golden/run-args.txt), built from the
// request and what the engine resolved (the image id, the device names). Pure: no I/O.
// Must hold: the container runs the image id that was inspected (never a tag that may have moved),
// as the attempt's account with no capabilities and no way to gain any (setuid files in an image
// do nothing), with fds 3-5 passed through and the job's limits (memory: the attempt cgroup's); its PID 1 is a small bash that
// forwards HUP/INT/TERM to the job's whole process group (as the bare launcher signals the group)
// and exits with the job shell's status. The job's environment never appears here: it travels in
// env.sh on fd 3.

import type { ContainerRequest } from '../container-port.js';
import { JOB_SHELL } from '../launcher-script.js';

/**
 * PID 1 inside the container. podman's `--sig-proxy` delivers a signal to PID 1 only, so this shell
 * starts the job shell in its own process group (`set -m`, then `set +m` so no job notices are
 * printed) and forwards HUP/INT/TERM to that group,
 * then exits with the job shell's status; when PID 1 ends, the kernel kills what is left in the
 * container. A wait cut short by a trapped signal is waited again (status > 128 with `sig` set).
 */
export const CONTAINER_INIT = `set -m
/bin/bash --norc --noprofile -c "$1" bash &
child=$!
set +m
for s in HUP INT TERM; do trap "sig=$s; kill -$s -- -\\$child 2>/dev/null" $s; done
while :; do
  sig=
  wait "$child"; code=$?
  if [ -z "$sig" ] || [ "$code" -le 128 ]; then break; fi
  if ! kill -0 "$child" 2>/dev/null; then wait "$child"; c=$?; [ "$c" -ne 127 ] && code=$c; break; fi
done
exit "$code"
`;

export interface RunArgsInput {
  request: ContainerRequest;
  /** The container's name (`stint-<attemptName>`). */
  name: string;
  /** podman's image id (`sha256:...` or its hex), the exact image that was inspected. */
  imageId: string;
  /** `--device` values: CDI names (`nvidia.com/gpu=1`) or device paths (AMD `/dev/kfd`, render nodes). */
  devices: readonly string[];
  /** `--ulimit` arguments the host needs (Podman.ulimitArgs). */
  ulimitArgs: readonly string[];
  /** Whether the server (and so podman) is root; a non-root server runs rootless podman. */
  serverIsRoot: boolean;
  /** The server's own uid:gid, used when `runAs` is null. */
  self: { uid: number; gid: number };
}

/** The arguments after `podman <global args>`: `run ... <image> /bin/bash ... -c CONTAINER_INIT bash JOB_SHELL`. */
export function buildRunArgs(input: RunArgsInput): string[] {
  const { request } = input;
  return [
    'run', '--rm', '--name', input.name, '--pull', 'never', '--log-driver', 'none',
    ...identityArgs(input),
    '--cap-drop', 'all', '--security-opt', 'no-new-privileges',
    '--network', 'host',
    ...limitArgs(request),
    ...input.ulimitArgs,
    ...request.mounts.flatMap((m) => ['-v', `${checkedMountPath(m.host)}:${checkedMountPath(m.container)}${m.readOnly ? ':ro' : ''}`]),
    '--workdir', request.workdir,
    '--preserve-fds', '3',
    ...input.devices.flatMap((d) => ['--device', d]),
    '--entrypoint', '/bin/bash',
    input.imageId,
    '--norc', '--noprofile', '-c', CONTAINER_INIT, 'bash', JOB_SHELL,
  ];
}

/** CUDA_VISIBLE_DEVICES (and ROCm's) inside: the assigned GPUs renumbered 0..k-1 in ledger order. */
export function containerGpuEnv(gpus: readonly number[], vendor: 'nvidia' | 'amd' | 'none'): Record<string, string> {
  const inside = gpus.map((_, i) => String(i)).join(',');
  if (vendor === 'amd') return { ROCR_VISIBLE_DEVICES: inside, HIP_VISIBLE_DEVICES: inside, CUDA_VISIBLE_DEVICES: inside };
  return { CUDA_VISIBLE_DEVICES: inside, NVIDIA_VISIBLE_DEVICES: 'void' };
}

function identityArgs(input: RunArgsInput): string[] {
  const who = input.request.runAs;
  if (who === null) {
    // Rootless podman maps the server's own account to itself with keep-id.
    const userns = input.serverIsRoot ? [] : ['--userns', 'keep-id'];
    return [...userns, '--user', `${input.self.uid}:${input.self.gid}`];
  }
  const groups = [...new Set(who.groups ?? [])].filter((g) => g !== who.gid);
  return ['--user', `${who.uid}:${who.gid}`, ...groups.flatMap((g) => ['--group-add', String(g)])];
}

function limitArgs(request: ContainerRequest): string[] {
  const args: string[] = [];
  // no-conmon: podman's monitor stays outside the attempt's cgroup, so killing that cgroup (cancel,
  // timeout) ends the container while conmon lives to record its exit status (else podman waits
  // ~20 s and exits 127).
  if (request.cgroupParent !== null) args.push('--cgroup-parent', request.cgroupParent, '--cgroups', 'no-conmon');
  // Memory is held by the attempt's cgroup when there is one: the OOM kill is then counted there,
  // where the backend reads its evidence (a limit on the container's own cgroup would count the
  // kill in a cgroup podman removes as the container ends). Without one, the container holds it.
  if (request.memoryBytes !== null && request.cgroupParent === null) args.push('--memory', `${request.memoryBytes}b`, '--memory-swap', `${request.memoryBytes}b`);
  if (request.cpus !== null) args.push('--cpus', String(request.cpus));
  if (request.pidsLimit !== null) args.push('--pids-limit', String(request.pidsLimit));
  return args;
}

/** A mount path podman's `-v` syntax can carry: absolute, no `:` or `,` (option separators), no NUL/line breaks. */
function checkedMountPath(path: string): string {
  if (!path.startsWith('/') || /[:,\0\n\r]/.test(path)) {
    throw new Error(`mount path ${JSON.stringify(path)} cannot be passed to podman -v: it must be absolute and hold no ':' ',' or line break`);
  }
  return path;
}
