# GitHub App credentials, rendered with --include-secrets.
add app-runner --repository https://github.com/acme --mode dind --auth-type github-app --app-id 123456 --installation-id 7890123 --private-key-file @DATA@/app-key.pem
render --include-secrets
