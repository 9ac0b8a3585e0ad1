#!/bin/bash
# tests/cluster/cluster.sh: a real single-node Kubernetes, everything private under DIR.
#
#   cluster.sh start DIR    start it; print "cluster: started in Ns"; exit 0 when the node is Ready
#   cluster.sh stop DIR     stop everything it started (by PID) and remove what it made
#   cluster.sh env DIR      print shell exports: KUBECONFIG, PATH with wrappers (kubectl, ctr, helm)
#   cluster.sh exec DIR CMD...   run CMD inside the cluster's network and mount namespaces
#
# Isolation. Every component runs inside one network namespace and one mount namespace, held
# open by a holder process (DIR/run/holder.pid) made with unshare: the CNI bridge, the pods'
# veths, kube-proxy's iptables chains and every mount (containerd's overlays, the kubelet's
# volumes, the tmpfs over /run, the binds over /var/log, /var/lib/cni, /var/lib/kubelet and
# three sysctl files the kubelet would otherwise set machine-wide) exist only there and vanish
# with it. The host's /run/containerd, dockerd, podman and their iptables chains are never
# touched. The kubelet's cgroups live under their own root (/deskrun-cluster-<id>), removed by
# stop. Images (pause, busybox, busybox+kubectl) are built here and imported with ctr.
#
# Binaries: $DESKRUN_CLUSTER_BIN, else the cache that build.sh --print-dir names. containerd,
# runc and the CNI plugins are Debian's; the runc runtime is /work/shared/tools/runc-bounded
# (or $DESKRUN_RUNC) when present, since the bounding set here lacks CAP_SYS_RESOURCE.
#
# Exit status: 0 ok, 1 a component failed (its log is printed), 4 a deadline passed,
# 127 a program is missing.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)

NODE=deskrun-node
NODE_IP=10.201.0.1
POD_CIDR=10.202.0.0/24
SVC_CIDR=10.203.0.0/24
SVC_IP=10.203.0.1
PAUSE_IMAGE=registry.k8s.io/pause:3.10
BUSYBOX_IMAGE=deskrun.test/busybox:1
KUBECTL_IMAGE=deskrun.test/kubectl:1
READY_DEADLINE=${DESKRUN_CLUSTER_DEADLINE:-180}

log() { echo "cluster: $*" >&2; }
die() { local rc=$1; shift; log "$*"; exit "$rc"; }

bindir() {
	if [ -n "${DESKRUN_CLUSTER_BIN:-}" ]; then
		echo "$DESKRUN_CLUSTER_BIN"
	else
		local d
		d=$("$HERE/build.sh" --print-dir) || return 1
		echo "$d/bin"
	fi
}

runc_bin() {
	local r=${DESKRUN_RUNC:-}
	if [ -z "$r" ]; then
		for c in "$HERE/../../../shared/tools/runc-bounded" /work/shared/tools/runc-bounded; do
			[ -x "$c" ] && { r=$(cd "$(dirname "$c")" && pwd)/runc-bounded; break; }
		done
	fi
	echo "${r:-$(command -v runc)}"
}

holder() { cat "$D/run/holder.pid" 2>/dev/null; }
# ns CMD...: run CMD in the cluster's namespaces (nsenter execs it: the PID is CMD's)
ns() { nsenter -t "$(holder)" -n -m -- "$@"; }
alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }

# spawn NAME CMD...: start a component in the namespaces, its PID in run/NAME.pid
spawn() {
	local name=$1
	shift
	nsenter -t "$(holder)" -n -m -- "$@" </dev/null >"$D/log/$name.log" 2>&1 &
	echo $! >"$D/run/$name.pid"
	echo "$name" >>"$D/run/order"
}

# wait_for NAME SECONDS CMD...: poll CMD until it succeeds; NAME's process must stay alive
wait_for() {
	local name=$1 secs=$2 end
	shift 2
	end=$(($(date +%s) + secs))
	while ! "$@" >/dev/null 2>&1; do
		if [ -f "$D/run/$name.pid" ] && ! alive "$(cat "$D/run/$name.pid")"; then
			log "$name exited; the end of its log:"
			tail -n 30 "$D/log/$name.log" >&2
			return 1
		fi
		if [ "$(date +%s)" -ge "$end" ]; then
			log "$name: not ready within ${secs}s; the end of its log:"
			tail -n 30 "$D/log/$name.log" >&2
			return 4
		fi
		sleep 0.5
	done
}

