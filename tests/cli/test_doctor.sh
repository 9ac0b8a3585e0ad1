#!/bin/bash
# deskrun doctor against recording stubs (tests/stubs/fakekube.py) and a fake /proc + /sys
# (DESKRUN_DOCTOR_SYSROOT): each failure of the troubleshooting recipes is found, printed with
# its fix, and makes the exit status 1; json output follows the documented schema; no secret
# reaches output or any child's argv.
#
# The stubs stay for failure injection (an unreachable cluster, a controller of another version,
# a missing Secret key, crash-looping and unschedulable pods, missing tools) and for what needs
# ARC's controller at work (listeners, runner pods), which the real cluster cannot run (ARC's
# module is refused by the Go module proxy). What the live API proves is checked there, not
# here: CRDs read and established, the controller release's version from the real helm, a
# deployed set's Secret, the node's runtime, no controller said as such
# (tests/cluster/test_cluster_smoke.sh, test_cluster_deskrun.sh).
. "$SRCDIR/tests/lib/tap.sh"
DATA=$SRCDIR/tests/data
TOKEN=$(cat "$DATA/token")
PY=${PYTHON:-/usr/bin/python3}

STUB=$TMP/stub
mkdir -p "$STUB"
for t in kubectl helm kind k3s docker; do ln -s "$SRCDIR/tests/stubs/fakekube.py" "$STUB/$t"; done
export PATH="$STUB:/usr/bin:/bin"
export XDG_CACHE_HOME=$TMP/xdg-cache
export NO_COLOR=1
CFG=$TMP/config.json
dk() { "$DESKRUN" --config "$CFG" "$@"; }
calls() { "$PY" "$SRCDIR/tests/stubs/calls.py" "$STUB/calls.jsonl"; }
set_state() {
	"$PY" -c "import json,os
p='$STUB/state.json'
s=json.load(open(p)) if os.path.exists(p) else {}
$1
json.dump(s, open(p,'w'))"
}
# The line of check GROUP/NAME in the table, and the fix line under it.
line_of() { printf '%s\n' "$OUT" | grep -E "^(ok|warn|fail) +$1 " | head -1; }
fix_of() { printf '%s\n' "$OUT" | grep -A1 -E "^(ok|warn|fail) +$1 " | sed -n '2p' | grep 'fix:'; }
status_of() { line_of "$1" | awk '{print $1}'; }

# A fake /proc and /sys: inotify limits and cgroup v2 with its controllers.
SYS=$TMP/sysroot
mkdir -p "$SYS/proc/sys/fs/inotify" "$SYS/sys/fs/cgroup"
sysctl_set() { echo "$1" >"$SYS/proc/sys/fs/inotify/max_user_watches"; echo "$2" >"$SYS/proc/sys/fs/inotify/max_user_instances"; }
sysctl_set 524288 512
echo "cpuset cpu io memory hugetlb pids rdma misc" >"$SYS/sys/fs/cgroup/cgroup.controllers"
export DESKRUN_DOCTOR_SYSROOT=$SYS
dk config set cache-root /var/lib/deskrun/cache >/dev/null 2>&1

# ---- no cluster yet: tools and host ----
run dk doctor --no-network
check "doctor without a cluster exits 0 (nothing fails)" eq "$RC" 0
check "kubectl's version is read" eq "$(line_of tools/kubectl | awk '{print $1, $3}')" "ok 1.32.2;"
check "helm's version is read" contains "$(line_of tools/helm)" "3.16.2"
check "kind is needed by the default provider" contains "$(line_of tools/kind)" "needed by kind clusters"
check "docker's server version is read" contains "$(line_of tools/docker)" "27.3.1"
check "inotify limits at the recommended values pass" eq "$(status_of host/inotify)" ok
check "cgroup v2 with cpu memory pids passes" eq "$(status_of host/cgroup)" ok
check "the storage driver overlay2 on extfs passes" eq "$(status_of host/storage-driver)" ok
check "no cluster recorded: ok, the local provider is the default" eq "$(status_of cluster/recorded)" ok
check "and it says so, with how to record Kubernetes instead" contains "$(line_of cluster/recorded)" "none recorded: the local provider is the default"
check "a summary line ends the table" eq "$(printf '%s\n' "$OUT" | tail -1 | sed 's/[0-9]*//g')" " ok,  warn,  fail"

