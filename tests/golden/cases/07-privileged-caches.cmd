# The seed's cached-privileged-kubernetes example: a privileged job pod with hostPath caches.
add docker-runner --repository https://github.com/owner/repo --mode cached-privileged-kubernetes --cache /var/lib/docker --cache /root/.cache/nix --auth-value-file @DATA@/token
render
