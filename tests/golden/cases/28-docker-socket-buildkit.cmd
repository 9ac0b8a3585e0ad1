# docker-socket with BuildKit and a socket mount for the runner.
add bk --repository https://github.com/acme/web --mode docker-socket --buildkit --mount /run/tools.sock:/run/tools.sock:Socket --auth-value-file @DATA@/token
render
