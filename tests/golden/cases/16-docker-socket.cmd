# docker-socket: the node's daemon, reached only through the guard sidecar.
add sock --repository https://github.com/acme/web --mode docker-socket --auth-value-file @DATA@/token
render
