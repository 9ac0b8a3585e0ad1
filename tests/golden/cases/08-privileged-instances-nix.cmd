# Two privileged instances with the host's Nix store and daemon socket.
add nix --repository https://github.com/acme/nix --mode cached-privileged-kubernetes --instances 2 --min-runners 0 --cache /var/lib/docker --cache /nix/store:/nix/store-host --mount /nix/var/nix/daemon-socket/socket:/nix/var/nix/daemon-socket-host/socket:Socket --auth-value-file @DATA@/token
render
