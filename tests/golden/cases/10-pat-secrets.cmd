# A PAT rendered with --include-secrets.
add api --repository https://github.com/acme/api --auth-value-file @DATA@/token
render --include-secrets
