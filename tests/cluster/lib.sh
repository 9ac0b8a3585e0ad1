# tests/cluster/lib.sh: what the cluster suites share. Source after tests/lib/tap.sh.
#   cluster_require WHAT   skip the whole test (TAP skip named WHAT, with the reason) unless
#                          this machine can run tests/cluster/cluster.sh: root, the programs,
#                          the CNI plugins, new network and mount namespaces with veth and
#                          bridge links and iptables in them
HERE=$SRCDIR/tests/cluster
C=$TMP/c
export NO_COLOR=1 XDG_CACHE_HOME=$TMP/xdg-cache

cluster_require() {
	_cluster_what=$1
	[ "$(id -u)" = 0 ] || skip_all "needs root (namespaces, containerd, iptables)"
	local p pre
	for p in unshare nsenter ip iptables containerd ctr openssl gcc python3 busybox; do
		command -v "$p" >/dev/null || skip_all "$p is not installed (scripts/deps.sh installs it)"
	done
	[ -x /usr/lib/cni/bridge ] || skip_all "/usr/lib/cni/bridge missing (Debian containernetworking-plugins)"
	pre=$(unshare --net --mount --propagation private sh -c 'mount --make-rshared / &&
		ip link add n0 type veth peer name n1 && ip link add b0 type bridge &&
		iptables -t nat -N DESKRUN-PROBE' 2>&1) ||
		skip_all "this machine cannot run the cluster's namespaces: $pre"
}

skip_all() {
	skip "${_cluster_what:-real cluster}" "$1"
	done_testing
	exit 0
}
