# Three runners; render two by name (config order, whatever order they are named in).
add c-runner --repository https://github.com/acme/c --mode kubernetes --auth-value-file @DATA@/token
add a-runner --repository https://github.com/acme/a --mode dind --auth-value-file @DATA@/token
add b-runner --repository https://github.com/acme/b --mode cached-privileged-kubernetes --auth-value-file @DATA@/token
render c-runner a-runner