sysctl_set 8192 128
run dk doctor --no-network
check "low inotify limits: warn" eq "$(status_of host/inotify)" warn
check "and say what they are" contains "$(line_of host/inotify)" "max_user_watches=8192 max_user_instances=128"
check "and the sysctl that fixes them" contains "$(fix_of host/inotify)" "sudo sysctl -w fs.inotify.max_user_watches=524288 fs.inotify.max_user_instances=512"
sysctl_set 524288 512

echo "cpuset io" >"$SYS/sys/fs/cgroup/cgroup.controllers"
run dk doctor --no-network
check "cgroup v2 without cpu/memory/pids: fail, exit 1" eq "$(status_of host/cgroup):$RC" "fail:1"
check "naming the missing controllers" contains "$(line_of host/cgroup)" "without the cpu memory pids controller(s)"
check "the error line counts the failures" eq "$ERR" "deskrun: error: 1 check failed: each names its fix"
rm "$SYS/sys/fs/cgroup/cgroup.controllers"
run dk doctor --no-network
check "cgroup v1: warn with the boot flag" contains "$(status_of host/cgroup) $(fix_of host/cgroup)" "warn"
check "cgroup v1 fix names the kernel parameter" contains "$(fix_of host/cgroup)" "systemd.unified_cgroup_hierarchy=1"
echo "cpuset cpu io memory pids" >"$SYS/sys/fs/cgroup/cgroup.controllers"

# ---- tools: missing, old, a daemon that does not answer ----
set_state "s['versions'] = {'kubectl': 'v1.27.3', 'kind': 'v0.19.0'}"
run dk doctor --no-network
check "an old kubectl fails" eq "$(status_of tools/kubectl)" fail
check "saying which minimum and why" contains "$(line_of tools/kubectl)" "kubectl 1.27.3 is older than 1.29"
check "an old kind fails too" contains "$(line_of tools/kind)" "kind 0.19.0 is older than 0.21"
set_state "s['versions'] = {}"
NOHELM=$TMP/nohelm
mkdir -p "$NOHELM"
for t in kubectl kind docker; do ln -s "$SRCDIR/tests/stubs/fakekube.py" "$NOHELM/$t"; done
run env PATH="$NOHELM" "$DESKRUN" --config "$CFG" doctor --no-network
check "a missing helm fails, exit 1" eq "$(status_of tools/helm):$RC" "fail:1"
check "saying who needs it and how to install it" contains "$(line_of tools/helm) $(fix_of tools/helm)" "helm is not installed (needed by 'deskrun up' on kind (the default))"
check "k3s is not needed for kind" eq "$(line_of tools/k3s | awk '{print $1}')" ok

set_state "s['docker_down'] = True"
run dk doctor --no-network
check "Docker daemon won't start: fail with the daemon's message" contains "$(line_of tools/docker)" "Cannot connect to the Docker daemon"
check "and the fix starts it" contains "$(fix_of tools/docker)" "sudo systemctl start docker"
set_state "s['docker_down'] = False; s['docker_denied'] = True"
run dk doctor --no-network
check "permission denied on docker.sock: fail" contains "$(line_of tools/docker)" "permission denied"
check "and the fix is the docker group" contains "$(fix_of tools/docker)" "sudo usermod -aG docker \$USER"
set_state "s['docker_denied'] = False; s['docker_info'] = {'DriverStatus': [['Backing Filesystem', 'overlayfs']]}"
run dk doctor --no-network
check "overlay2 on overlayfs: fail" eq "$(status_of host/storage-driver)" fail
check "naming 'operation not permitted'" contains "$(line_of host/storage-driver)" "operation not permitted"
set_state "s['docker_info'] = {'Driver': 'vfs', 'DriverStatus': []}"
run dk doctor --no-network
check "the vfs fallback: warn" eq "$(status_of host/storage-driver)" warn
check "the vfs fix names overlay2" contains "$(fix_of host/storage-driver)" "overlay2"
set_state "s['docker_info'] = {}"