# ---- certificates ----
pki() {
	local p=$D/pki
	mkdir -p "$p"
	openssl req -x509 -newkey rsa:2048 -nodes -days 30 \
		-subj "/CN=deskrun-cluster-ca" -keyout "$p/ca.key" -out "$p/ca.crt" 2>/dev/null || return 1
	# cert NAME SUBJECT [SAN]
	cert() {
		local ext=$p/$1.ext
		printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n' >"$ext"
		if [ -n "${3:-}" ]; then
			printf 'extendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=%s\n' "$3" >>"$ext"
		else
			printf 'extendedKeyUsage=clientAuth\n' >>"$ext"
		fi
		openssl req -newkey rsa:2048 -nodes -subj "$2" \
			-keyout "$p/$1.key" -out "$p/$1.csr" 2>/dev/null &&
			openssl x509 -req -in "$p/$1.csr" -CA "$p/ca.crt" -CAkey "$p/ca.key" -CAcreateserial \
				-days 30 -extfile "$ext" -out "$p/$1.crt" 2>/dev/null
	}
	cert apiserver "/CN=kube-apiserver" \
		"DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,DNS:localhost,IP:127.0.0.1,IP:$NODE_IP,IP:$SVC_IP" &&
		cert admin "/O=system:masters/CN=system:admin" &&
		cert controller-manager "/CN=system:kube-controller-manager" &&
		cert scheduler "/CN=system:kube-scheduler" &&
		cert proxy "/O=system:node-proxier/CN=system:kube-proxy" &&
		cert kubelet "/O=system:nodes/CN=system:node:$NODE" &&
		cert kubelet-serving "/CN=$NODE" "DNS:$NODE,IP:$NODE_IP,IP:127.0.0.1" &&
		cert apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" &&
		openssl genrsa -out "$p/sa.key" 2048 2>/dev/null &&
		openssl rsa -in "$p/sa.key" -pubout -out "$p/sa.pub" 2>/dev/null
}

kubeconfig() { # kubeconfig NAME: DIR/NAME.kubeconfig with NAME's client cert
	cat >"$D/$1.kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: deskrun-cluster
  cluster:
    server: https://127.0.0.1:6443
    certificate-authority: $D/pki/ca.crt
users:
- name: $1
  user:
    client-certificate: $D/pki/$1.crt
    client-key: $D/pki/$1.key
contexts:
- name: deskrun-cluster
  context: {cluster: deskrun-cluster, user: $1}
current-context: deskrun-cluster
EOF
}

configs() {
	local id=$1 runc=$2
	mkdir -p "$D/etc/cni" "$D/containerd" "$D/kubelet" "$D/run/runtime"
	# The runc runtime: the CRI asks for oomScoreAdj -998 for every pod sandbox, and lowering a
	# score needs CAP_SYS_RESOURCE, which this machine's bounding set lacks ("nsexec: failed to
	# update /proc/self/oom_score_adj: Permission denied"). This wrapper raises a requested
	# score to the caller's own where it is lower, then runs the real runc (runc-bounded here).
	cat >"$D/run/runtime/runc" <<RUNC
#!/bin/sh
# Generated by tests/cluster/cluster.sh: runc with oomScoreAdj no lower than the shim's own.
prev=
for a; do
	case \$prev in
	--bundle|-b)
		[ -f "\$a/config.json" ] && python3 -c 'import json,sys
p=sys.argv[1]; cur=int(open("/proc/self/oom_score_adj").read())
c=json.load(open(p)); pr=c.get("process") or {}
if pr.get("oomScoreAdj", cur) < cur:
    pr["oomScoreAdj"]=cur; json.dump(c, open(p, "w"))' "\$a/config.json"
		;;
	esac
	prev=\$a
done
exec "$runc" "\$@"
RUNC
	chmod +x "$D/run/runtime/runc"
	cat >"$D/etc/containerd.toml" <<EOF
version = 2
root = "$D/containerd/root"
state = "$D/containerd/state"
[grpc]
  address = "$D/run/containerd.sock"
[ttrpc]
  address = "$D/run/containerd.sock.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "$D/containerd/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  disable_apparmor = true
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$D/etc/cni"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        BinaryName = "$D/run/runtime/runc"
        SystemdCgroup = false
