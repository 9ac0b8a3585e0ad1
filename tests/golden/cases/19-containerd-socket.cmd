# containerd-socket: nerdctl/BuildKit clients against the node's containerd, a namespace per set.
add ctr --repository https://github.com/acme/web --mode containerd-socket --labels nerdctl --auth-value-file @DATA@/token
render
