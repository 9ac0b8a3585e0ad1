# The shared per-node daemon under the pool's entrypoint (crash-safe restarts, quota).
add shared --repository https://github.com/acme/web --mode dind-daemonset --cache-pool 2 --cache-max-size 100Gi --auth-value-file @DATA@/token
render
