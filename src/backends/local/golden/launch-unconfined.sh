# stint launch plan: the server's account; no cgroup; host mounts
__stint_procs=()
__stint_command=('/usr/bin/env' '-i' 'PATH=/usr/sbin:/usr/bin:/sbin:/bin' '/bin/bash' '--norc' '--noprofile' '-c')
__stint_job_arg=1
