# kubernetes mode with every default: no daemon, jobs run as pods through the container hooks.
add api --repository https://github.com/acme/api --auth-value-file @DATA@/token
render
