#!/usr/bin/python3
"""Recording stand-ins for kubectl, helm, kind and k3s, kept for failure injection and argv.

The success paths against Kubernetes are proven with the real kubectl, helm and API server by
tests/cluster/test_cluster_deskrun.sh. This stub remains for what that cannot show: a failing
kubectl or helm (state "fail"), a missing tool, a stuck finalizer (a timeout), kind and k3s
(not runnable here), ARC's controller at work (listeners, runner pods, events: its module is
refused by the Go module proxy), and the exact argv and order of calls (tests/cli/test_deploy.sh,
test_doctor.sh, test_build_job.sh and the other tests/cli users).

Installed as symlinks named kubectl/helm/kind/k3s in a directory put first on PATH. Each call
appends {"tool", "argv", "stdin", "env"} as one JSON line to calls.jsonl next to the links, then
answers from state.json (also next to the links) in the formats the real tools document:
`kubectl ... -o json` Lists, `kubectl apply --server-side` "<resource>/<name> serverside-applied"
lines, `helm list -o json`, `helm show chart` (oci:// only), `kind get clusters`, and their
error messages. The state behaves like a small cluster: apply stores objects, get selects them by label, delete removes them (and,
playing ARC's controller, the objects an AutoscalingRunnerSet's cleanup annotations name).

state.json keys (all optional): contexts, clusters, reachable, server_version, nodes, helm,
crds, objects, listeners, events, fail {verb: stderr}, stuck [ARS names whose delete times out],
and for `deskrun doctor`: versions {kubectl, helm, kind} (client versions), pods [runner pods,
selected by label and namespace], logs {pod: text} (kubectl logs), docker_info (`docker info`
fields), docker_down / docker_denied (the daemon does not answer / the socket refuses us).
"""
import base64
import json
import os
import sys

import yaml

HERE = os.path.dirname(os.path.abspath(sys.argv[0]))
STATE = os.path.join(HERE, "state.json")
LOG = os.path.join(HERE, "calls.jsonl")
TOOL = os.path.basename(sys.argv[0])

RESOURCES = {
    "namespaces": ("Namespace", "", False),
    "serviceaccounts": ("ServiceAccount", "", True),
    "secrets": ("Secret", "", True),
    "configmaps": ("ConfigMap", "", True),
    "persistentvolumeclaims": ("PersistentVolumeClaim", "", True),
    "roles.rbac.authorization.k8s.io": ("Role", "rbac.authorization.k8s.io", True),
    "rolebindings.rbac.authorization.k8s.io": ("RoleBinding", "rbac.authorization.k8s.io", True),
    "daemonsets.apps": ("DaemonSet", "apps", True),
    "deployments.apps": ("Deployment", "apps", True),
    "services": ("Service", "", True),
    "jobs.batch": ("Job", "batch", True),
    "autoscalingrunnersets.actions.github.com": ("AutoscalingRunnerSet", "actions.github.com", True),
}
KIND_RES = {v[0]: k for k, v in RESOURCES.items()}


def load():
    try:
        with open(STATE) as f:
            return json.load(f)
    except FileNotFoundError:
        return {}


def save(st):
    with open(STATE, "w") as f:
        json.dump(st, f, indent=1)


def out(s=""):
    sys.stdout.write(s + ("\n" if s and not s.endswith("\n") else ""))


def die(msg, code=1):
    sys.stderr.write(msg + "\n")
    sys.exit(code)


def singular(kind, group):
    return kind.lower() + ("." + group if group else "")


def take(args, *names, flag=False):
    """Remove an option (and its value) from args; return the value (or True for a flag)."""
    for i, a in enumerate(args):
        for n in names:
            if a == n:
                if flag:
                    del args[i]
                    return True
                v = args[i + 1]
                del args[i:i + 2]
                return v
            if a.startswith(n + "="):
                del args[i]
                return a.split("=", 1)[1]
    return None


def matches(obj, selector):
    labels = obj.get("metadata", {}).get("labels", {}) or {}
    for term in (selector or "").split(","):
        if not term:
            continue
        k, _, v = term.partition("=")
        if labels.get(k) != v:
            return False
    return True