# ---- the cluster ----
dk add web --repository https://github.com/acme/web --mode dind --cache /var/lib/docker \
	--auth-value-file "$DATA/token" >/dev/null
dk add priv --repository https://github.com/acme/priv --mode cached-privileged-kubernetes \
	--cache /var/lib/docker --auth-value-file "$DATA/token" >/dev/null
dk cluster create >/dev/null 2>&1
set_state "s['reachable'] = False"
run dk doctor --no-network
check "an unreachable cluster fails" eq "$(status_of cluster/reachable):$RC" "fail:1"
check "with kubectl's message" contains "$(line_of cluster/reachable)" "connection to the server 127.0.0.1:6443 was refused"
check "and the kind fix" contains "$(fix_of cluster/reachable)" "kind get clusters"
set_state "s['reachable'] = True"

run dk doctor --no-network
check "before up: CRDs missing" contains "$(status_of cluster/arc-crds) $(line_of cluster/arc-crds)" "fail"
check "before up: 0 of 4, read from kubectl's empty answer to --ignore-not-found" eq "$(line_of cluster/arc-crds)" "fail  cluster/arc-crds            0 of 4 ARC CRDs established"
check "before up: the controller is not installed, fix deskrun up" eq "$(status_of cluster/controller-version) $(fix_of cluster/controller-version | sed 's/^ *//')" "fail fix: run 'deskrun up': it installs the controller"
check "before up: runners not deployed (warn)" eq "$(status_of 'runner web/deployed')" warn

dk up >/dev/null 2>&1
set_state "s['listeners'] = [{'apiVersion':'v1','kind':'Pod','metadata':{'name':n+'-754b578d-listener','namespace':'arc-systems','labels':{'app.kubernetes.io/component':'runner-scale-set-listener','actions.github.com/scale-set-name':n,'actions.github.com/scale-set-namespace':'arc-runners'}},'status':{'phase':'Running'}} for n in ('web','priv')]"
mkdir -p "$XDG_CACHE_HOME/deskrun/cache/web"
run dk doctor --no-network
check "after up with listeners: exit 0" eq "$RC" 0
check "no check fails" eq "$(printf '%s\n' "$OUT" | grep -c '^fail')" 0
check "controller ready" contains "$(line_of cluster/controller-ready)" "1/1 controller replicas ready in arc-systems"
check "web's listener is running" eq "$(status_of 'runner web/listener')" ok
check "priv's hook extension exists and is mounted" contains "$(line_of 'runner priv/hook-extension')" "priv-hook-extension exists and is mounted at /etc/hooks"
check "web's cache dir on the host does not exist yet: fine (DirectoryOrCreate)" contains "$(line_of 'runner web/cache')" "$XDG_CACHE_HOME/deskrun/cache/web/cache-0 does not exist yet"

# The controller of another major.minor deletes the scale sets.
set_state "s['helm']['arc']['version'] = '0.13.1'"
run dk doctor --no-network
check "controller 0.13.1: fail" eq "$(status_of cluster/controller-version):$RC" "fail:1"
check "saying why it matters" contains "$(line_of cluster/controller-version)" "controller 0.13.1, deskrun renders 0.14.2: the controller deletes scale sets"
check "and the fix upgrades it" contains "$(fix_of cluster/controller-version)" "'deskrun up': it upgrades the controller to 0.14.2"
set_state "s['helm']['arc']['version'] = '0.14.1'"
run dk doctor --no-network
check "controller 0.14.1: only a warning" eq "$(status_of cluster/controller-version)" warn
set_state "s['helm']['arc']['version'] = '0.14.2'"

