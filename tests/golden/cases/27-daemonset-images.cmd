# Air-gapped images: the daemon, the helper and the guard from a private registry; ephemeral data.
add airgap --repository https://github.com/acme/web --mode dind-daemonset --docker-storage ephemeral --dind-image registry.local/docker:27-dind --helper-image registry.local/deskrun-helper:0.1.0 --guard-image registry.local/deskrun-guard:0.1.0 --auth-value-file @DATA@/token
render
