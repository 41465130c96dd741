# LAUNCHER ($0 = bash, $1 = JOB_SHELL)
set -m
umask 077
__stint_job=$1
shift
exec 9>&1
while IFS= read -r dir; do
  pid=
  {
    (
      sig=
      trap 'sig=129' HUP; trap 'sig=130' INT; trap 'sig=143' TERM
      IFS= read -r -d '' __stint_plan <&6
      for fd in /proc/$BASHPID/fd/*; do
        fd=${fd##*/}
        case $fd in 0|1|2|3|4|5|9) ;; *) eval "exec $fd>&-" ;; esac
      done
      __stint_procs=() __stint_command=() __stint_job_arg=
      eval "$__stint_plan"
      unset __stint_plan
      exec 8>&2 2>/dev/null
      (
        for f in "${__stint_procs[@]}"; do echo "$BASHPID" >"$f" || exit 95; done
        exec "${__stint_command[@]}" ${__stint_job_arg:+"umask 022; $__stint_job"}
      ) 9>&- 2>&8 8>&-
      code=$?
      exec 2>&8 8>&-
      [ "$code" = 137 ] && sig=
      echo "${sig:-$code}" >"$dir/exit"
      echo "exited $dir" >&9
    ) >>"$dir/output.log" 2>&1 </dev/null &
    pid=$!
  } 3<"$dir/env.sh" 4<"$dir/setup.sh" 5<"$dir/run.sh" 6<"$dir/launch.sh"
  if [ -z "$pid" ]; then
    echo "failed $dir"
    continue
  fi
  echo "$pid" >"$dir/pgid"
  echo "started $dir $pid"
done

# JOB_SHELL
trap 'exit 129' HUP; trap 'exit 130' INT; trap 'exit 143' TERM
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

# NAMESPACE_SETUP
while [ "$1" != -- ]; do /usr/bin/mount --bind "$1" "$2" || { echo "stint: cannot bind $1 on $2" >&2; exit 94; }; shift 2; done; shift; exec "$@"
