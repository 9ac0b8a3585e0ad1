# Mounts of every type reach the runner container.
add tools --repository https://github.com/acme/tools --mode dind --mount /nix/var/nix/daemon-socket:/nix/var/nix/daemon-socket-host:Directory --mount /run/tools.sock:/run/tools.sock:Socket --mount /srv/data:/data --auth-value-file @DATA@/token
render
