# kubernetes --cluster-builds: RBAC for daemonless build Jobs.
add builds --repository https://github.com/acme/web --mode kubernetes --cluster-builds --auth-value-file @DATA@/token
render
