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

# cluster_start: start the cluster in $C and load its environment (KUBECONFIG, PATH with the
# kubectl, ctr and helm wrappers); kc is kubectl on it. The cluster is stopped and $TMP removed
# when the test exits (cluster_stop does it earlier; a test's own cleanup, e.g. a registry it
# started, goes in a function cluster_cleanup_hook, run before the stop). A failed start ends
# the test with the reason.
cluster_start() {
	_cluster_stopped=0
	trap 'cluster_stop; rm -rf "$TMP"' EXIT
	run "$HERE/cluster.sh" start "$C"
	if [ "$RC" != 0 ]; then
		not_ok "cluster.sh start (exit $RC)"
		diag "$ERR"
		local l
		for l in "$C"/log/*.log; do [ -s "$l" ] && diag "== $l" "$(tail -n 15 "$l")"; done
		done_testing
		exit 1
	fi
	ok "cluster.sh start: ${OUT##*started in }"
	eval "$("$HERE/cluster.sh" env "$C")"
}

cluster_stop() {
	[ "${_cluster_stopped:-1}" = 1 ] && return
	_cluster_stopped=1
	declare -F cluster_cleanup_hook >/dev/null && cluster_cleanup_hook
	"$HERE/cluster.sh" stop "$C" >"$TMP/stop.out" 2>&1
}

kc() { kubectl --kubeconfig "$KUBECONFIG" "$@"; }