EOF
	cat >"$D/etc/cni/10-deskrun.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "deskrun-cluster",
  "plugins": [
    {"type": "bridge", "bridge": "cni0", "isGateway": true, "ipMasq": true, "hairpinMode": true,
     "ipam": {"type": "host-local", "dataDir": "$D/cni-ipam", "ranges": [[{"subnet": "$POD_CIDR"}]],
              "routes": [{"dst": "0.0.0.0/0"}]}},
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
EOF
	cat >"$D/etc/scheduler.yaml" <<EOF
apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
clientConnection:
  kubeconfig: $D/scheduler.kubeconfig
leaderElection:
  leaderElect: false
EOF
	cat >"$D/etc/kubelet.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
containerRuntimeEndpoint: unix://$D/run/containerd.sock
cgroupDriver: cgroupfs
cgroupRoot: /deskrun-cluster-$id
failCgroupV1: false
failSwapOn: false
address: $NODE_IP
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
tlsCertFile: $D/pki/kubelet-serving.crt
tlsPrivateKeyFile: $D/pki/kubelet-serving.key
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $D/pki/ca.crt}
authorization:
  mode: Webhook
evictionHard:
  nodefs.available: "0%"
  nodefs.inodesFree: "0%"
  imagefs.available: "0%"
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
resolvConf: /etc/resolv.conf
volumePluginDir: $D/kubelet/volume-plugins
podCIDR: $POD_CIDR
staticPodPath: ""
serializeImagePulls: false
EOF
	cat >"$D/etc/proxy.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection:
  kubeconfig: $D/proxy.kubeconfig
hostnameOverride: $NODE
bindAddress: $NODE_IP
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
mode: iptables
clusterCIDR: $POD_CIDR
conntrack:
  maxPerCore: 0
  tcpEstablishedTimeout: 0s
  tcpCloseWaitTimeout: 0s
EOF
}

# ---- images: a static pause and busybox, as OCI archives ----
images() {
	local im=$D/images
	mkdir -p "$im/pause/rootfs" "$im/busybox/rootfs/bin"
	gcc -static -Os -o "$im/pause/rootfs/pause" "$HERE/pause.c" || return 1
	python3 "$HERE/ociimage.py" --name "$PAUSE_IMAGE" --rootfs "$im/pause/rootfs" \
		--entrypoint '["/pause"]' --out "$im/pause.tar" || return 1
	cp /bin/busybox "$im/busybox/rootfs/bin/busybox" || return 1
	for a in sh echo cat ls sleep wget nc env hostname id true false date httpd timeout; do
		ln -sf busybox "$im/busybox/rootfs/bin/$a"
	done
	mkdir -p "$im/busybox/rootfs/etc" "$im/busybox/rootfs/tmp" "$im/busybox/rootfs/var/www"
	echo "root:x:0:0:root:/:/bin/sh" >"$im/busybox/rootfs/etc/passwd"
	python3 "$HERE/ociimage.py" --name "$BUSYBOX_IMAGE" --rootfs "$im/busybox/rootfs" \
		--cmd '["/bin/sh"]' --out "$im/busybox.tar" || return 1
	# busybox plus the static kubectl: a client of the API from inside a pod, as ARC's listener
	# is (in-cluster config: the service account token, kube-root-ca.crt, the kubernetes Service)
	rm -rf "$im/kubectl"
	cp -a "$im/busybox" "$im/kubectl" && cp "$bin/kubectl" "$im/kubectl/rootfs/bin/kubectl" || return 1
	python3 "$HERE/ociimage.py" --name "$KUBECTL_IMAGE" --rootfs "$im/kubectl/rootfs" \
		--cmd '["/bin/sh"]' --out "$im/kubectl.tar" || return 1
	for t in pause busybox kubectl; do
		ns ctr -a "$D/run/containerd.sock" -n k8s.io images import "$im/$t.tar" \
			>>"$D/log/images.log" 2>&1 || { cat "$D/log/images.log" >&2; return 1; }
	done
}

need() {
	local miss=""
	for p in "$@"; do command -v "$p" >/dev/null 2>&1 || miss="$miss $p"; done
	[ -z "$miss" ] || die 127 "missing:$miss (scripts/deps.sh installs them)"
}

