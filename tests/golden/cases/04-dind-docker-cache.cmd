# The demo: dind with the daemon's data root and a BuildKit directory kept on the node.
add web --repository https://github.com/acme/web --mode dind --cache /var/lib/docker --cache /srv/buildkit:/var/lib/buildkit --auth-value-file @DATA@/token
render