# The GitHub Secret: missing, then without its key.
set_state "s['saved'] = [o for o in s['objects'] if o['kind']=='Secret' and o['metadata']['name']=='web-gha-rs-github-secret'][0]; s['objects'] = [o for o in s['objects'] if o is not None and not (o['kind']=='Secret' and o['metadata']['name']=='web-gha-rs-github-secret')]"
run dk doctor --no-network web
check "a missing Secret fails" eq "$(status_of 'runner web/secret'):$RC" "fail:1"
check "naming it" contains "$(line_of 'runner web/secret')" "Secret web-gha-rs-github-secret does not exist"
check "the fix is deskrun up" contains "$(fix_of 'runner web/secret')" "run 'deskrun up': it creates the Secret"
set_state "import copy; x = copy.deepcopy(s['saved']); x['data'] = {'other': 'eA=='}; s['objects'].append(x)"
run dk doctor --no-network web
check "a Secret without github_token fails, naming the key" contains "$(line_of 'runner web/secret')" "lacks github_token (pat auth)"
check "the fix deletes it so up re-creates it" contains "$(fix_of 'runner web/secret')" "'kubectl -n arc-runners delete secret web-gha-rs-github-secret'), then 'deskrun up' re-creates it"
set_state "s['objects'] = [o for o in s['objects'] if o['metadata']['name'] != 'web-gha-rs-github-secret']; s.pop('saved')"
dk up >/dev/null 2>&1
run dk doctor --no-network web
check "following the fix: up re-created the Secret and it passes" eq "$(status_of 'runner web/secret')" ok
check "NAME narrows the runner checks to web" eq "$(printf '%s\n' "$OUT" | grep -c 'runner priv')" 0

# The listener: missing, then crash-looping.
set_state "s['listeners'] = [l for l in s['listeners'] if l['metadata']['name'].startswith('priv')]"
run dk doctor --no-network web
check "no listener: fail" eq "$(status_of 'runner web/listener')" fail
check "the fix points at the controller's log" contains "$(fix_of 'runner web/listener')" "kubectl -n arc-systems logs deploy/arc-gha-rs-controller"

# Runner pods: an image that cannot be pulled, a crash loop with its log, an unschedulable pod.
set_state "
lab = lambda n: {'name': n, 'namespace': 'arc-runners', 'labels': {'deskrun.io/runner': 'web', 'deskrun.io/scale-set': 'web'}}
s['pods'] = [
 {'kind': 'Pod', 'metadata': lab('web-abc-runner-1'), 'status': {'phase': 'Pending', 'containerStatuses': [{'name': 'runner', 'image': 'ghcr.io/acme/runner:nope', 'restartCount': 0, 'state': {'waiting': {'reason': 'ImagePullBackOff', 'message': 'Back-off pulling image \"ghcr.io/acme/runner:nope\"'}}}]}},
 {'kind': 'Pod', 'metadata': lab('web-abc-runner-2'), 'status': {'phase': 'Running', 'initContainerStatuses': [{'name': 'dind', 'restartCount': 4, 'state': {'waiting': {'reason': 'CrashLoopBackOff', 'message': 'back-off 40s'}}, 'lastState': {'terminated': {'exitCode': 1, 'reason': 'Error'}}}]}},
 {'kind': 'Pod', 'metadata': lab('web-abc-runner-3'), 'status': {'phase': 'Pending', 'conditions': [{'type': 'PodScheduled', 'status': 'False', 'reason': 'Unschedulable', 'message': '0/1 nodes are available: 1 Insufficient memory.'}]}},
 {'kind': 'Pod', 'metadata': lab('web-abc-runner-4'), 'status': {'phase': 'Running', 'containerStatuses': [{'name': 'runner', 'state': {'running': {}}}]}},
 {'kind': 'Pod', 'metadata': lab('web-abc-runner-5'), 'status': {'phase': 'Running', 'initContainerStatuses': [{'name': 'dind', 'restartCount': 2, 'state': {'terminated': {'exitCode': 1, 'reason': 'Error'}}, 'lastState': {'terminated': {'exitCode': 1, 'reason': 'Error'}}}]}},
]
s['logs'] = {'web-abc-runner-2': 'time=1 level=info msg=starting\nfailed to mount overlay: operation not permitted\nerror initializing graphdriver: driver not supported: overlay2'}
"
run dk doctor --no-network web
pods=$(printf '%s\n' "$OUT" | grep -A3 -E '^fail +runner web/runner-pod ')
check "ImagePullBackOff: fail naming the pod, container and image" contains "$pods" "pod web-abc-runner-1 container runner: ImagePullBackOff: Back-off pulling image \"ghcr.io/acme/runner:nope\""
check "with the image fix" contains "$pods" "check the image name and that the node can pull it"
check "CrashLoopBackOff: fail with restarts and exit" contains "$pods" "pod web-abc-runner-2 container dind: CrashLoopBackOff (4 restarts, last exit 1 Error)"
check "with the crashed container's log tail" contains "$OUT" "| error initializing graphdriver: driver not supported: overlay2"
check "the log was read from the previous container" contains "$(calls | grep ' logs ')" "logs --namespace arc-runners web-abc-runner-2 -c dind --previous --tail 20"
check "a crash loop between back-offs (exited again): fail too" contains "$pods" "pod web-abc-runner-5 container dind: restarting after crashes (2 restarts, last exit 1 Error; exited again, to be restarted)"
check "its log is the exited container's own (the kubelet keeps one dead instance)" contains "$(calls | grep ' logs ')" "logs --namespace arc-runners web-abc-runner-5 -c dind --tail 20"
check "Pending: the scheduler's message" contains "$pods" "pod web-abc-runner-3 is Pending: Unschedulable: 0/1 nodes are available: 1 Insufficient memory."
check "a healthy pod is not reported" eq "$(printf '%s\n' "$OUT" | grep -c 'web-abc-runner-4')" 0
run dk doctor --no-network web --output json
check "json: the crash loop carries the log as detail" "$PY" -c '
import json, sys
d = json.loads(sys.argv[1])
c = [c for c in d["checks"] if "CrashLoopBackOff" in c["saw"]][0]
assert c["status"] == "fail" and "graphdriver" in c["detail"], c
assert c["group"] == "runner web" and c["name"] == "runner-pod", c' "$OUT"
set_state "s['pods'] = []"

