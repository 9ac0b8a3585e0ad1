#!/usr/bin/python3
"""Read the fakekube call log.

calls.py LOG                 one line per call: "tool arg1 arg2 ..."
calls.py LOG stdin N         the stdin of call N (1-based)
calls.py LOG leaks S...      print every call whose argv or environment contains one of S
calls.py LOG manifests DIR   write each kubectl apply's stdin documents to DIR/<n>.yaml
"""
import base64
import json
import os
import sys

log, *rest = sys.argv[1:]
calls = []
if os.path.exists(log):
    with open(log) as f:
        calls = [json.loads(l) for l in f]
if not rest:
    for c in calls:
        print(" ".join([c["tool"]] + c["argv"]))
elif rest[0] == "stdin":
    sys.stdout.buffer.write(base64.b64decode(calls[int(rest[1]) - 1]["stdin_b64"]))
elif rest[0] == "leaks":
    for i, c in enumerate(calls, 1):
        blob = json.dumps(c["argv"]) + json.dumps(c["env"])
        for s in rest[1:]:
            if s and s in blob:
                print(f"call {i} ({c['tool']}) carries a secret")
elif rest[0] == "manifests":
    n = 0
    for c in calls:
        if c["tool"] == "kubectl" and "apply" in c["argv"]:
            n += 1
            with open(os.path.join(rest[1], f"{n}.yaml"), "w") as f:
                f.write(c["stdin"])
    print(n)
