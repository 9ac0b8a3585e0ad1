# docker-socket --no-guard: the raw socket in the runner (a warning at add), with a cache.
add raw --repository https://github.com/acme/web --mode docker-socket --no-guard --cache /root/.cache --auth-value-file @DATA@/token
render