start() {
	local t0 bin runc id
	t0=$(date +%s.%N)
	need openssl unshare nsenter ip iptables containerd ctr gcc python3 busybox
	[ -x /usr/lib/cni/bridge ] || die 127 "missing: /usr/lib/cni/bridge (Debian containernetworking-plugins)"
	bin=$(bindir) || die 127 "no built binaries: run tests/cluster/build.sh (or set DESKRUN_CLUSTER_BIN)"
	for b in etcd kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl; do
		[ -x "$bin/$b" ] || die 127 "missing: $bin/$b"
	done
	runc=$(runc_bin)
	[ -x "$runc" ] || die 127 "missing: runc"
	[ -f "$D/run/holder.pid" ] && alive "$(holder)" && die 1 "already running under $D (holder $(holder))"
	mkdir -p "$D/run" "$D/log" "$D/etc" "$D/varlog" "$D/sysctl" "$D/bin" "$D/etcd"
	: >"$D/run/order"
	id=$(printf '%s' "$D" | sha256sum | cut -c1-10)
	echo "$id" >"$D/run/id"
	echo "$bin" >"$D/run/bin"

	pki || die 1 "openssl failed"
	for k in admin controller-manager scheduler proxy kubelet; do kubeconfig "$k"; done
	configs "$id" "$runc"

	# The holder: a network and a mount namespace; everything else enters them.
	# The kubelet sets vm.overcommit_memory, kernel.panic and kernel.panic_on_oops machine-wide;
	# regular files bound over them here take those writes instead.
	for s in vm/overcommit_memory kernel/panic kernel/panic_on_oops; do
		cat "/proc/sys/$s" >"$D/sysctl/${s//\//.}"
	done
	cat >"$D/run/holder.sh" <<EOF
set -e
mount --make-rshared /
mount -t tmpfs -o mode=755 deskrun-run /run
mkdir -p /run/netns /run/containerd
mount --bind "$D/varlog" /var/log
# Paths some components use whatever their flags say (libcni's cache in /var/lib/cni, the
# kubelet's device-plugins socket in /var/lib/kubelet): a directory of ours is bound over each.
# Where the host has none, an empty one is made for the bind, recorded in run/made, and stop
# removes it again.
for p in /var/lib/cni /var/lib/kubelet; do
	if [ ! -d "\$p" ]; then mkdir "\$p"; echo "\$p" >>"$D/run/made"; fi
	mkdir -p "$D/host\$p"
	mount --bind "$D/host\$p" "\$p"
done
for s in vm/overcommit_memory kernel/panic kernel/panic_on_oops; do
	f=\$(echo \$s | tr / .)
	mount --bind "$D/sysctl/\$f" /proc/sys/\$s
done
ip link set lo up
# The node's address, on a veth pair whose both ends stay in here (no dummy driver in some
# kernels); the default route points at it, so service IPs are routable for kube-proxy's DNAT.
ip link add node0 type veth peer name node0-peer
ip addr add $NODE_IP/24 dev node0
ip link set node0-peer up
ip link set node0 up
ip route add default dev node0
echo 1 >/proc/sys/net/ipv4/ip_forward
echo 1 >/proc/sys/net/ipv4/conf/all/route_localnet
touch "$D/run/holder.ready"
exec sleep infinity
EOF
	rm -f "$D/run/holder.ready"
	unshare --net --mount --propagation private -- bash "$D/run/holder.sh" </dev/null >"$D/log/holder.log" 2>&1 &
	echo $! >"$D/run/holder.pid"
	wait_for holder 10 test -f "$D/run/holder.ready" || { log "the namespace holder failed"; return 1; }

	spawn etcd "$bin/etcd" --name deskrun --data-dir "$D/etcd" \
		--listen-client-urls http://127.0.0.1:2379 --advertise-client-urls http://127.0.0.1:2379 \
		--listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
		--initial-cluster deskrun=http://127.0.0.1:2380 --unsafe-no-fsync --log-level warn
	wait_for etcd 30 ns busybox wget -q -O /dev/null http://127.0.0.1:2379/health || return $?

	local p=$D/pki
	spawn apiserver "$bin/kube-apiserver" --etcd-servers http://127.0.0.1:2379 \
		--secure-port 6443 --bind-address 0.0.0.0 --advertise-address "$NODE_IP" \
		--tls-cert-file "$p/apiserver.crt" --tls-private-key-file "$p/apiserver.key" \
		--client-ca-file "$p/ca.crt" \
		--service-account-issuer https://kubernetes.default.svc \
		--service-account-key-file "$p/sa.pub" --service-account-signing-key-file "$p/sa.key" \
		--service-cluster-ip-range "$SVC_CIDR" --authorization-mode Node,RBAC \
		--enable-admission-plugins NodeRestriction --allow-privileged=true \
		--kubelet-client-certificate "$p/apiserver-kubelet-client.crt" \
		--kubelet-client-key "$p/apiserver-kubelet-client.key" \
		--kubelet-preferred-address-types InternalIP --profiling=false
	local kc="$bin/kubectl --kubeconfig $D/admin.kubeconfig"
	# shellcheck disable=SC2086
	wait_for apiserver 90 ns $kc get --raw /readyz || return $?

	spawn controller-manager "$bin/kube-controller-manager" \
		--kubeconfig "$D/controller-manager.kubeconfig" \
		--authentication-kubeconfig "$D/controller-manager.kubeconfig" \
		--authorization-kubeconfig "$D/controller-manager.kubeconfig" \
		--service-account-private-key-file "$p/sa.key" --root-ca-file "$p/ca.crt" \
		--service-cluster-ip-range "$SVC_CIDR" --use-service-account-credentials \
		--controllers '*' --leader-elect=false --bind-address 127.0.0.1 --profiling=false \
		--flex-volume-plugin-dir "$D/kcm-flex"
	spawn scheduler "$bin/kube-scheduler" --config "$D/etc/scheduler.yaml" \
		--bind-address 127.0.0.1 --profiling=false

	spawn containerd containerd --config "$D/etc/containerd.toml" --log-level warn
	wait_for containerd 30 ns ctr -a "$D/run/containerd.sock" version || return $?
	images || { log "building or importing the images failed"; return 1; }

	# The kubelet's cgroup root must exist in every hierarchy; stop removes it.
	for h in /sys/fs/cgroup/*; do
		[ -d "$h" ] && mkdir -p "$h/deskrun-cluster-$id"
		if [ -f "$h/cpuset.cpus" ]; then
			cat "$h/cpuset.cpus" >"$h/deskrun-cluster-$id/cpuset.cpus"
			cat "$h/cpuset.mems" >"$h/deskrun-cluster-$id/cpuset.mems"
		fi
	done
	spawn kubelet "$bin/kubelet" --config "$D/etc/kubelet.yaml" --kubeconfig "$D/kubelet.kubeconfig" \
		--hostname-override "$NODE" --node-ip "$NODE_IP" --root-dir "$D/kubelet" -v 1
	spawn proxy "$bin/kube-proxy" --config "$D/etc/proxy.yaml"
	# shellcheck disable=SC2086
	wait_for kubelet "$READY_DEADLINE" node_ready "$bin/kubectl" || return $?
	# shellcheck disable=SC2086
	wait_for controller-manager 60 ns $kc -n default get serviceaccount default || return $?
	wait_for proxy 60 ns iptables -t nat -S KUBE-SERVICES || return $?
	log "node $NODE Ready; KUBECONFIG=$D/admin.kubeconfig; enter with: cluster.sh exec $D CMD"
	echo "cluster: started in $(awk "BEGIN{printf \"%.1f\", $(date +%s.%N) - $t0}")s"
}

node_ready() {
	[ "$(ns "$1" --kubeconfig "$D/admin.kubeconfig" get node "$NODE" \
		-o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" = True ]
}

# ---- stop ----
stop() {
	local h id order pid n
	h=$(holder)
	id=$(cat "$D/run/id" 2>/dev/null)
	order=$(tac "$D/run/order" 2>/dev/null)
	# 1. the kubelet and kube-proxy first, so nothing is restarted
	for n in proxy kubelet; do kill_wait "$n"; done
	# 2. the containers: every process in the pods' cgroups
	if [ -n "$id" ]; then
		for pid in $(cat /sys/fs/cgroup/pids/deskrun-cluster-"$id"/kubepods*/cgroup.procs \
			/sys/fs/cgroup/pids/deskrun-cluster-"$id"/kubepods/*/cgroup.procs \
			/sys/fs/cgroup/pids/deskrun-cluster-"$id"/kubepods/*/*/cgroup.procs \
			/sys/fs/cgroup/pids/deskrun-cluster-"$id"/kubepods/*/*/*/cgroup.procs 2>/dev/null | sort -u); do
			kill -KILL "$pid" 2>/dev/null
		done
	fi
	# 3. the rest, newest first
	for n in $order; do kill_wait "$n"; done
	# 4. leftovers in our mount namespace (containerd's shims), by PID
	if alive "$h"; then
		local mnt
		mnt=$(readlink "/proc/$h/ns/mnt")
		for p in /proc/[0-9]*; do
			pid=${p#/proc/}
			[ "$pid" = "$h" ] && continue
			[ "$(readlink "$p/ns/mnt" 2>/dev/null)" = "$mnt" ] && kill -KILL "$pid" 2>/dev/null
		done
		sleep 0.5
	fi
	# 5. the holder: its namespaces, and every mount, link and chain in them, go with it
	if alive "$h"; then
		kill "$h" 2>/dev/null
		for _ in $(seq 50); do alive "$h" || break; sleep 0.1; done
	fi
	# 6. the kubelet's cgroups
	if [ -n "$id" ]; then
		for c in /sys/fs/cgroup/*/deskrun-cluster-"$id"; do
			[ -d "$c" ] && find "$c" -depth -type d -exec rmdir {} + 2>/dev/null
		done
		ls -d /sys/fs/cgroup/*/deskrun-cluster-"$id" 2>/dev/null && log "cgroups left (see above)"
	fi
	if [ -f "$D/run/made" ]; then
		for p in $(cat "$D/run/made"); do rmdir "$p" || log "could not remove $p"; done
		rm -f "$D/run/made"
	fi
	rm -f "$D/run/"*.pid "$D/run/holder.ready"
	log "stopped"
}

