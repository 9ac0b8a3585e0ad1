#!/usr/bin/python3
"""ghctl: drive the GitHub stand-in (tests/github/standin.py) through its control API, and play a
runner that was given a JIT config. Standard library only.

  ghctl.py [--dir D | --url URL [--cacert PEM]] COMMAND ...
    (--dir reads D/url and trusts D/cert.pem; the environment GHSTANDIN_DIR does the same)

  state                                   the whole state as JSON
  journal [--since SEQ] [--endpoint E]    journaled requests, one JSON object a line
  queue-job [--scale-set S] [--labels a,b] [--flow acquire|assign] [--repository o/r]
            [--workflow-ref REF] [--display-name N]     queue a job; prints it (JSON)
  jobs [--state S] | job ID               jobs (queued/available/assigned/running/completed)
  complete-job ID [--result R] | cancel-job ID [--requeue]
  wait-job ID STATE [--timeout S]         wait until the job reaches STATE
  runner ID [online | busy [--job J] [--wait S] | finish [--result R] | offline]
                                          report for a runner as the runner would
  fault [--method M] [--path REGEX] [--status N] [--times N] [--skip N] [--retry-after S]
        [--type-name T] [--message M] [--delay S] [--header K=V]    inject a failure
  faults | clear-faults
  expire admin|queue|registration|installation|all | expire pat --token T
  session S evict | session S phantom [--owner O]   drop the set's session / fake a 409 holder
  stats-message S [--body B]              queue a statistics-only message (body "" or "[]")
  group NAME                              add a runner group
  config KEY=VALUE ...                    poll_hold, admin_token_ttl, queue_token_ttl,
                                          session_ttl, bom (0/1), flow ...
  reset                                   forget everything
  decode-jit [BLOB]                       the files inside a JIT config (default: the env var)
  run-runner [--jitconfig BLOB] [--root DIR] [--result R] [--wait S] [--job-seconds S] [--step PROG]
             [--exit-code N]              the runner stand-in: decode ACTIONS_RUNNER_INPUT_JITCONFIG,
                                          report online, take a job, finish it, exit
"""
import argparse
import base64
import json
import os
import ssl
import sys
import time
import urllib.error
import urllib.request


class Ctl:
    def __init__(self, url, cacert):
        self.url = url.rstrip("/")
        self.ctx = None
        if self.url.startswith("https:"):
            self.ctx = ssl.create_default_context(cafile=cacert) if cacert else ssl.create_default_context()

    def call(self, method, path, body=None, ok=(200,), timeout=600):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, context=self.ctx, timeout=timeout) as r:
                status, raw = r.status, r.read()
        except urllib.error.HTTPError as e:
            status, raw = e.code, e.read()
        val = json.loads(raw) if raw else None
        if status not in ok:
            raise SystemExit("ghctl: %s %s: HTTP %d %s" % (method, path, status, raw.decode(errors="replace")))
        return status, val


def out(v):
    print(json.dumps(v, indent=None, sort_keys=True))


def decode_jit(blob):
    files = json.loads(base64.b64decode(blob))
    res = {}
    for name, content in files.items():
        raw = base64.b64decode(content)
        try:
            res[name] = json.loads(raw)
        except ValueError:
            res[name] = raw.decode(errors="replace")
    return res


