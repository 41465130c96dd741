# LAUNCHER ($0 = bash, $1 = JOB_SHELL)
set -m
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
          fd=${fd##*/}
          case $fd in 0|1|2|3|4|5|9) ;; *) eval "exec $fd>&-" ;; esac
        done
        /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin /usr/bin/setpriv --reuid="$uid" --regid="$gid" --init-groups -- /bin/bash --norc --noprofile -c "umask 022; $__stint_job" 9>&-
        code=$?
        echo "${sig:-$code}" >"$dir/exit"
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
