# A proxy without credentials, in kubernetes mode.
add kp --repository https://github.com/acme/web --mode kubernetes --proxy http://proxy.corp:3128 --auth-value-file @DATA@/token
render
