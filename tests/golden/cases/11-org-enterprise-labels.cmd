# An organization runner and an enterprise runner in separate namespaces, with labels.
add org-runner --repository https://github.com/acme/ --mode dind --labels self-hosted-linux,x64 --namespace team-a --auth-value-file @DATA@/token
add ent-runner --repository https://github.com/enterprises/acme-corp --mode kubernetes --labels gpu --namespace team-b --min-runners 0 --max-runners 20 --auth-value-file @DATA@/token
render
