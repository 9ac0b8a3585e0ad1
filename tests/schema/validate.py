#!/usr/bin/python3
"""Check rendered objects against the Kubernetes v1.32 strict schemas and the ARC 0.14.2 CRDs.

Usage: validate.py CASEDIR...   Each CASEDIR holds render.yaml, render.json and secrets.json
(written by tests/golden/run.sh). Prints TAP lines without numbers ("ok - ...").

For each case:
- render.yaml, read with PyYAML (a YAML 1.1 reader, stricter about "yes"/"on" than deskrun's own
  parser), equals the items of render.json: the quoting is right for every reader;
- every object of secrets.json (which includes the Secrets) validates with Draft7Validator
  against ../shared/schemas: built-in kinds against kubernetes-v1.32/<kind>-<group>-<version>.json
  (strict: unknown fields are errors), AutoscalingRunnerSet against the CRD's openAPIV3Schema;
- every hook extension (ConfigMap data.content) is a PodTemplateSpec whose spec validates as a
  Pod's.
"""
import json
import os
import sys

import yaml

try:
    from jsonschema import Draft7Validator
except ImportError:  # pragma: no cover
    Draft7Validator = None

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(os.path.dirname(HERE))
SCHEMAS = os.environ.get("DESKRUN_SCHEMAS") or os.path.join(SRC, "..", "shared", "schemas")

CRDS = {
    "AutoscalingRunnerSet": "actions.github.com_autoscalingrunnersets.yaml",
    "AutoscalingListener": "actions.github.com_autoscalinglisteners.yaml",
    "EphemeralRunner": "actions.github.com_ephemeralrunners.yaml",
    "EphemeralRunnerSet": "actions.github.com_ephemeralrunnersets.yaml",
}

_cache = {}


def schema_file(obj):
    kind = obj["kind"]
    if kind in CRDS:
        return os.path.join(SCHEMAS, "arc-0.14.2", CRDS[kind])
    group, _, version = obj["apiVersion"].rpartition("/")
    group = group.replace(".k8s.io", "").split(".")[0] if group else ""
    name = kind.lower() + ("-" + group if group else "") + "-" + version + ".json"
    return os.path.join(SCHEMAS, "kubernetes-v1.32", name)


def validator(path):
    if path not in _cache:
        if path.endswith(".yaml"):
            with open(path) as f:
                crd = yaml.load(f, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
            schema = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
        else:
            with open(path) as f:
                schema = json.load(f)
        _cache[path] = Draft7Validator(schema)
    return _cache[path]


def errors_of(obj, path):
    v = validator(path)
    return sorted(v.iter_errors(obj), key=lambda e: list(e.path))


def report(ok, msg, details=()):
    print(("ok - " if ok else "not ok - ") + msg)
    for d in details:
        print("# " + str(d))


def main(dirs):
    have_schemas = os.path.isdir(SCHEMAS) and Draft7Validator is not None
    if not have_schemas:
        why = "jsonschema is not installed" if Draft7Validator is None else \
            f"{os.path.normpath(SCHEMAS)} is absent"
        report(True, f"schema validation of every rendered object # SKIP {why}")
    for d in dirs:
        case = os.path.basename(os.path.normpath(d))
        with open(os.path.join(d, "render.yaml")) as f:
            docs = [x for x in yaml.safe_load_all(f) if x is not None]
        with open(os.path.join(d, "render.json")) as f:
            items = json.load(f)["items"]
        same = docs == items
        report(same, f"{case}: the YAML reads back (PyYAML) as the JSON output",
               [] if same else ["YAML and JSON differ"])
        if not have_schemas:
            continue
        with open(os.path.join(d, "secrets.json")) as f:
            objs = json.load(f)["items"]
        for obj in objs:
            label = f"{case}: {obj['kind']}/{obj['metadata']['name']}"
            path = schema_file(obj)
            if not os.path.exists(path):
                report(False, f"{label} has a schema", [f"no {path}"])
                continue
            errs = errors_of(obj, path)
            report(not errs, f"{label} validates against {os.path.basename(path)}",
                   [f"{'/'.join(map(str, e.path))}: {e.message}" for e in errs[:5]])
            if obj["kind"] == "ConfigMap" and "content" in obj.get("data", {}):
                tmpl = yaml.safe_load(obj["data"]["content"])
                pod = {"apiVersion": "v1", "kind": "Pod",
                       "metadata": tmpl.get("metadata", {}), "spec": tmpl["spec"]}
                pod["metadata"] = dict(pod["metadata"], name="job")
                perrs = errors_of(pod, os.path.join(SCHEMAS, "kubernetes-v1.32", "pod-v1.json"))
                report(not perrs, f"{label}: the hook extension is a valid PodTemplateSpec",
                       [f"{'/'.join(map(str, e.path))}: {e.message}" for e in perrs[:5]])


def manifests(files):
    """validate.py --manifests FILE...: every YAML document of the files against the schemas."""
    if not (os.path.isdir(SCHEMAS) and Draft7Validator is not None):
        report(True, f"schema validation of applied manifests # SKIP {os.path.normpath(SCHEMAS)} is absent")
        return
    for path in files:
        with open(path) as f:
            for obj in (d for d in yaml.safe_load_all(f) if d):
                label = f"{os.path.basename(path)}: {obj['kind']}/{obj['metadata']['name']}"
                if obj["kind"] == "CustomResourceDefinition":
                    continue  # ARC's own CRDs, passed through from `helm show crds`
                sf = schema_file(obj)
                errs = errors_of(obj, sf) if os.path.exists(sf) else ["no schema " + sf]
                report(not errs, f"{label} validates against {os.path.basename(sf)}",
                       [getattr(e, "message", e) for e in errs[:5]])


if __name__ == "__main__":
    if sys.argv[1:2] == ["--manifests"]:
        manifests(sys.argv[2:])
    else:
        main(sys.argv[1:])