def key(o):
    md = o["metadata"]
    return (o["kind"], md.get("namespace", ""), md["name"])


def kubectl(st, args, stdin):
    ctx = take(args, "--context")
    take(args, "--kubeconfig")
    verb = args[0] if args else ""
    if verb == "version" and "--client" in args:
        v = st.get("versions", {}).get("kubectl", "v1.32.2")
        out(json.dumps({"clientVersion": {"gitVersion": v}, "kustomizeVersion": "v5.5.0"}))
        return
    if ctx and ctx not in st.get("contexts", []):
        die(f'error: context "{ctx}" does not exist')
    if not st.get("reachable", True):
        die("The connection to the server 127.0.0.1:6443 was refused - did you specify the right host or port?")
    if verb in st.get("fail", {}):
        die(st["fail"][verb])
    if verb == "attach":
        a = list(args)
        take(a, "--namespace", "-n")
        take(a, "-i", flag=True)
        container = take(a, "-c")
        st.setdefault("attached", []).append({"pod": a[1], "container": container, "bytes": len(stdin)})
        save(st)
        return
    if verb == "logs":
        a = list(args)
        take(a, "--namespace", "-n")
        take(a, "-f", flag=True)
        take(a, "-c")
        take(a, "--pod-running-timeout")
        take(a, "--previous", flag=True)
        take(a, "--tail")
        if a[1] in st.get("logs", {}):
            out(st["logs"][a[1]])
            return
        out(f"#1 [internal] load build definition from Dockerfile ({a[1]})")
        out("#5 exporting to image")
        out("#5 pushing layers done")
        return
    if verb == "version":
        out(json.dumps({"clientVersion": {"gitVersion": "v1.32.2"},
                        "serverVersion": {"gitVersion": st.get("server_version", "v1.32.2"),
                                          "platform": "linux/amd64"}}))
        return
    if verb == "wait":
        crds = [a for a in args if a.startswith("crd/")]
        if not st.get("crds"):
            die("error: no matching resources found")
        for c in crds:
            out(f"customresourcedefinition.apiextensions.k8s.io/{c[4:]} condition met")
        return
    if verb == "get":
        return kubectl_get(st, args[1:])
    if verb == "apply":
        docs = [d for d in yaml.safe_load_all(stdin) if d]
        objs = st.setdefault("objects", [])
        for d in docs:
            old = next((o for o in objs if key(o) == key(d)), None)
            if old:
                d["status"] = old.get("status", {})
                objs.remove(old)
            objs.append(d)
            res = KIND_RES.get(d["kind"])
            group = RESOURCES[res][1] if res else d["apiVersion"].rpartition("/")[0]
            out(f"{singular(d['kind'], group)}/{d['metadata']['name']} serverside-applied")
        save(st)
        return
    if verb == "delete":
        ns = take(args, "--namespace", "-n") or ""
        take(args, "--ignore-not-found", flag=True)
        take(args, "--wait")
        take(args, "--timeout")
        objs = st.setdefault("objects", [])
        for ref in args[1:]:
            res, _, name = ref.partition("/")
            kind, group, namespaced = RESOURCES[res]
            if kind == "AutoscalingRunnerSet" and name in st.get("stuck", []):
                save(st)
                die(f"error: timed out waiting for the condition on {res.split('.')[0]}/{name}")
            o = next((o for o in objs if key(o) == (kind, ns if namespaced else "", name)), None)
            if not o:
                continue
            objs.remove(o)
            if kind == "AutoscalingRunnerSet":
                ann = o["metadata"].get("annotations", {})
                for a, k in (("actions.github.com/cleanup-github-secret-name", "Secret"),
                             ("actions.github.com/cleanup-manager-role-name", "Role"),
                             ("actions.github.com/cleanup-manager-role-binding", "RoleBinding"),
                             ("actions.github.com/cleanup-kubernetes-mode-role-name", "Role"),
                             ("actions.github.com/cleanup-kubernetes-mode-role-binding-name", "RoleBinding"),
                             ("actions.github.com/cleanup-kubernetes-mode-service-account-name", "ServiceAccount"),
                             ("actions.github.com/cleanup-no-permission-service-account-name", "ServiceAccount")):
                    if a in ann:
                        objs[:] = [x for x in objs if key(x) != (k, ns, ann[a])]
            out(f'{singular(kind, group)} "{name}" deleted')
        save(st)
        return
    if verb == "patch":
        ns = take(args, "--namespace", "-n") or ""
        take(args, "--type")
        patch = json.loads(take(args, "-p"))
        res, name = args[1], args[2]
        kind, group, namespaced = RESOURCES[res]
        o = next((o for o in st.get("objects", []) if key(o) == (kind, ns if namespaced else "", name)), None)
        if not o:
            die(f'Error from server (NotFound): {res.split(".")[0]} "{name}" not found')
        if patch.get("metadata", {}).get("finalizers", 1) is None:
            o["metadata"].pop("finalizers", None)
        save(st)
        out(f"{singular(kind, group)}/{name} patched")
        return
    die(f"error: unknown command \"{verb}\" for \"kubectl\"")


