# kubernetes mode with a cache and a mount: both reach the job pods through a hook extension;
# the work volume claim takes a storage class and size.
add builder --repository https://github.com/acme/builder.git --mode kubernetes --cache /root/.cache --mount /srv/tools:/opt/tools:Directory --storage-class fast-ssd --work-volume-size 5Gi --namespace ci --auth-value-file @DATA@/token
render
