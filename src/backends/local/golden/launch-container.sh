# stint launch plan: container (the engine puts it under the attempt's cgroup)
__stint_procs=()
__stint_command=('/usr/bin/podman' 'run' '--rm' '--name' 'stint-local-4-1' 'docker.io/library/debian:12' '/bin/bash' '-c' 'it'\''s quoted')
__stint_job_arg=
