// The bash text of the local launcher (pinned by a golden file: golden/launcher.sh). One long-lived
// bash reads one line per attempt, `UID GID DIR` (`- - DIR`: run as the server's own account), and
// forks one subshell per attempt, the leader of the attempt's own process group (`set -m`).
// Invariants of the privileged (root) part: it uses helpers by absolute path only, runs them with
// `env -i` and a fixed PATH, never reads the job's environment, scripts or workdir (it opens
// env.sh, setup.sh and run.sh on fds 3-5 and hands them over), and writes only into the attempt
// directory, which the job cannot write. The job's environment exists only in the shell after
// `setpriv`, which reads the three fds with builtins and closes them. The server's own account
// (a non-root server, or the server's user) takes the same path without setpriv, in the subshell.

/** Helpers run by the root part, by absolute path (never found through a PATH). */
export const HELPERS = { bash: '/bin/bash', env: '/usr/bin/env', setpriv: '/usr/bin/setpriv' } as const;

/** The PATH the root part runs helpers with: fixed, never the job's. */
export const PRIVILEGED_PATH = '/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * What the job's own shell runs: load the environment from fd 3 (env.sh), then `cd` to the
 * workdir, then setup (fd 4) in a subshell, then run (fd 5). Fatal signals become exits 128+N; a
 * task that mentions `trap` runs in a nested subshell (STINT_ISOLATE_RUN) so these traps stay in
 * place and the shell waits for it.
 */
export const JOB_SHELL = `trap 'exit 129' HUP; trap 'exit 130' INT; trap 'exit 143' TERM
IFS= read -r -d '' __stint_env <&3; IFS= read -r -d '' __stint_setup <&4; IFS= read -r -d '' __stint_run <&5
exec 3<&- 4<&- 5<&-
eval "$__stint_env" || exit 96
unset __stint_env
cd "$STINT_WORKDIR" || exit 97
if [ -n "$__stint_setup" ]; then
  ( eval "$__stint_setup" ) || { code=$?; echo "stint: setup failed with exit code $code" >&2; exit $code; }
fi
unset __stint_setup
if [ -n "$STINT_ISOLATE_RUN" ]; then
  ( eval "$__stint_run" )
else
  eval "$__stint_run"
fi
`;

// Exit status: the server's own account records it from an EXIT trap in the job's shell (fatal
// signals turned into exits 128+N). A dropped job's status is recorded by its root subshell after
// the job's shell ends (128+N when the group was signalled), into the root-owned attempt
// directory, so neither a `trap ... EXIT` of the user's nor a planted symlink can change where or
// what it writes. fd 9 is the launcher's report channel; the dropped job never has it, nor any
// other descriptor but 0-2 and the three it reads (bash's own job-control pipe is closed too).
export const LAUNCHER = `set -m
umask 077
__stint_job=$1
shift
exec 9>&1
while IFS=' ' read -r uid gid dir; do
  pid=
  {
    if [ "$uid" = - ]; then
      (
        readonly __stint_exit="$dir/exit" __stint_dir="$dir"
        unset uid gid dir pid
        trap 'code=$?; umask 077; echo "$code" >"$__stint_exit"; echo "exited $__stint_dir" >&9' EXIT
        umask 022
        eval "$__stint_job"
      ) >>"$dir/output.log" 2>&1 </dev/null &
    else
      (
        sig=
        trap 'sig=129' HUP; trap 'sig=130' INT; trap 'sig=143' TERM
        for fd in /proc/$BASHPID/fd/*; do
          fd=\${fd##*/}
          case $fd in 0|1|2|3|4|5|9) ;; *) eval "exec $fd>&-" ;; esac
        done
        ${HELPERS.env} -i PATH=${PRIVILEGED_PATH} ${HELPERS.setpriv} --reuid="$uid" --regid="$gid" --init-groups -- ${HELPERS.bash} --norc --noprofile -c "umask 022; $__stint_job" 9>&-
        code=$?
        echo "\${sig:-$code}" >"$dir/exit"
        echo "exited $dir" >&9
      ) >>"$dir/output.log" 2>&1 </dev/null &
    fi
    pid=$!
  } 3<"$dir/env.sh" 4<"$dir/setup.sh" 5<"$dir/run.sh"
  if [ -z "$pid" ]; then
    echo "failed $dir"
    continue
  fi
  echo "$pid" >"$dir/pgid"
  echo "started $dir $pid"
done
`;

/** The launcher's command line: `bash -c LAUNCHER bash JOB_SHELL` ($0 stays "bash" for the job). */
export function launcherArgs(): string[] {
  return ['--norc', '--noprofile', '-c', LAUNCHER, 'bash', JOB_SHELL];
}

/** The line that hands one attempt to the launcher. */
export function launchLine(dir: string, runAs: { uid: number; gid: number } | null): string {
  if (/[\n\r]/.test(dir)) throw new Error(`the attempt directory ${JSON.stringify(dir)} contains a line break`);
  return runAs ? `${runAs.uid} ${runAs.gid} ${dir}\n` : `- - ${dir}\n`;
}
