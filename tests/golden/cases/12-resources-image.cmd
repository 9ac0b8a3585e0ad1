# Resources and a private runner image.
add big --repository https://ghes.example.com/platform/monorepo --mode dind --cpu 4 --memory 8Gi --runner-image registry.local:5000/actions-runner:2.334.0 --min-runners 0 --max-runners 10 --cache /root/.cache --auth-value-file @DATA@/token
render