# The hook extension of the privileged mode: missing, then not mounted.
set_state "s['objects'] = [o for o in s['objects'] if o['metadata']['name'] != 'priv-hook-extension']"
run dk doctor --no-network priv
check "a missing hook ConfigMap fails" eq "$(status_of 'runner priv/hook-extension')" fail
check "naming it" contains "$(line_of 'runner priv/hook-extension')" "ConfigMap arc-runners/priv-hook-extension is missing"
dk up >/dev/null 2>&1
set_state "[o['spec']['template']['spec'].__setitem__('volumes', [v for v in o['spec']['template']['spec'].get('volumes', []) if 'configMap' not in v]) for o in s['objects'] if o['kind']=='AutoscalingRunnerSet' and o['metadata']['name']=='priv']"
run dk doctor --no-network priv
check "a hook ConfigMap the runner pod does not mount fails" contains "$(line_of 'runner priv/hook-extension')" "but the runner pod does not mount it"

# Cache paths: a file where the cache directory should be.
touch "$XDG_CACHE_HOME/deskrun/cache/web/cache-0"
run dk doctor --no-network web
check "a cache path that is a file: fail" eq "$(status_of 'runner web/cache')" fail
check "with the fix" contains "$(fix_of 'runner web/cache')" "move it away"
rm "$XDG_CACHE_HOME/deskrun/cache/web/cache-0"
mkdir "$XDG_CACHE_HOME/deskrun/cache/web/cache-0"
run dk doctor --no-network web
check "an existing writable cache dir passes" contains "$(line_of 'runner web/cache')" "cache-0 exists and is writable"

# docker-socket needs the host's Docker in the kind node.
# (a guard image of its own: the helper image cannot be built from a sanitizer build)
dk add sock --repository https://github.com/acme/sock --mode docker-socket --auth-value-file "$DATA/token" \
	--guard-image registry.example/deskrun-helper:1 >/dev/null 2>&1
