# --force replaces a definition wholly.
add web --repository https://github.com/acme/web --mode dind --cache /var/lib/docker --auth-value-file @DATA@/token
add web --repository https://github.com/acme/web --mode kubernetes --force --auth-value-file @DATA@/token
render
