# --cache-pool: one autoscaling scale set whose daemons lease warm /var/lib/docker slots.
add pool --repository https://github.com/acme/web --mode dind --cache-pool 4 --cache-max-size 30Gi --max-runners 8 --auth-value-file @DATA@/token
render