kill_wait() {
	local f=$D/run/$1.pid pid
	[ -f "$f" ] || return 0
	pid=$(cat "$f")
	if alive "$pid"; then
		kill "$pid" 2>/dev/null
		for _ in $(seq 100); do alive "$pid" || break; sleep 0.1; done
		alive "$pid" && kill -KILL "$pid" 2>/dev/null
	fi
	rm -f "$f"
}

env_() {
	local bin
	bin=$(cat "$D/run/bin")
	mkdir -p "$D/bin"
	for t in kubectl helm; do
		[ -x "$bin/$t" ] || continue
		printf '#!/bin/sh\nexec nsenter -t %s -n -m -- %s "$@"\n' "$(holder)" "$bin/$t" >"$D/bin/$t"
		chmod +x "$D/bin/$t"
	done
	# the real ctr by its path: the wrapper itself is first on PATH
	local ctr
	ctr=$(PATH=${PATH//$D\/bin:/} command -v ctr)
	printf '#!/bin/sh\nexec nsenter -t %s -n -m -- %s -a %s "$@"\n' "$(holder)" "$ctr" "$D/run/containerd.sock" >"$D/bin/ctr"
	chmod +x "$D/bin/ctr"
	echo "export KUBECONFIG=$D/admin.kubeconfig"
	echo "export PATH=$D/bin:\$PATH"
	echo "export DESKRUN_CLUSTER_CONTEXT=deskrun-cluster"
	echo "export DESKRUN_CLUSTER_BUSYBOX=$BUSYBOX_IMAGE DESKRUN_CLUSTER_KUBECTL=$KUBECTL_IMAGE"
	echo "export DESKRUN_CLUSTER_NODE=$NODE DESKRUN_CLUSTER_NODE_IP=$NODE_IP DESKRUN_CLUSTER_SVC_IP=$SVC_IP"
}

cmd=${1:-}
[ $# -ge 2 ] || { echo "usage: cluster.sh start|stop|env|exec DIR [CMD...]" >&2; exit 2; }
mkdir -p "$2"
D=$(cd "$2" && pwd)
shift 2
case $cmd in
start)
	start
	rc=$?
	[ $rc -eq 0 ] || { log "start failed ($rc); stopping what started"; stop; }
	exit $rc
	;;
stop) stop ;;
env) env_ ;;
exec) exec nsenter -t "$(holder)" -n -m -- "$@" ;;
*)
	echo "usage: cluster.sh start|stop|env|exec DIR [CMD...]" >&2
	exit 2
	;;
esac
