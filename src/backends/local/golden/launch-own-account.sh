# stint launch plan: the server's account; own cgroup; own mount namespace
__stint_procs=('/sys/fs/cgroup/memory/stint/0123456789ab/job-4-1/cgroup.procs' '/sys/fs/cgroup/pids/stint/0123456789ab/job-4-1/cgroup.procs')
__stint_command=('/usr/bin/unshare' '--mount' '--propagation' 'private' '--' '/bin/bash' '--norc' '--noprofile' '-c' 'while [ "$1" != -- ]; do /usr/bin/mount --bind "$1" "$2" || { echo "stint: cannot bind $1 on $2" >&2; exit 94; }; shift 2; done; shift; exec "$@"' 'bash' '/var/lib/stint/jobs/4/attempt-1/tmp' '/tmp' '--' '/usr/bin/env' '-i' 'PATH=/usr/sbin:/usr/bin:/sbin:/bin' '/bin/bash' '--norc' '--noprofile' '-c')
__stint_job_arg=1
