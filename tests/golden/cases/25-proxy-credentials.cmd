# A proxy with credentials: they go into a Secret, never into the objects.
add behind --repository https://github.com/acme/web --mode dind --proxy http://ci-bot:s3cret@proxy.corp:3128 --no-proxy .corp,10.0.0.0/8 --auth-value-file @DATA@/token
render --include-secrets