def run_runner(a, cacert):
    """A JIT runner stand-in (§8, §9.4): the real runner would talk to the broker; this one
    reports to the stand-in's control API named in the JIT config's .standin file."""
    blob = a.jitconfig or os.environ.pop("ACTIONS_RUNNER_INPUT_JITCONFIG", "")
    if not blob:
        print("run-runner: no JIT config (ACTIONS_RUNNER_INPUT_JITCONFIG or --jitconfig)", file=sys.stderr)
        return 2
    files = json.loads(base64.b64decode(blob))
    if a.root:  # as the runner does: every entry becomes a file in its root directory
        os.makedirs(a.root, exist_ok=True)
        for name, content in files.items():
            with open(os.path.join(a.root, name), "wb") as f:
                f.write(base64.b64decode(content))
    conf = decode_jit(blob)
    runner, standin = conf[".runner"], conf[".standin"]
    ctl = Ctl(standin["controlUrl"], cacert)
    rid = runner["AgentId"]
    log = lambda *m: print("runner %s (%s):" % (runner["AgentName"], rid), *m, file=sys.stderr, flush=True)
    st, _ = ctl.call("POST", "/runners/%d/online" % rid, {}, ok=(200, 410))
    if st == 410:
        log("removed before it came online")
        return 1
    log("online, waiting for a job")
    deadline = time.time() + a.wait
    job = None
    while job is None and time.time() < deadline:
        st, job = ctl.call("POST", "/runners/%d/busy" % rid, {"wait": min(20, max(0.1, deadline - time.time()))},
                           ok=(200, 204, 410))
        if st == 410:
            log("removed while idle")
            return 0
    if job is None:
        log("no job within %ss" % a.wait)
        ctl.call("POST", "/runners/%d/offline" % rid, {}, ok=(200, 410))
        return 1
    log("running job %s (request %s)" % (job["jobId"], job["runnerRequestId"]))
    time.sleep(a.job_seconds)
    result = a.result
    if a.step:  # the job's one step: a program run with the job's id in JOB_ID; fails the job
        import subprocess
        env = dict(os.environ, JOB_ID=str(job["jobId"]))
        rc = subprocess.run([a.step], env=env).returncode
        log("step %s exited %d" % (a.step, rc))
        if rc != 0:
            result = "failed"
    ctl.call("POST", "/runners/%d/finish" % rid, {"result": result}, ok=(200,))
    log("finished: %s" % result)
    return a.exit_code


