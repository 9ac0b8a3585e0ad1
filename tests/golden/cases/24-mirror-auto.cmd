# --registry-mirror auto: deskrun's pull-through cache, for a dind set and the shared daemon.
add web --repository https://github.com/acme/web --mode dind --registry-mirror auto --auth-value-file @DATA@/token
add shared --repository https://github.com/acme/web --mode dind-daemonset --registry-mirror auto --auth-value-file @DATA@/token
render
