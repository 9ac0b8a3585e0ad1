# /var/lib/docker on a PersistentVolumeClaim per instance.
add pvc --repository https://github.com/acme/web --mode dind --instances 2 --docker-storage pvc --docker-storage-size 50Gi --storage-class fast-ssd --auth-value-file @DATA@/token
render