def kubectl_get(st, args):
    ns = take(args, "--namespace", "-n")
    take(args, "--all-namespaces", "-A", flag=True)
    sel = take(args, "-l", "--selector")
    take(args, "--field-selector")
    ignore = take(args, "--ignore-not-found", flag=True)
    fmt = take(args, "-o", "--output")
    if fmt != "json":
        die("fakekube: only -o json is supported")
    what, names = args[0], args[1:]
    if what == "job":
        j = next((o for o in st.get("objects", []) if o["kind"] == "Job" and o["metadata"]["name"] == names[0]), None)
        if not j:
            die(f'Error from server (NotFound): jobs.batch "{names[0]}" not found')
        result = st.get("build_result", "succeeded")
        out(json.dumps(dict(j, status={result: 1})))
        return
    items = []
    for res in what.split(","):
        if res == "nodes":
            for n in st.get("nodes", [{"name": "deskrun-control-plane", "runtime": "containerd://1.7.24"}]):
                items.append({"apiVersion": "v1", "kind": "Node", "metadata": {"name": n["name"]},
                              "status": {"nodeInfo": {"containerRuntimeVersion": n["runtime"]},
                                         "images": [{"names": n.get("images", []), "sizeBytes": 1}]}})
        elif res in ("customresourcedefinitions", "crd"):
            if st.get("crds"):
                for n in names:
                    items.append({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
                                  "metadata": {"name": n},
                                  "status": {"conditions": [{"type": "Established", "status": "True"}]}})
            elif not ignore:
                die(f'Error from server (NotFound): customresourcedefinitions.apiextensions.k8s.io "{names[0]}" not found')
            else:
                return  # as the real kubectl: nothing at all, not an empty List
        elif res == "deployments.apps":
            if st.get("helm", {}).get("arc"):
                items.append({"apiVersion": "apps/v1", "kind": "Deployment",
                              "metadata": {"name": "arc-gha-rs-controller", "namespace": ns,
                                           "labels": {"app.kubernetes.io/part-of": "gha-rs-controller"}},
                              "spec": {"replicas": 1}, "status": {"readyReplicas": 1}})
        elif res == "pods" and sel and sel.startswith("job-name="):
            job = sel.split("=", 1)[1]
            j = next((o for o in st.get("objects", []) if o["kind"] == "Job" and o["metadata"]["name"] == job), None)
            if j:
                spec = j["spec"]["template"]["spec"]
                status = {"phase": "Pending"}
                pod = job + "-x7k2p"
                if spec.get("initContainers") and not any(x["pod"] == pod for x in st.get("attached", [])):
                    status["initContainerStatuses"] = [{"name": c["name"], "state": {"running": {}}} for c in spec["initContainers"]]
                else:
                    # the context has arrived (or there is none): the init containers ended, the builder runs
                    # (state "context_exit": the context container failed to unpack it)
                    code = st.get("context_exit", 0)
                    status["phase"] = "Running" if not code else "Failed"
                    status["initContainerStatuses"] = [{"name": c["name"], "state": {"terminated": {"exitCode": code}}}
                                                       for c in spec.get("initContainers", [])]
                    status["containerStatuses"] = [{"name": c["name"], "state": {"running": {}} if not code
                                                    else {"waiting": {"reason": "PodInitializing"}}}
                                                   for c in spec["containers"]]
                items.append({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": job + "-x7k2p", "labels": {"job-name": job}}, "status": status})
        elif res == "pods":
            items += [p for p in st.get("listeners", []) if matches(p, sel)]
            items += [p for p in st.get("pods", []) if matches(p, sel)
                      and (not ns or p["metadata"].get("namespace") == ns)]
        elif res == "events":
            items += st.get("events", [])
        elif res == "autoscalinglisteners.actions.github.com":
            if not st.get("crds"):
                die('error: the server doesn\'t have a resource type "autoscalinglisteners"')
            items += [p for p in st.get("listeners", [])]
        elif res in RESOURCES:
            kind = RESOURCES[res][0]
            if kind == "AutoscalingRunnerSet" and not st.get("crds"):
                die('error: the server doesn\'t have a resource type "autoscalingrunnersets"')
            for o in st.get("objects", []):
                if o["kind"] == kind and matches(o, sel) and (not ns or o["metadata"].get("namespace") == ns):
                    items.append(o)
        else:
            die(f'error: the server doesn\'t have a resource type "{res}"')
    out(json.dumps({"apiVersion": "v1", "kind": "List", "items": items, "metadata": {"resourceVersion": ""}}))


def helm(st, args, stdin):
    verb = args[0] if args else ""
    if verb in st.get("fail", {}):
        die(st["fail"][verb])
    rel = st.setdefault("helm", {})
    if verb == "version":
        out(st.get("versions", {}).get("helm", "v3.16.2") + "+g13654a5")
        return
    if verb == "list":
        a = list(args)
        ns = take(a, "--namespace")
        flt = take(a, "--filter") or ""
        rows = []
        for name, r in sorted(rel.items()):
            if r["namespace"] != ns or (flt and flt.strip("^$") != name):
                continue
            # As helm 3.21 prints it: the chart column is "<name>-<version>".
            rows.append({"name": name, "namespace": r["namespace"], "revision": "1",
                         "updated": "2026-12-06 18:20:55.766903166 +0000 UTC",
                         "status": r.get("status", "deployed"),
                         "chart": "gha-runner-scale-set-controller-" + r["version"],
                         "app_version": r["version"]})
        out(json.dumps(rows))
        return
    if verb == "upgrade":
        a = list(args)
        ns = take(a, "--namespace")
        ver = take(a, "--version")
        take(a, "--install", flag=True)
        take(a, "--create-namespace", flag=True)
        name, chart = a[1], a[2]
        if not ver:
            die("fakekube: local charts are proven with the real helm (tests/cluster)")
        fresh = name not in rel
        rel[name] = {"version": ver, "namespace": ns, "status": "deployed", "chart": chart}
        st["crds"] = True
        save(st)
        if fresh:
            out(f'Release "{name}" does not exist. Installing it now.')
        out(f"NAME: {name}\nNAMESPACE: {ns}\nSTATUS: deployed\nREVISION: 1")
        return
    if verb == "show" and args[1] == "chart":
        if not args[2].startswith("oci://"):
            die("fakekube: local charts are proven with the real helm (tests/cluster)")
        out(f"apiVersion: v2\nname: gha-runner-scale-set-controller\nversion: {take(list(args), '--version')}\n")
        return
    if verb == "show" and args[1] == "crds":
        out("apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n"
            "  name: autoscalingrunnersets.actions.github.com\n")
        return
    die(f'Error: unknown command "{verb}" for "helm"')


def docker(st, args, stdin_raw):
    images = st.setdefault("docker_images", [])
    if args[:1] == ["info"]:
        if st.get("docker_denied"):
            die("permission denied while trying to connect to the Docker daemon socket at "
                "unix:///var/run/docker.sock: Get \"http://%2Fvar%2Frun%2Fdocker.sock/v1.47/info\": "
                "dial unix /var/run/docker.sock: connect: permission denied")
        if st.get("docker_down"):
            die("Cannot connect to the Docker daemon at unix:///var/run/docker.sock. "
                "Is the docker daemon running?")
        info = {"ServerVersion": "27.3.1", "Driver": "overlay2",
                "DriverStatus": [["Backing Filesystem", "extfs"], ["Supports d_type", "true"]],
                "CgroupVersion": "2"}
        info.update(st.get("docker_info", {}))
        out(json.dumps(info))
        return
    if args[:2] == ["image", "inspect"]:
        if args[-1] not in images:
            die(f"Error: No such image: {args[-1]}")
        out("sha256:" + "ab" * 32)
        return
    if args[:1] == ["import"]:
        tag = args[-1]
        if stdin_raw[257:262] != b"ustar":
            die("Error response from daemon: archive/tar: invalid tar header")
        images.append(tag)
        save(st)
        out("sha256:" + "cd" * 32)
        return
    die("fakekube: unsupported docker call")


def kind(st, args, stdin):
    clusters = st.setdefault("clusters", [])
    if args[:1] == ["version"]:
        out(f"kind {st.get('versions', {}).get('kind', 'v0.24.0')} go1.22.6 linux/amd64")
        return
    if args[:2] == ["load", "docker-image"]:
        a = list(args)
        take(a, "--name")
        img = a[2]
        if img not in st.get("docker_images", []):
            die(f'ERROR: image: "{img}" not present locally')
        for n in st.setdefault("nodes", [{"name": "deskrun-control-plane", "runtime": "containerd://1.7.24"}]):
            n.setdefault("images", []).append("docker.io/library/" + img)
        save(st)
        sys.stderr.write(f'Image: "{img}" with ID "sha256:cd..." not yet present on node "deskrun-control-plane", loading...\n')
        return
    if args[:2] == ["get", "clusters"]:
        if not clusters:
            sys.stderr.write("No kind clusters found.\n")
        for c in clusters:
            out(c)
        return
    if args[:2] == ["create", "cluster"]:
        a = list(args)
        name = take(a, "--name")
        if name in clusters:
            die(f'ERROR: failed to create cluster: node(s) already exist for a cluster with the name "{name}"')
        clusters.append(name)
        st.setdefault("contexts", []).append("kind-" + name)
        save(st)
        sys.stderr.write(f'Creating cluster "{name}" ...\n')
        return
    if args[:2] == ["delete", "cluster"]:
        a = list(args)
        name = take(a, "--name")
        if name in clusters:
            clusters.remove(name)
        st["contexts"] = [c for c in st.get("contexts", []) if c != "kind-" + name]
        save(st)
        sys.stderr.write(f'Deleting cluster "{name}" ...\n')
        return
    die("fakekube: unsupported kind call")


def main():
    args = sys.argv[1:]
    raw = b"" if sys.stdin.isatty() else sys.stdin.buffer.read()
    stdin = raw.decode("utf-8", errors="replace")
    with open(LOG, "a") as f:
        f.write(json.dumps({"tool": TOOL, "argv": args, "stdin": stdin,
                            "stdin_b64": base64.b64encode(raw).decode(),
                            "env": dict(os.environ)}) + "\n")
    st = load()
    if TOOL == "kubectl":
        kubectl(st, list(args), stdin)
    elif TOOL == "helm":
        helm(st, list(args), stdin)
    elif TOOL == "kind":
        kind(st, list(args), stdin)
    elif TOOL == "docker":
        docker(st, list(args), raw)
    elif TOOL == "k3s":
        out("k3s version v1.32.2+k3s1 (abcdef12)\ngo version go1.23.4")
    else:
        die(f"fakekube: unknown tool {TOOL}")


if __name__ == "__main__":
    main()
