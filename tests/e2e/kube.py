#!/usr/bin/python3
"""kube.py: turn what `deskrun render --runner-pod|--job-pod|--daemon-pod --legacy-sidecars`
prints into one Pod that `podman kube play` runs on this machine, changing only what a node
provides and podman does not:

  * the node's disk: hostPath paths are moved under --hostroot (the test's "node"), and
    --map SRC=DST points a node path (a socket) at the test's own daemon;
  * subPath/subPathExpr mounts of hostPath volumes become hostPath volumes of their own
    (podman has no subPathExpr);
  * emptyDir volumes become directories under --hostroot/emptydir/POD/NAME (podman 4.3 shares
    named volumes across pods by name, which two pods of one test must not do);
  * ConfigMap and Secret volumes become directories holding their keys, from the objects the
    render printed with the pod;
  * $(VAR) references in command and args are expanded from the container's env, as the
    kubelet does (fieldRef metadata.name/namespace resolved to the pod's);
  * probes are dropped (podman 4.3 has no startup probes; the tests wait themselves).

Test-only changes are asked for by flag: --name renames the pod, --sleep replaces the runner
container's command with a long sleep (no GitHub here), --drop-mount PATH removes a mount
that podman cannot honour (hostPID is ignored, so a host /proc would be the pod's own).
Prints the Pod as JSON (valid YAML) on stdout."""
import argparse
import base64
import json
import os
import re
import sys

import yaml


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hostroot", required=True)
    ap.add_argument("--name")
    ap.add_argument("--sleep", action="append", default=[], metavar="CONTAINER")
    ap.add_argument("--map", action="append", default=[], metavar="SRC=DST")
    ap.add_argument("--drop-mount", action="append", default=[], metavar="PATH")
    ap.add_argument("--env", action="append", default=[], metavar="CONTAINER:NAME=VALUE")
    a = ap.parse_args()

    docs = [d for d in yaml.safe_load_all(sys.stdin) if d]
    pods = [d for d in docs if d.get("kind") == "Pod"]
    if len(pods) != 1:
        sys.exit("kube.py: expected exactly one Pod in the input, got %d" % len(pods))
    pod = pods[0]
    data = {}
    for d in docs:
        if d.get("kind") == "ConfigMap":
            data[("configMap", d["metadata"]["name"])] = {
                k: v.encode() for k, v in (d.get("data") or {}).items()}
        elif d.get("kind") == "Secret":
            s = {k: base64.b64decode(v) for k, v in (d.get("data") or {}).items()}
            s.update({k: v.encode() for k, v in (d.get("stringData") or {}).items()})
            data[("secret", d["metadata"]["name"])] = s

    if a.name:
        pod["metadata"]["name"] = a.name
    name = pod["metadata"]["name"]
    maps = [m.split("=", 1) for m in a.map]
    spec = pod["spec"]
    for key in ("hostPID", "hostIPC", "serviceAccountName", "automountServiceAccountToken"):
        spec.pop(key, None)

    for v in spec.get("volumes", []):
        if "hostPath" in v:
            p = v["hostPath"]["path"]
            for src, dst in maps:
                if p == src or p.startswith(src.rstrip("/") + "/"):
                    v["hostPath"]["path"] = dst + p[len(src):]
                    break
            else:
                v["hostPath"]["path"] = os.path.join(a.hostroot, "node", p.lstrip("/"))
                if v["hostPath"].get("type") in ("DirectoryOrCreate", "Directory", None):
                    os.makedirs(v["hostPath"]["path"], exist_ok=True)
                    v["hostPath"]["type"] = "Directory"
        elif "emptyDir" in v:
            d = os.path.join(a.hostroot, "emptydir", name, v["name"])
            os.makedirs(d, exist_ok=True)
            os.chmod(d, 0o777)  # as the kubelet makes an emptyDir
            del v["emptyDir"]
            v["hostPath"] = {"path": d, "type": "Directory"}
        elif "configMap" in v or "secret" in v:
            kind = "configMap" if "configMap" in v else "secret"
            ref = v[kind].get("name") or v[kind].get("secretName")
            files = data.get((kind, ref))
            if files is None:
                sys.exit("kube.py: volume %s: %s %s was not rendered with the pod" % (v["name"], kind, ref))
            d = os.path.join(a.hostroot, kind, name, v["name"])
            os.makedirs(d, exist_ok=True)
            for k, content in files.items():
                with open(os.path.join(d, k), "wb") as f:
                    f.write(content)
            del v[kind]
            v["hostPath"] = {"path": d, "type": "Directory"}

    for c in spec.get("initContainers", []) + spec.get("containers", []):
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            c.pop(probe, None)
        c.pop("restartPolicy", None)
        c["volumeMounts"] = [m for m in c.get("volumeMounts", []) if m["mountPath"] not in a.drop_mount]
        for e in a.env:
            cname, kv = e.split(":", 1)
            if cname == c["name"]:
                k, val = kv.split("=", 1)
                c.setdefault("env", []).append({"name": k, "value": val})
        env = {}
        for e in c.get("env", []):
            if "value" in e:
                env[e["name"]] = e["value"]
            elif "valueFrom" in e and "fieldRef" in e["valueFrom"]:
                path = e["valueFrom"]["fieldRef"]["fieldPath"]
                known = {"metadata.name": name, "metadata.namespace": pod["metadata"].get("namespace", "default")}
                if path in known:
                    e.pop("valueFrom")
                    e["value"] = env[e["name"]] = known[path]
            elif "valueFrom" in e and "secretKeyRef" in e["valueFrom"]:
                ref = e["valueFrom"]["secretKeyRef"]
                val = data.get(("secret", ref["name"]), {}).get(ref["key"])
                if val is not None:
                    e.pop("valueFrom")
                    e["value"] = env[e["name"]] = val.decode()

        def expand(s):
            return re.sub(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", lambda m: env.get(m.group(1), m.group(0)), s)
        # subPath / subPathExpr of a hostPath volume: the kubelet bind-mounts that folder
        # (made if missing); here it becomes a hostPath volume of its own.
        for m in c.get("volumeMounts", []):
            sub = m.pop("subPathExpr", None)
            sub = expand(sub) if sub is not None else m.pop("subPath", None)
            if sub is None:
                continue
            vol = next(v for v in spec["volumes"] if v["name"] == m["name"])
            path = os.path.join(vol["hostPath"]["path"], sub)
            os.makedirs(path, exist_ok=True)
            vname = "%s-sub%d" % (m["name"], len(spec["volumes"]))
            spec["volumes"].append({"name": vname, "hostPath": {"path": path, "type": "Directory"}})
            m["name"] = vname
        for key in ("command", "args"):
            if key in c:
                c[key] = [expand(x) for x in c[key]]
        if c["name"] in a.sleep:
            # A sleep that ends on SIGTERM (PID 1 ignores signals it has no handler for), so
            # removing the pod does not wait out its grace period.
            c["command"] = ["/bin/sh", "-c", "trap 'exit 0' TERM; sleep infinity & wait"]
            c.pop("args", None)
    json.dump(pod, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