def main():
    ap = argparse.ArgumentParser(prog="ghctl.py", description=__doc__.split("\n")[0])
    ap.add_argument("--dir", default=os.environ.get("GHSTANDIN_DIR"))
    ap.add_argument("--url")
    ap.add_argument("--cacert")
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("state")
    p = sub.add_parser("journal")
    p.add_argument("--since", type=int, default=0)
    p.add_argument("--endpoint")
    p = sub.add_parser("queue-job")
    p.add_argument("--scale-set")
    p.add_argument("--labels", default="")
    p.add_argument("--flow")
    p.add_argument("--repository", default="acme/app")
    p.add_argument("--workflow-ref")
    p.add_argument("--display-name")
    p = sub.add_parser("jobs")
    p.add_argument("--state")
    p = sub.add_parser("job")
    p.add_argument("id", type=int)
    p = sub.add_parser("complete-job")
    p.add_argument("id", type=int)
    p.add_argument("--result", default="succeeded")
    p = sub.add_parser("cancel-job")
    p.add_argument("id", type=int)
    p.add_argument("--requeue", action="store_true")
    p = sub.add_parser("wait-job")
    p.add_argument("id", type=int)
    p.add_argument("state")
    p.add_argument("--timeout", type=float, default=30)
    p = sub.add_parser("runner")
    p.add_argument("id", type=int)
    p.add_argument("action", nargs="?", choices=("online", "busy", "finish", "offline"))
    p.add_argument("--job", type=int)
    p.add_argument("--wait", type=float, default=0)
    p.add_argument("--result", default="succeeded")
    p = sub.add_parser("fault")
    p.add_argument("--method")
    p.add_argument("--path")
    p.add_argument("--status", type=int, default=500)
    p.add_argument("--times", type=int, default=1)
    p.add_argument("--skip", type=int, default=0)
    p.add_argument("--retry-after")
    p.add_argument("--type-name")
    p.add_argument("--message")
    p.add_argument("--delay", type=float, default=0)
    p.add_argument("--header", action="append", default=[])
    sub.add_parser("faults")
    sub.add_parser("clear-faults")
    p = sub.add_parser("expire")
    p.add_argument("kind")
    p.add_argument("--token")
    p = sub.add_parser("session")
    p.add_argument("scaleset")
    p.add_argument("action", choices=("evict", "phantom"))
    p.add_argument("--owner", default="other-listener")
    p = sub.add_parser("stats-message")
    p.add_argument("scaleset")
    p.add_argument("--body", default="")
    p = sub.add_parser("group")
    p.add_argument("name")
    p = sub.add_parser("config")
    p.add_argument("settings", nargs="*")
    sub.add_parser("reset")
    p = sub.add_parser("decode-jit")
    p.add_argument("blob", nargs="?")
    p = sub.add_parser("run-runner")
    p.add_argument("--jitconfig")
    p.add_argument("--root")
    p.add_argument("--result", default="succeeded")
    p.add_argument("--wait", type=float, default=3600)
    p.add_argument("--job-seconds", type=float, default=0)
    p.add_argument("--exit-code", type=int, default=0)
    p.add_argument("--step")
    a = ap.parse_args()

    cacert = a.cacert
    url = a.url
    if a.dir:
        if url is None:
            with open(os.path.join(a.dir, "url")) as f:
                url = f.read().strip()
        if cacert is None and os.path.exists(os.path.join(a.dir, "cert.pem")):
            cacert = os.path.join(a.dir, "cert.pem")
    if a.cmd == "decode-jit":
        out(decode_jit(a.blob or os.environ.get("ACTIONS_RUNNER_INPUT_JITCONFIG", "")))
        return 0
    if a.cmd == "run-runner":
        return run_runner(a, cacert)
    if not url:
        raise SystemExit("ghctl: give --dir or --url (or set GHSTANDIN_DIR)")
    c = Ctl(url + "/_standin", cacert)
    cmd = a.cmd
    if cmd == "state":
        out(c.call("GET", "/state")[1])
    elif cmd == "journal":
        for e in c.call("GET", "/journal?since=%d" % a.since)[1]:
            if not a.endpoint or e["endpoint"] == a.endpoint:
                print(json.dumps(e, sort_keys=True))
    elif cmd == "queue-job":
        body = {"labels": a.labels, "repository": a.repository}
        for k, v in (("scaleSet", a.scale_set), ("flow", a.flow), ("workflowRef", a.workflow_ref),
                     ("displayName", a.display_name)):
            if v is not None:
                body[k] = v
        out(c.call("POST", "/jobs", body)[1])
    elif cmd == "jobs":
        out(c.call("GET", "/jobs" + ("?state=" + a.state if a.state else ""))[1])
    elif cmd == "job":
        out(c.call("GET", "/jobs/%d" % a.id)[1])
    elif cmd == "complete-job":
        out(c.call("POST", "/jobs/%d/complete" % a.id, {"result": a.result})[1])
    elif cmd == "cancel-job":
        out(c.call("POST", "/jobs/%d/cancel" % a.id, {"requeue": a.requeue})[1])
    elif cmd == "wait-job":
        deadline = time.time() + a.timeout
        while True:
            j = c.call("GET", "/jobs/%d" % a.id)[1]
            if j["state"] == a.state:
                out(j)
                return 0
            if time.time() > deadline:
                print("ghctl: job %d is %s, not %s, after %ss" % (a.id, j["state"], a.state, a.timeout),
                      file=sys.stderr)
                return 1
            time.sleep(0.1)
    elif cmd == "runner":
        if a.action is None:
            out(c.call("GET", "/runners/%d" % a.id)[1])
        else:
            body = {"wait": a.wait, "result": a.result}
            if a.job is not None:
                body["job"] = a.job
            st, v = c.call("POST", "/runners/%d/%s" % (a.id, a.action), body, ok=(200, 204))
            out(v)
            return 0 if st == 200 else 3
    elif cmd == "fault":
        body = {"method": a.method, "path": a.path, "status": a.status, "times": a.times,
                "skip": a.skip, "retryAfter": a.retry_after, "typeName": a.type_name,
                "message": a.message, "delay": a.delay,
                "headers": dict(h.split("=", 1) for h in a.header)}
        out(c.call("POST", "/faults", body)[1])
    elif cmd == "faults":
        out(c.call("GET", "/faults")[1])
    elif cmd == "clear-faults":
        c.call("DELETE", "/faults")
    elif cmd == "expire":
        out(c.call("POST", "/expire", {"kind": a.kind, "token": a.token})[1])
    elif cmd == "session":
        path = "evict-session" if a.action == "evict" else "phantom-session"
        out(c.call("POST", "/scalesets/%s/%s" % (a.scaleset, path), {"owner": a.owner})[1])
    elif cmd == "stats-message":
        out(c.call("POST", "/scalesets/%s/statistics" % a.scaleset, {"body": a.body})[1])
    elif cmd == "group":
        out(c.call("POST", "/groups", {"name": a.name})[1])
    elif cmd == "config":
        body = {}
        for kv in a.settings:
            k, _, v = kv.partition("=")
            body[k] = v if k == "flow" else (v not in ("0", "false", "") if k == "bom" else float(v))
        out(c.call("POST", "/config", body)[1])
    elif cmd == "reset":
        c.call("POST", "/reset", {})
    return 0


if __name__ == "__main__":
    sys.exit(main())
