# ARC's dind layout, unchanged.
add web --repository https://github.com/acme/web --mode dind --auth-value-file @DATA@/token
render
