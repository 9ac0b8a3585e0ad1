# /var/lib/docker on the node under the cache root (one runner at a time).
add hp --repository https://github.com/acme/web --mode dind --docker-storage hostpath --auth-value-file @DATA@/token
render
