# --cache-pool with --dind-image-has-deskrun: the dind image (deskrun image build --dind) holds
# deskrun, so the runner pod and the shared daemon have no deskrun-bin init container or volume.
add pool --repository https://github.com/acme/web --mode dind --cache-pool 4 --dind-image registry.local/deskrun-dind:0.1.0 --dind-image-has-deskrun --auth-value-file @DATA@/token
add shared --repository https://github.com/acme/api --mode dind-daemonset --cache-pool 2 --dind-image registry.local/deskrun-dind:0.1.0 --dind-image-has-deskrun --auth-value-file @DATA@/token
render
