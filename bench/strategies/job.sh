#!/bin/sh
# bench/strategies/job.sh CTX TAG NAME BASE: the Docker steps of one CI job, run inside the runner
# (or job) container against whatever DOCKER_HOST the pod gives it: build the workload in CTX
# (legacy builder, the log to CTX/build.log), run the result, then a service container on a job
# network probed by a second container, and clean up. Prints "build NS run NS service NS", each
# step's wall time measured here, so `podman exec`'s own start-up is not counted.
set -eu
ctx=$1 tag=$2 name=$3 base=$4
ts() { date +%s%N; }
t0=$(ts)
cd "$ctx"
if ! DOCKER_BUILDKIT=0 docker build -t "$tag" . >build.log 2>&1; then
	tail -20 build.log >&2
	exit 1
fi
t1=$(ts)
out=$(docker run --rm "$tag")
want="deskrun bench $(sed -n 's/^#define VERSION "\(.*\)"$/\1/p' app/version.h) "
case "$out" in
"$want"*) ;;
*) echo "job: the image printed '$out', not '$want...'" >&2; exit 1 ;;
esac
t2=$(ts)
docker network create "$name-net" >/dev/null
docker run -d --name "$name-svc" --network "$name-net" "$base" \
	/bin/sh -c 'echo service-ok >/var/www/index.html && exec httpd -f -p 8080 -h /var/www' >/dev/null
i=0
until [ "$(docker run --rm --network "$name-net" "$base" wget -qO- "http://$name-svc:8080/" 2>/dev/null)" = service-ok ]; do
	i=$((i + 1))
	[ $i -lt 50 ] || { echo "job: the service never answered" >&2; exit 1; }
	sleep 0.1
done
docker rm -f "$name-svc" >/dev/null
docker network rm "$name-net" >/dev/null
t3=$(ts)
echo "build $((t1 - t0)) run $((t2 - t1)) service $((t3 - t2))"
