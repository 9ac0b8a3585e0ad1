# Cluster settings: another cache root and controller account feed every scale set.
config set cache-root /data/deskrun-cache
config set controller-service-account arc-ctl-gha-rs-controller
config set controller-namespace arc-ctl
add cached --repository https://github.com/acme/web --mode cached-privileged-kubernetes --cache /var/lib/docker --auth-value-file @DATA@/token
render