run dk doctor --no-network sock
check "docker-socket on a kind node without the host socket: fail" eq "$(status_of cluster/node-runtime)" fail
check "saying so" contains "$(line_of cluster/node-runtime)" "mode docker-socket uses the host's Docker through the node: the socket is NOT mounted"
check "with the fix" contains "$(fix_of cluster/node-runtime)" "deskrun cluster delete && deskrun cluster create"
# The runner's folders: each running guard logs at start whether the daemon sees them.
dk up >/dev/null 2>&1
run dk doctor --no-network sock
check "no running guard yet: a warning" eq "$(status_of 'runner sock/runner-paths')" warn
set_state "
lab = lambda n: {'name': n, 'namespace': 'arc-runners', 'labels': {'deskrun.io/runner': 'sock', 'deskrun.io/scale-set': 'sock'}}
s['pods'] = [{'kind': 'Pod', 'metadata': lab('sock-x-runner-%d' % i), 'status': {'phase': 'Running', 'containerStatuses': [{'name': 'runner', 'state': {'running': {}}}]}} for i in (1, 2)]
s['logs'] = {'sock-x-runner-1': 'deskrun guard: tenant=sock start: listening\ndeskrun guard: tenant=sock paths: ok: the daemon sees the pod\'s folder and the guard\'s pins',
             'sock-x-runner-2': 'deskrun guard: tenant=sock paths: FAIL: the daemon does not see the pod\'s folder at /var/lib/deskrun/cache/pods/sock-x-runner-2: set daemon-cache-root'}
"
run dk doctor --no-network sock
check "a guard whose daemon does not see the pod's folder: fail" eq "$(status_of 'runner sock/runner-paths')" fail
check "naming the pod and the guard's reason" contains "$(line_of 'runner sock/runner-paths')" "pod sock-x-runner-2: FAIL: the daemon does not see the pod's folder"
check "the guard's log was read" contains "$(calls | grep ' logs ')" "logs --namespace arc-runners sock-x-runner-2 -c guard"
set_state "s['logs']['sock-x-runner-2'] = s['logs']['sock-x-runner-1']"
run dk doctor --no-network sock
check "all guards see their folders: ok" eq "$(status_of 'runner sock/runner-paths')" ok
set_state "s['pods'] = []; s['logs'] = {}"
dk remove sock >/dev/null 2>&1

# ---- output contracts ----
run dk doctor --no-network --output json
check "json: valid, schema 1, every check has the documented keys" "$PY" -c '
import json, sys
d = json.loads(sys.argv[1])
assert d["schema"] == 1
for c in d["checks"]:
    assert set(c) - {"detail"} == {"group", "name", "status", "saw", "fix"}, c
    assert c["status"] in ("ok", "warn", "fail")
    assert (c["fix"] is None) == (c["status"] == "ok"), c
s = d["summary"]
assert s["ok"] + s["warn"] + s["fail"] == len(d["checks"])' "$OUT"
run dk doctor --no-network --quiet
check "--quiet prints no ok line" eq "$(printf '%s\n' "$OUT" | grep -c '^ok')" 0
check "--quiet still prints the failures" contains "$OUT" "fail  runner priv/hook-extension"
run dk doctor --no-network --output yaml
check "a bad --output: exit 2, one line" eq "$RC:$ERR" "2:deskrun: error: --output \"yaml\": unknown format: use table or json"
run dk doctor nosuch --no-network
check "an unknown runner: exit 2" eq "$RC" 2
run dk doctor --github-api-url http://x
check "a non-https API URL: exit 2" eq "$RC" 2
check "NO_COLOR: no escape sequences" eq "$(dk doctor --no-network 2>/dev/null | grep -c $'\033')" 0
check "no secret in any child's argv or environment" eq "$("$PY" "$SRCDIR/tests/stubs/calls.py" "$STUB/calls.jsonl" leaks "$TOKEN")" ""
check "nor in doctor's output, with the GitHub checks on" lacks "$(dk doctor --github-api-url https://127.0.0.1:1 2>&1; dk doctor --output json --github-api-url https://127.0.0.1:1 2>&1)" "$TOKEN"

done_testing
