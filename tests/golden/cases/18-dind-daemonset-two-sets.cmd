# Two runner sets on the shared per-node daemon: one DaemonSet, two guards, two tenants.
add team-a --repository https://github.com/acme/a --mode dind-daemonset --auth-value-file @DATA@/token
add team-b --repository https://github.com/acme/b --mode dind-daemonset --max-runners 3 --auth-value-file @DATA@/token
render
