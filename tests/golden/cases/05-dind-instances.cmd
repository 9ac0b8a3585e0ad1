# --instances 3: three scale sets, one runner each, each with its own /var/lib/docker.
add ci --repository https://github.com/acme/web --mode dind --instances 3 --cache /var/lib/docker --labels linux,docker --auth-value-file @DATA@/token
render
