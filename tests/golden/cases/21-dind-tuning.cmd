# DinD tuning: mirrors, an insecure registry, MTU, daemon resources, BuildKit.
add tuned --repository https://github.com/acme/web --mode dind --registry-mirror https://mirror.gcr.io --registry-mirror http://10.0.0.5:5000 --insecure-registry 10.0.0.5:5000 --mtu 1450 --dockerd-cpu 1 --dockerd-memory 2Gi --buildkit --auth-value-file @DATA@/token
render
