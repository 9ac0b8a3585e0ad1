#!/usr/bin/python3
"""GitHub stand-in: GitHub's REST calls and the Actions runner scale set service, over HTTPS.

The wire protocol is ../shared/reference/scaleset-protocol.md (cited as §N below); this server is
written to that text so that real clients (ARC 0.14.2's controller and ghalistener, the official
Go client github.com/actions/scaleset v0.4.0, deskrun's C client) can run against it offline.
Standard library only.

  standin.py --dir D [--host 127.0.0.1] [--port 0] [--public-url URL] [--cert C --key K]
             [--san IP:10.0.0.5 ...] [--no-tls] [--pat TOKEN ...] [--pat-scopes S]
             [--app-id ID] [--app-client-id CID] [--installation-id N] [--app-key PEM]
             [--poll-hold S] [--admin-token-ttl S] [--queue-token-ttl S] [--reg-token-ttl S]
             [--installation-token-ttl S] [--session-ttl S] [--flow acquire|assign]
             [--first-message-id N] [--journal FILE]

It listens on HOST:PORT (PORT 0: a free one) and writes D/url (e.g. https://127.0.0.1:4431) and
D/port once it accepts connections. Without --cert/--key it makes a self-signed certificate with
openssl (D/cert.pem, D/key.pem; SANs 127.0.0.1, localhost and every --san). Every request except
the control API is appended as a JSON line to D/journal.jsonl (or --journal) when its answer goes
out (GET /_standin/journal returns them in arrival order, by "seq"). A client points
its config URL at URL/<org>, URL/<owner>/<repo> or URL/enterprises/<ent>; the host is not a
github.com host, so clients use GHES paths (§1.2): REST under /api/v3 (also served at the root).

Served (see README.md for the control API and what is simplified):
  GET  /api/v3/                                            PAT check (X-OAuth-Scopes), as doctor uses
  GET  /api/v3/app/installations/{id}                      App JWT (RS256, checked against --app-key)
  POST /api/v3/app/installations/{id}/access_tokens        201 installation token (§2.2)
  POST /api/v3/{orgs/O|repos/O/R|enterprises/E}/actions/runners/registration-token   201 (§2.3)
  POST /api/v3/actions/runner-registration                 RemoteAuth → service URL + admin JWT (§2.4)
  {svc} = URL/tenant/{n}/ (one tenant per config URL), every call Bearer <admin JWT> (§2.5, §2.6):
  GET    {svc}_apis/runtime/runnergroups/?groupName=       (§4.1)
  GET    {svc}_apis/runtime/runnerscalesets?runnerGroupId=&name=    (§4.2)
  GET/PATCH/DELETE {svc}_apis/runtime/runnerscalesets/{id}  (§4.3, §4.5, §4.5b)
  POST   {svc}_apis/runtime/runnerscalesets                 200 (§4.4)
  POST   {svc}_apis/runtime/runnerscalesets/{id}/sessions   200, 409 on a second session (§4.6, §7.1)
  PATCH/DELETE {svc}_apis/runtime/runnerscalesets/{id}/sessions/{sid}    (§4.6b, §4.6c)
  GET    URL/scalesets/message[?lastMessageId=N]            long poll, Bearer <queue token> (§4.7)
  DELETE URL/scalesets/message/{messageId}                  ack (§4.8)
  POST   {svc}_apis/runtime/runnerscalesets/{id}/acquirejobs       Bearer <queue token> (§4.9)
  GET    {svc}_apis/runtime/runnerscalesets/{id}/acquirablejobs    (§4.10)
  POST   {svc}_apis/runtime/runnerscalesets/{id}/generatejitconfig 200 (§4.11, §8)
  GET    {svc}_apis/distributedtask/pools/0/agents/{id} | ?agentName=   (§4.12, §4.13)
  DELETE {svc}_apis/distributedtask/pools/0/agents/{id}    204, also for unknown ids (§4.14)
  /_standin/...                                            the control API (ghctl.py), not journaled
"""
import argparse
import base64
import hashlib
import hmac
import http.server
import json
import os
import re
import secrets
import socket
import ssl
import subprocess
import sys
import threading
import time
import traceback
import urllib.parse
import uuid
from datetime import datetime, timezone

INT32_MAX = 2147483647


def now():
    return time.time()


def rfc3339(t=None):
    return datetime.fromtimestamp(now() if t is None else t, timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%S.%fZ")


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


# ---------------------------------------------------------------- RSA public keys (App JWTs)

def _der(buf, i):
    tag = buf[i]
    length = buf[i + 1]
    i += 2
    if length & 0x80:
        n = length & 0x7F
        length = int.from_bytes(buf[i:i + n], "big")
        i += n
    return tag, buf[i:i + length], i + length


def _der_items(buf):
    items, i = [], 0
    while i < len(buf):
        tag, val, i = _der(buf, i)
        items.append((tag, val))
    return items


def rsa_public_numbers(pem):
    """(n, e) from a PEM RSA key: PUBLIC KEY, RSA PUBLIC KEY, RSA PRIVATE KEY or PRIVATE KEY."""
    m = re.search(r"-----BEGIN ([A-Z ]+)-----(.*?)-----END \1-----", pem, re.S)
    if not m:
        raise ValueError("no PEM block")
    kind, der = m.group(1), base64.b64decode("".join(m.group(2).split()))
    _, body, _ = _der(der, 0)
    items = _der_items(body)
    if kind == "PUBLIC KEY":  # SubjectPublicKeyInfo: SEQ{algid, BIT STRING(RSAPublicKey)}
        _, rsapub, _ = _der(items[1][1][1:], 0)
        items = _der_items(rsapub)
        return int.from_bytes(items[0][1], "big"), int.from_bytes(items[1][1], "big")
    if kind == "RSA PUBLIC KEY":
        return int.from_bytes(items[0][1], "big"), int.from_bytes(items[1][1], "big")
    if kind == "PRIVATE KEY":  # PKCS#8: SEQ{version, algid, OCTET STRING(RSAPrivateKey)}
        _, inner, _ = _der(items[2][1], 0)
        items = _der_items(inner)
    if kind in ("RSA PRIVATE KEY", "PRIVATE KEY"):
        return int.from_bytes(items[1][1], "big"), int.from_bytes(items[2][1], "big")
    raise ValueError("unsupported key type " + kind)


_SHA256_DIGESTINFO = bytes.fromhex("3031300d060960864801650304020105000420")


def rs256_verify(n, e, signing_input, sig):
    k = (n.bit_length() + 7) // 8
    if len(sig) != k:
        return False
    em = pow(int.from_bytes(sig, "big"), e, n).to_bytes(k, "big")
    t = _SHA256_DIGESTINFO + hashlib.sha256(signing_input).digest()
    expected = b"\x00\x01" + b"\xff" * (k - len(t) - 3) + b"\x00" + t
    return hmac.compare_digest(em, expected)


# ---------------------------------------------------------------- errors

class Reply(Exception):
    """An HTTP answer raised from deep inside a handler."""

    def __init__(self, status, body=None, headers=None, ctype="application/json; charset=utf-8"):
        self.status, self.body, self.headers, self.ctype = status, body, headers or {}, ctype


def svc_error(status, type_name, message):
    """The Actions service's .NET exception body (§3): typeName is what clients match on."""
    key = type_name.rsplit(".", 1)[-1].replace("Exception", "")
    return Reply(status, {"$id": "1", "innerException": None, "message": message,
                          "typeName": type_name, "typeKey": key, "errorCode": 0, "eventId": 3000})


def rest_error(status, message, doc="https://docs.github.com/rest"):
    return Reply(status, {"message": message, "documentation_url": doc, "status": str(status)})


UNAUTHORIZED = "Microsoft.VisualStudio.Services.Common.VssUnauthorizedException, Microsoft.VisualStudio.Services.Common"
T_SESSION_CONFLICT = "GitHub.Actions.Runtime.WebApi.RunnerScaleSetSessionConflictException"
T_SCALESET_NOT_FOUND = "GitHub.Actions.Runtime.WebApi.RunnerScaleSetNotFoundException"
T_SCALESET_EXISTS = "GitHub.Actions.Runtime.WebApi.RunnerScaleSetExistsException"
T_RUNNER_ADMIN = "GitHub.DistributedTask.WebApi.RunnerAdminException"
T_AGENT_EXISTS = "GitHub.DistributedTask.WebApi.AgentExistsException"
T_AGENT_NOT_FOUND = "GitHub.DistributedTask.WebApi.AgentNotFoundException"
T_JOB_RUNNING = "GitHub.DistributedTask.WebApi.JobStillRunningException"
T_GROUP_NOT_FOUND = "GitHub.DistributedTask.WebApi.TaskAgentPoolNotFoundException"
T_BAD_REQUEST = "System.ArgumentException"


# ---------------------------------------------------------------- state

STAT_KEYS = ("totalAvailableJobs", "totalAcquiredJobs", "totalAssignedJobs", "totalRunningJobs",
             "totalRegisteredRunners", "totalBusyRunners", "totalIdleRunners")


class State:
    """Everything the stand-in knows. One lock; `cond` wakes long polls and waiting runners."""

    def __init__(self, opt):
        self.opt = opt
        self.lock = threading.RLock()
        self.cond = threading.Condition(self.lock)
        self.secret = secrets.token_bytes(32)
        self.reset()

    def reset(self):
        o = self.opt
        self.tenants = {}           # config path (lower) -> {"id", "url"}
        self.installation_tokens = {}   # token -> {"expires", "installation"}
        self.expired_pats = set()       # PATs revoked with ghctl expire pat
        self.registration_tokens = {}   # token -> {"expires", "scope"}
        self.admin_epoch = 0        # bump to revoke every admin JWT issued so far
        self.groups = {1: {"id": 1, "name": "Default", "size": 0, "isDefaultGroup": True}}
        self.next_group = 2
        self.scalesets = {}
        self.next_scaleset = 1
        self.sessions = {}          # sid -> session record
        self.queue_tokens = {}      # token -> {"sid", "expires"}
        self.jobs = {}              # runnerRequestId -> job
        self.next_request = 100001
        self.next_message = o.first_message_id
        self.runners = {}           # id -> runner
        self.next_runner = 1001
        self.faults = []
        self.next_fault = 1
        self.journal = []
        self.seq = 0
        self.bom = False
        self.rest_calls = 0

    # ---- tenants and tokens
    def tenant_for(self, url):
        u = urllib.parse.urlsplit(url.strip("/"))
        key = u.path.strip("/").lower()
        t = self.tenants.get(key)
        if t is None:
            t = {"id": len(self.tenants) + 1, "url": url.strip("/"), "path": key}
            self.tenants[key] = t
        return t

    def make_admin_token(self, tenant):
        iat = int(now())
        header = {"alg": "HS256", "typ": "JWT"}
        payload = {"iss": "deskrun-github-standin", "aud": "actions", "nbf": iat, "iat": iat,
                   "exp": iat + int(self.opt.admin_token_ttl), "tid": tenant["id"],
                   "epoch": self.admin_epoch, "jti": uuid.uuid4().hex}
        signing = b64url(json.dumps(header, separators=(",", ":")).encode()) + "." + \
            b64url(json.dumps(payload, separators=(",", ":")).encode())
        sig = hmac.new(self.secret, signing.encode(), hashlib.sha256).digest()
        return signing + "." + b64url(sig)

    def check_admin_token(self, auth, tenant_id):
        if not auth.startswith("Bearer "):
            raise svc_error(401, UNAUTHORIZED, "TF400813: The user '' is not authorized to access this resource.")
        tok = auth[7:].strip()
        parts = tok.split(".")
        try:
            if len(parts) != 3:
                raise ValueError
            sig = hmac.new(self.secret, (parts[0] + "." + parts[1]).encode(), hashlib.sha256).digest()
            if not hmac.compare_digest(sig, b64url_decode(parts[2])):
                raise ValueError
            claims = json.loads(b64url_decode(parts[1]))
        except (ValueError, TypeError):
            raise svc_error(401, UNAUTHORIZED, "TF400813: The user '' is not authorized to access this resource.")
        if claims.get("exp", 0) <= now() or claims.get("epoch") != self.admin_epoch:
            raise svc_error(401, UNAUTHORIZED, "TF400813: The access token has expired.")
        if claims.get("tid") != tenant_id:
            raise svc_error(401, UNAUTHORIZED, "TF400813: The token is not valid for this tenant.")
        return claims

    def session_for_queue_token(self, auth):
        tok = auth[7:].strip() if auth.startswith("Bearer ") else ""
        rec = self.queue_tokens.get(tok)
        if rec is None or rec["expires"] <= now() or rec["sid"] not in self.sessions:
            raise Reply(401, "The message queue access token is expired or not valid.",
                        ctype="text/plain; charset=utf-8")
        return self.sessions[rec["sid"]]

    def new_queue_token(self, sess):
        for t in [t for t, r in self.queue_tokens.items() if r["sid"] == sess["sessionId"]]:
            del self.queue_tokens[t]
        tok = "mqt_" + secrets.token_urlsafe(24)
        self.queue_tokens[tok] = {"sid": sess["sessionId"], "expires": now() + self.opt.queue_token_ttl}
        sess["messageQueueAccessToken"] = tok

    # ---- scale sets
    def scaleset(self, ssid, tenant_id=None):
        s = self.scalesets.get(ssid)
        if s is None or (tenant_id is not None and s["tenant"] != tenant_id):
            return None
        return s

    def find_scaleset(self, ref):
        """A scale set by id or name (control API)."""
        if ref is None:
            return None
        if isinstance(ref, int) or str(ref).isdigit():
            return self.scalesets.get(int(ref))
        for s in sorted(self.scalesets.values(), key=lambda s: s["id"]):
            if s["name"].lower() == str(ref).lower():
                return s
        return None

    def stats(self, s):
        jobs = [j for j in self.jobs.values() if j["scaleSetId"] == s["id"]]
        runners = [r for r in self.runners.values() if r["scaleSetId"] == s["id"]
                   and r["status"] in ("registered", "online", "busy")]
        return {
            "totalAvailableJobs": sum(j["state"] == "available" for j in jobs),
            "totalAcquiredJobs": sum(j["state"] in ("assigned", "running") and j["acquired"] for j in jobs),
            "totalAssignedJobs": sum(j["state"] in ("assigned", "running") for j in jobs),
            "totalRunningJobs": sum(j["state"] == "running" for j in jobs),
            "totalRegisteredRunners": len(runners),
            "totalBusyRunners": sum(r["status"] == "busy" for r in runners),
            "totalIdleRunners": sum(r["status"] == "online" for r in runners),
        }

    def scaleset_view(self, s, with_stats=False):
        v = {k: s[k] for k in ("id", "name", "runnerGroupId", "runnerGroupName", "labels",
                               "RunnerSetting", "createdOn", "runnerJitConfigUrl")}
        if with_stats:
            v["statistics"] = self.stats(s)
        return v

    # ---- sessions
    def expire_idle_sessions(self):
        ttl = self.opt.session_ttl
        if ttl <= 0:
            return
        for sid, sess in list(self.sessions.items()):
            if now() - sess["lastSeen"] > ttl:
                self.drop_session(sid, "ttl")

    def drop_session(self, sid, why):
        sess = self.sessions.pop(sid, None)
        if sess is None:
            return
        for t in [t for t, r in self.queue_tokens.items() if r["sid"] == sid]:
            del self.queue_tokens[t]
        s = self.scalesets.get(sess["scaleSetId"])
        if s and s.get("session") == sid:
            s["session"] = None
        sess["ended"] = why
        self.cond.notify_all()

    def session_view(self, sess):
        s = self.scalesets[sess["scaleSetId"]]
        return {"sessionId": sess["sessionId"], "ownerName": sess["ownerName"],
                "runnerScaleSet": self.scaleset_view(s),
                "messageQueueUrl": sess["messageQueueUrl"],
                "messageQueueAccessToken": sess["messageQueueAccessToken"],
                "statistics": self.stats(s)}

    # ---- jobs and messages (§5)
    def job_message(self, j, mtype, **extra):
        m = {"messageType": mtype, "runnerRequestId": j["runnerRequestId"],
             "repositoryName": j["repositoryName"], "ownerName": j["ownerName"], "jobId": j["jobId"],
             "jobWorkflowRef": j["jobWorkflowRef"], "jobDisplayName": j["jobDisplayName"],
             "workflowRunId": j["workflowRunId"], "eventName": j["eventName"],
             "requestLabels": j["labels"], "queueTime": j["queueTime"]}
        for k in ("scaleSetAssignTime", "runnerAssignTime", "finishTime"):
            if j.get(k):
                m[k] = j[k]
        m.update(extra)
        return m

    def post(self, s, msg):
        s["pending"].append(msg)
        j = self.jobs.get(msg.get("runnerRequestId"))
        if j is not None:
            j["messages"].append(msg["messageType"])
        self.cond.notify_all()

    def capacity_left(self, s):
        busy = sum(j["state"] in ("assigned", "running") for j in self.jobs.values()
                   if j["scaleSetId"] == s["id"])
        return s["maxCapacity"] - busy

    def match(self, j):
        """The scale set a queued job goes to: the named one, else the first whose labels cover
        the job's (case-insensitive)."""
        if j["target"] is not None:
            return self.find_scaleset(j["target"])
        want = {l.lower() for l in j["labels"]}
        for s in sorted(self.scalesets.values(), key=lambda s: s["id"]):
            have = {l["name"].lower() for l in s["labels"]} | {s["name"].lower()}
            if want <= have:
                return s
        return None

    def pump(self):
        """Move queued jobs forward: match a scale set, then JobAvailable (acquire flow) or
        JobAssigned (assign flow, only while the set has capacity, §4.7 X-ScaleSetMaxCapacity)."""
        for j in sorted(self.jobs.values(), key=lambda j: j["runnerRequestId"]):
            if j["state"] != "queued":
                continue
            s = self.match(j)
            if s is None:
                continue
            j["scaleSetId"] = s["id"]
            if j["flow"] == "acquire":
                j["state"] = "available"
                self.post(s, self.job_message(j, "JobAvailable", acquireJobUrl=s["acquireJobUrl"]))
            elif self.capacity_left(s) > 0:
                self.assign(s, j)

    def assign(self, s, j):
        j["state"] = "assigned"
        j["scaleSetAssignTime"] = rfc3339()
        self.post(s, self.job_message(j, "JobAssigned"))

    def start(self, j, r):
        j["state"] = "running"
        j["runnerId"], j["runnerName"] = r["id"], r["name"]
        j["runnerAssignTime"] = rfc3339()
        r["status"], r["jobId"] = "busy", j["runnerRequestId"]
        s = self.scalesets.get(j["scaleSetId"])
        if s:
            self.post(s, self.job_message(j, "JobStarted", runnerId=r["id"], runnerName=r["name"]))

    def complete(self, j, result, requeue=False):
        j["finishTime"] = rfc3339()
        r = self.runners.get(j.get("runnerId") or 0)
        j["result"] = result
        j["state"] = "completed"
        s = self.scalesets.get(j["scaleSetId"]) if j["scaleSetId"] else None
        if s:
            self.post(s, self.job_message(j, "JobCompleted", result=result,
                                          runnerId=j.get("runnerId") or 0,
                                          runnerName=j.get("runnerName") or ""))
        if r is not None and r.get("jobId") == j["runnerRequestId"]:
            # an ephemeral JIT runner runs one job; the service then deregisters it (§8)
            r["status"], r["jobId"] = "finished", None
        if requeue:  # reassignment (§5.2): the job comes back as a new assignment
            j["reassigned"] += 1
            j.update(state="queued", result=None, runnerId=None, runnerName=None,
                     scaleSetAssignTime=None, runnerAssignTime=None, finishTime=None)
            if j["target"] is None and s:
                j["target"] = s["id"]
        self.pump()
        self.cond.notify_all()

    def next_envelope(self, s, last_id):
        for env in s["envelopes"]:
            if not env["acked"] and env["messageId"] > last_id:
                return env
        if not s["pending"] and not s["statsOnly"]:
            return None
        batch, s["pending"] = s["pending"][:50], s["pending"][50:]  # §5.1: at most 50
        body = json.dumps(batch, separators=(",", ":")) if batch else s["statsOnly"].pop(0)
        env = {"messageId": self.next_message, "messageType": "RunnerScaleSetJobMessages",
               "body": body, "statistics": self.stats(s), "acked": False, "created": rfc3339()}
        self.next_message += 1
        s["envelopes"].append(env)
        return env

    def dump(self):
        return {
            "tenants": list(self.tenants.values()),
            "groups": list(self.groups.values()),
            "scalesets": [dict(self.scaleset_view(s, True), tenant=s["tenant"], session=s["session"],
                               maxCapacity=s["maxCapacity"], pending=len(s["pending"]),
                               envelopes=[{k: e[k] for k in ("messageId", "acked", "body")}
                                          for e in s["envelopes"]])
                          for s in self.scalesets.values()],
            "sessions": [{k: v for k, v in sess.items()} for sess in self.sessions.values()],
            "jobs": [{k: v for k, v in j.items() if k != "target"} for j in self.jobs.values()],
            "runners": [{k: v for k, v in r.items() if k != "jitconfig"} for r in self.runners.values()],
            "faults": self.faults,
            "adminEpoch": self.admin_epoch,
            "journalLength": len(self.journal),
            "seq": self.seq,  # the last request number; journal entries after it are newer
        }


# ---------------------------------------------------------------- the HTTP handler

SVC_RE = re.compile(r"^/tenant/(\d+)(/.*)?$")


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "deskrun-github-standin/1"
    st = None  # State, set in main

    def log_message(self, *args):
        pass

    # ---- plumbing
    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return data
                data += self.rfile.read(size)
                self.rfile.readline()
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def json_body(self, required=True):
        try:
            return json.loads(self.body.decode("utf-8-sig")) if self.body.strip() else None
        except ValueError:
            if required:
                raise svc_error(400, T_BAD_REQUEST, "The request body is not valid JSON.")
            return None

    def send(self, status, body=None, headers=None, ctype="application/json; charset=utf-8"):
        if body is None or status in (202, 204):
            data = b""
        elif isinstance(body, (bytes, str)):
            data = body.encode() if isinstance(body, str) else body
        else:
            data = json.dumps(body).encode()
            if self.st.bom and self.kind == "svc" and ctype.startswith("application/json"):
                data = b"\xef\xbb\xbf" + data  # §3: the service sometimes sends a BOM
        self.send_response(status)
        if data:
            self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        given = {k.lower() for k in (headers or {})}
        if self.kind == "rest":
            self.send_header("X-GitHub-Request-Id", "%04X:%s" % (self.seq, uuid.uuid4().hex[:12].upper()))
            with self.st.lock:
                self.st.rest_calls += 1
                used = self.st.rest_calls
            for k, v in (("X-RateLimit-Limit", "5000"), ("X-RateLimit-Remaining", str(max(0, 5000 - used))),
                         ("X-RateLimit-Used", str(used)), ("X-RateLimit-Reset", str(int(now()) + 3600))):
                if k.lower() not in given:  # an injected rate limit sets its own
                    self.send_header(k, v)
        elif self.kind in ("svc", "queue"):
            self.send_header("ActivityId", str(uuid.uuid4()))
        for k, v in (headers or {}).items():
            self.send_header(k, str(v))
        self.end_headers()
        if data and self.command != "HEAD":
            self.wfile.write(data)
        self.status, self.resp = status, body

    def journal(self, t0, fault):
        if self.kind == "control":
            return
        body = None
        if self.body:
            try:
                body = json.loads(self.body.decode("utf-8-sig"))
            except ValueError:
                body = self.body[:4096].decode("utf-8", "replace")
        resp = self.resp
        if isinstance(resp, (bytes, str)) and len(resp) > 4096:
            resp = resp[:4096]
        entry = {"seq": self.seq, "time": rfc3339(t0), "ms": int((now() - t0) * 1000),
                 "method": self.command, "path": self.rawpath, "query": self.query,
                 "endpoint": self.endpoint, "status": self.status,
                 "authorization": self.headers.get("Authorization", ""),
                 "headers": dict(self.headers), "body": body, "response": resp, "fault": fault}
        line = json.dumps(entry, default=str)
        with self.st.lock:
            self.st.journal.append(entry)
            with open(self.server.journal_path, "a") as f:
                f.write(line + "\n")

    def handle_one_request(self):
        try:
            super().handle_one_request()
        except (ConnectionError, ssl.SSLError, socket.timeout, TimeoutError):
            self.close_connection = True

    def do_any(self):
        t0 = now()
        split = urllib.parse.urlsplit(self.path)
        self.rawpath = split.path
        path = re.sub(r"/{2,}", "/", split.path)  # §1.3: collapse // (legacy client)
        self.query = {k: v[-1] for k, v in urllib.parse.parse_qs(split.query, keep_blank_values=True).items()}
        self.body = self.read_body()
        self.status, self.resp, self.endpoint, fault = 0, None, "?", None
        self.kind = ("control" if path.startswith("/_standin/") else
                     "svc" if SVC_RE.match(path) else
                     "queue" if path.startswith("/scalesets/message") else "rest")
        with self.st.lock:
            self.st.seq += 1
            self.seq = self.st.seq
        try:
            if self.kind != "control":
                fault = self.apply_fault(path)
            if fault is None:
                self.route(path)
        except Reply as r:
            self.send(r.status, r.body, r.headers, r.ctype)
        except Exception:  # a bug in the stand-in: say so loudly, in the response and on stderr
            traceback.print_exc()
            try:
                self.send(500, {"message": "stand-in error: " + traceback.format_exc(limit=3)})
            except OSError:
                pass
        self.journal(t0, fault)

    do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = do_HEAD = do_any

    def apply_fault(self, path):
        """Injected failures (§3, §7): the first matching rule with uses left answers instead."""
        st = self.st
        with st.lock:
            rule = None
            for f in st.faults:
                if f["remaining"] == 0:
                    continue
                if f.get("method") and f["method"].upper() != self.command:
                    continue
                if f.get("path") and not re.search(f["path"], path):
                    continue
                if f.get("skip", 0) > 0:
                    f["skip"] -= 1
                    continue
                rule = f
                break
            if rule is None:
                return None
            if rule["remaining"] > 0:
                rule["remaining"] -= 1
            rule["hits"] += 1
        self.endpoint = "fault"
        if rule.get("delay"):
            time.sleep(rule["delay"])
        if rule.get("status") == 0:  # drop the connection without an answer
            self.status = 0
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return rule["id"]
        status = rule.get("status", 500)
        headers = dict(rule.get("headers") or {})
        if rule.get("retryAfter") is not None:
            headers["Retry-After"] = str(rule["retryAfter"])
        msg = rule.get("message") or {429: "API rate limit exceeded", 401: "Bad credentials",
                                      409: "conflict", 503: "Service Unavailable"}.get(status, "injected failure")
        if self.kind == "rest":
            if status in (403, 429) and rule.get("rateLimit", True):
                headers.setdefault("X-RateLimit-Remaining", "0")
                headers.setdefault("X-RateLimit-Reset", str(int(now()) + int(rule.get("retryAfter") or 60)))
            body = {"message": msg, "documentation_url": "https://docs.github.com/rest"}
        elif rule.get("typeName"):
            body = svc_error(status, rule["typeName"], msg).body
        elif self.kind == "queue" and status == 401:
            body = msg
        else:
            body = svc_error(status, rule.get("typeName") or "GitHub.Services.WebApi.VssServiceException", msg).body
        if isinstance(body, str):
            self.send(status, body, headers, ctype="text/plain; charset=utf-8")
        else:
            self.send(status, body, headers)
        return rule["id"]

    # ---- routing
    def route(self, path):
        if self.kind == "control":
            return self.control(path[len("/_standin"):])
        if self.kind == "queue":
            return self.queue(path)
        m = SVC_RE.match(path)
        if m:
            return self.svc(int(m.group(1)), m.group(2) or "/")
        if path == "/api/v3" or path.startswith("/api/v3/"):
            path = path[len("/api/v3"):] or "/"
        return self.rest(path)

    # ---- REST (§2)
    def bearer(self):
        auth = self.headers.get("Authorization", "")
        for scheme in ("Bearer ", "token "):
            if auth.startswith(scheme):
                return auth[len(scheme):].strip()
        return None

    def pat_ok(self, tok):
        if not tok:
            return False
        st = self.st
        rec = st.installation_tokens.get(tok)
        if rec is not None:
            return rec["expires"] > now()
        if tok in st.expired_pats:
            return False
        if st.opt.pat:
            return tok in st.opt.pat
        return tok.count(".") != 2  # any PAT-looking token when none is configured (§9.1)

    def app_jwt(self):
        """Check an App JWT (§2.2): RS256 over the App's key, iss = app or client ID, exp within
        10 minutes and not passed, iat not in the future."""
        opt, tok = self.st.opt, self.bearer()
        if not tok or tok.count(".") != 2:
            raise rest_error(401, "A JSON web token could not be decoded")
        h, p, s = tok.split(".")
        try:
            header, claims = json.loads(b64url_decode(h)), json.loads(b64url_decode(p))
            sig = b64url_decode(s)
        except ValueError:
            raise rest_error(401, "A JSON web token could not be decoded")
        if header.get("alg") != "RS256":
            raise rest_error(401, "'alg' must be RS256")
        if self.server.app_key is None or not rs256_verify(*self.server.app_key, (h + "." + p).encode(), sig):
            raise rest_error(401, "A JSON web token could not be decoded")
        t = now()
        if str(claims.get("iss")) not in {opt.app_id, opt.app_client_id} - {None, ""}:
            raise rest_error(401, "'Issuer' claim ('iss') must match the app's ID or client ID")
        if not isinstance(claims.get("exp"), (int, float)) or claims["exp"] <= t:
            raise rest_error(401, "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires")
        if claims["exp"] > t + 600 + 30:
            raise rest_error(401, "'Expiration time' claim ('exp') is too far in the future")
        if not isinstance(claims.get("iat"), (int, float)) or claims["iat"] > t + 60:
            raise rest_error(401, "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued")
        self.jwt_claims = claims
        return claims

    def rest(self, path):
        st, cmd = self.st, self.command
        m = re.fullmatch(r"/app/installations/(\d+)(/access_tokens)?", path)
        if m:
            self.endpoint = "app-access-token" if m.group(2) else "app-installation"
            if (cmd, bool(m.group(2))) not in (("GET", False), ("POST", True)):
                raise rest_error(404, "Not Found")
            self.app_jwt()
            if m.group(1) != str(st.opt.installation_id):
                raise rest_error(404, "Not Found",
                                 "https://docs.github.com/rest/apps/apps#get-an-installation-for-the-authenticated-app")
            if not m.group(2):
                return self.send(200, {"id": int(m.group(1)), "app_id": int(st.opt.app_id or 0),
                                       "account": {"login": st.opt.owner or "acme", "type": "Organization"},
                                       "target_type": "Organization",
                                       "permissions": {"administration": "write", "organization_self_hosted_runners": "write"}})
            with st.lock:
                tok = "ghs_" + secrets.token_urlsafe(27).replace("-", "a").replace("_", "b")[:36]
                exp = now() + st.opt.installation_token_ttl
                st.installation_tokens[tok] = {"expires": exp, "installation": int(m.group(1))}
            return self.send(201, {"token": tok, "expires_at": rfc3339(exp).split(".")[0] + "Z",
                                   "permissions": {"administration": "write"},
                                   "repository_selection": "all"})
        m = re.fullmatch(r"/(orgs/[^/]+|repos/[^/]+/[^/]+|enterprises/[^/]+)/actions/runners/registration-token", path)
        if m:
            self.endpoint = "registration-token"
            if cmd != "POST":
                raise rest_error(404, "Not Found")
            with st.lock:
                if not self.pat_ok(self.bearer()):
                    raise rest_error(401, "Bad credentials")
                scope = m.group(1)
                owner = scope.split("/")[1]
                if st.opt.owner and owner.lower() != st.opt.owner.lower():
                    raise rest_error(404, "Not Found")
                tok = "A" + "".join(secrets.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") for _ in range(28))
                exp = now() + st.opt.reg_token_ttl
                st.registration_tokens[tok] = {"expires": exp, "scope": scope}
            return self.send(201, {"token": tok, "expires_at": rfc3339(exp).split(".")[0] + "Z"})
        if path == "/actions/runner-registration":
            self.endpoint = "runner-registration"
            if cmd != "POST":
                raise rest_error(404, "Not Found")
            auth = self.headers.get("Authorization", "")
            with st.lock:
                rec = st.registration_tokens.get(auth[len("RemoteAuth "):].strip()) \
                    if auth.startswith("RemoteAuth ") else None
                if rec is None or rec["expires"] <= now():
                    raise rest_error(401, "Bad credentials")
                body = self.json_body(required=False) or {}
                url = body.get("url") if isinstance(body, dict) else None
                if not url or body.get("runner_event") != "register":
                    raise rest_error(422, "Invalid request: 'url' and 'runner_event' are required")
                parts = urllib.parse.urlsplit(url.strip("/")).path.strip("/").split("/")
                if not (len(parts) == 1 and parts[0]) and len(parts) != 2:
                    raise rest_error(422, "Invalid config URL")
                tenant = st.tenant_for(url)
                tok = st.make_admin_token(tenant)
            return self.send(200, {"url": "%s/tenant/%d/" % (self.server.public_url, tenant["id"]),
                                   "token": tok, "token_schema": "OAuthAccessToken"})
        if path == "/" and cmd == "GET":
            self.endpoint = "api-root"
            tok = self.bearer()
            with st.lock:
                ok = self.pat_ok(tok)
            if not ok:
                raise rest_error(401, "Bad credentials")
            if tok.startswith("github_pat_") or tok.startswith("ghs_"):
                return self.send(200, {"current_user_url": self.server.public_url + "/api/v3/user"})
            return self.send(200, {"current_user_url": self.server.public_url + "/api/v3/user"},
                             {"X-OAuth-Scopes": st.opt.pat_scopes, "X-Accepted-OAuth-Scopes": ""})
        self.endpoint = "rest-unknown"
        raise rest_error(404, "Not Found")

    # ---- the Actions service (§4)
    def svc(self, tenant_id, path):
        st, cmd, q = self.st, self.command, self.query
        with st.lock:
            if not any(t["id"] == tenant_id for t in st.tenants.values()):
                raise svc_error(404, "GitHub.Services.WebApi.VssServiceException", "Unknown tenant.")
            m = re.fullmatch(r"/_apis/runtime/runnerscalesets/(\d+)/acquirejobs/?", path)
            if m and cmd == "POST":  # authenticated with the queue token (§4.9)
                self.endpoint = "acquire-jobs"
                sess = st.session_for_queue_token(self.headers.get("Authorization", ""))
                if sess["scaleSetId"] != int(m.group(1)):
                    raise svc_error(403, UNAUTHORIZED, "The session does not belong to this scale set.")
                return self.acquire(st.scalesets[int(m.group(1))])
            st.check_admin_token(self.headers.get("Authorization", ""), tenant_id)
            return self.svc_admin(tenant_id, path.rstrip("/") or "/", cmd, q)

    def svc_admin(self, tid, path, cmd, q):
        st = self.st
        if path == "/_apis/runtime/runnergroups" and cmd == "GET":  # §4.1
            self.endpoint = "runner-groups"
            name = q.get("groupName")
            groups = [g for g in st.groups.values() if name is None or g["name"].lower() == name.lower()]
            return self.send(200, {"count": len(groups), "value": groups})
        if path == "/_apis/runtime/runnerscalesets":
            if cmd == "GET":  # §4.2
                self.endpoint = "list-scalesets"
                found = [s for s in st.scalesets.values() if s["tenant"] == tid
                         and (q.get("name") is None or s["name"].lower() == q["name"].lower())
                         and (not q.get("runnerGroupId") or str(s["runnerGroupId"]) == q["runnerGroupId"])]
                return self.send(200, {"count": len(found), "value": [st.scaleset_view(s, True) for s in found]})
            if cmd == "POST":  # §4.4
                self.endpoint = "create-scaleset"
                return self.create_scaleset(tid, self.json_body())
        m = re.fullmatch(r"/_apis/runtime/runnerscalesets/(\d+)(?:/(\w+)(?:/([^/]+))?)?", path)
        if m:
            ssid, sub, arg = int(m.group(1)), m.group(2), m.group(3)
            s = st.scaleset(ssid, tid)
            if s is None:
                self.endpoint = {None: "scaleset", "sessions": "create-session"}.get(sub, sub or "scaleset")
                raise svc_error(404, T_SCALESET_NOT_FOUND, "Runner scale set %d not found." % ssid)
            if sub is None:
                if cmd == "GET":  # §4.3
                    self.endpoint = "get-scaleset"
                    return self.send(200, st.scaleset_view(s, True))
                if cmd == "PATCH":  # §4.5
                    self.endpoint = "update-scaleset"
                    return self.update_scaleset(s, self.json_body())
                if cmd == "DELETE":  # §4.5b
                    self.endpoint = "delete-scaleset"
                    return self.delete_scaleset(s)
            if sub == "sessions":
                if arg is None and cmd == "POST":
                    self.endpoint = "create-session"
                    return self.create_session(s, self.json_body(required=False) or {})
                if arg is not None and cmd in ("PATCH", "DELETE"):
                    self.endpoint = "refresh-session" if cmd == "PATCH" else "delete-session"
                    sess = st.sessions.get(arg.lower())
                    if sess is None or sess["scaleSetId"] != s["id"]:
                        raise svc_error(404, T_RUNNER_ADMIN, "The session ID %s doesn't exist." % arg)
                    if cmd == "DELETE":
                        st.drop_session(sess["sessionId"], "deleted")
                        return self.send(204)
                    st.new_queue_token(sess)  # §4.6: the refresh repeats the whole session
                    sess["lastSeen"] = now()
                    sess["refreshes"] += 1
                    return self.send(200, st.session_view(sess))
            if sub == "acquirablejobs" and cmd == "GET":  # §4.10
                self.endpoint = "acquirable-jobs"
                av = [st.job_message(j, "JobAvailable", acquireJobUrl=s["acquireJobUrl"])
                      for j in st.jobs.values() if j["scaleSetId"] == s["id"] and j["state"] == "available"]
                if not av:
                    return self.send(204)
                return self.send(200, {"count": len(av), "value": av})
            if sub == "generatejitconfig" and cmd == "POST":  # §4.11
                self.endpoint = "generate-jitconfig"
                return self.jitconfig(s, self.json_body())
        if path == "/_apis/distributedtask/pools/0/agents" and cmd == "GET":  # §4.13
            self.endpoint = "runners-by-name"
            name = q.get("agentName", "")
            found = [self.runner_ref(r) for r in st.runners.values()
                     if r["name"].lower() == name.lower() and r["status"] in ("registered", "online", "busy")]
            return self.send(200, {"count": len(found), "value": found})
        m = re.fullmatch(r"/_apis/distributedtask/pools/0/agents/(\d+)", path)
        if m:
            r = st.runners.get(int(m.group(1)))
            live = r is not None and r["status"] in ("registered", "online", "busy")
            if cmd == "GET":  # §4.12
                self.endpoint = "get-runner"
                if not live:
                    raise svc_error(404, T_AGENT_NOT_FOUND, "Agent %s not found." % m.group(1))
                return self.send(200, self.runner_ref(r))
            if cmd == "DELETE":  # §4.14: 204 also when it is already gone
                self.endpoint = "delete-runner"
                if live and r["status"] == "busy":
                    raise svc_error(400, T_JOB_RUNNING, "Agent %d is running job %s and cannot be removed."
                                    % (r["id"], st.jobs[r["jobId"]]["jobId"]))
                if live:
                    r["status"] = "deleted"
                    st.cond.notify_all()
                return self.send(204)
        self.endpoint = "svc-unknown"
        raise svc_error(404, "GitHub.Services.WebApi.VssResourceNotFoundException",
                        "API resource %s %s not found." % (cmd, path))

    def runner_ref(self, r):
        return {"id": r["id"], "name": r["name"], "runnerScaleSetId": r["scaleSetId"]}

    @staticmethod
    def field(obj, name):
        """Go decodes keys case-insensitively (§3); so does this."""
        for k, v in (obj or {}).items():
            if k.lower() == name.lower():
                return v
        return None

    def create_scaleset(self, tid, body):
        st, f = self.st, self.field
        if not isinstance(body, dict) or not f(body, "name"):
            raise svc_error(400, T_BAD_REQUEST, "A runner scale set needs a name.")
        name, gid = f(body, "name"), f(body, "runnerGroupId") or 1
        group = st.groups.get(gid)
        if group is None:
            raise svc_error(404, T_GROUP_NOT_FOUND, "Runner group %s not found." % gid)
        for s in st.scalesets.values():
            if s["tenant"] == tid and s["runnerGroupId"] == gid and s["name"].lower() == name.lower():
                raise svc_error(409, T_SCALESET_EXISTS,
                                "A runner scale set named %s already exists in runner group %s." % (name, group["name"]))
        labels = [{"type": l.get("type") or "System", "name": l.get("name")}
                  for l in (f(body, "labels") or []) if isinstance(l, dict) and l.get("name")]
        if not labels:
            labels = [{"type": "System", "name": name}]
        ssid = st.next_scaleset
        st.next_scaleset += 1
        svc = "%s/tenant/%d/" % (self.server.public_url, tid)
        s = {"id": ssid, "name": name, "runnerGroupId": gid, "runnerGroupName": group["name"],
             "labels": labels, "RunnerSetting": dict(f(body, "RunnerSetting") or {}),
             "createdOn": rfc3339(),
             "runnerJitConfigUrl": svc + "_apis/runtime/runnerscalesets/%d/generatejitconfig" % ssid,
             "acquireJobUrl": svc + "_apis/runtime/runnerscalesets/%d/acquirejobs" % ssid,
             "tenant": tid, "session": None, "pending": [], "statsOnly": [], "envelopes": [],
             "maxCapacity": INT32_MAX}
        st.scalesets[ssid] = s
        group["size"] += 1
        st.pump()  # jobs queued for these labels before the set existed
        return self.send(200, st.scaleset_view(s, True))

    def update_scaleset(self, s, body):
        """§4.5: partial; zero and absent fields are ignored, labels are never cleared."""
        st, f = self.st, self.field
        body = body if isinstance(body, dict) else {}
        if f(body, "name"):
            s["name"] = f(body, "name")
        gid = f(body, "runnerGroupId")
        if gid:
            group = st.groups.get(gid)
            if group is None:
                raise svc_error(404, T_GROUP_NOT_FOUND, "Runner group %s not found." % gid)
            st.groups[s["runnerGroupId"]]["size"] -= 1
            s["runnerGroupId"], s["runnerGroupName"] = gid, group["name"]
            group["size"] += 1
        labels = [{"type": l.get("type") or "System", "name": l.get("name")}
                  for l in (f(body, "labels") or []) if isinstance(l, dict) and l.get("name")]
        if labels:
            s["labels"] = labels
        rs = f(body, "RunnerSetting")
        if isinstance(rs, dict):
            s["RunnerSetting"].update({k: v for k, v in rs.items() if v})
        return self.send(200, st.scaleset_view(s, True))

    def delete_scaleset(self, s):
        st = self.st
        if s["session"]:
            st.drop_session(s["session"], "scale set deleted")
        for r in st.runners.values():  # not confirmed upstream (§10); the stand-in drops them
            if r["scaleSetId"] == s["id"] and r["status"] in ("registered", "online"):
                r["status"] = "deleted"
        st.groups[s["runnerGroupId"]]["size"] -= 1
        del st.scalesets[s["id"]]
        st.cond.notify_all()
        return self.send(204)

    def create_session(self, s, body):
        st = self.st
        st.expire_idle_sessions()
        owner = self.field(body, "ownerName") or ""
        if s["session"]:  # §7.1: one session per scale set
            other = st.sessions[s["session"]]
            raise svc_error(409, T_SESSION_CONFLICT,
                            "The scale set %s already has an active session for owner %s."
                            % (s["name"], other["ownerName"]))
        sid = str(uuid.uuid4())
        sess = {"sessionId": sid, "ownerName": owner, "scaleSetId": s["id"],
                "messageQueueUrl": self.server.public_url + "/scalesets/message",
                "messageQueueAccessToken": None, "created": rfc3339(), "lastSeen": now(),
                "refreshes": 0, "polls": 0}
        st.sessions[sid] = sess
        st.new_queue_token(sess)
        s["session"] = sid
        return self.send(200, st.session_view(sess))

    def acquire(self, s):
        st = self.st
        ids = self.json_body()
        if not isinstance(ids, list) or not all(isinstance(i, int) for i in ids):
            raise svc_error(400, T_BAD_REQUEST, "The body must be a JSON array of runner request IDs.")
        got = []
        for i in ids:
            j = st.jobs.get(i)
            if j and j["scaleSetId"] == s["id"] and j["state"] == "available":
                j["acquired"] = True
                got.append(i)
                st.assign(s, j)  # the acquired job is then assigned to the set (§9.2 step 9)
        return self.send(200, {"count": len(got), "value": got})

    def jitconfig(self, s, body):
        st = self.st
        name = self.field(body, "name") if isinstance(body, dict) else None
        if not name:
            raise svc_error(400, T_BAD_REQUEST, "A runner name is required.")
        for r in st.runners.values():
            if r["name"].lower() == name.lower() and r["status"] in ("registered", "online", "busy"):
                raise svc_error(409, T_AGENT_EXISTS,
                                "A runner exists with the same name %s." % name)
        rid = st.next_runner
        st.next_runner += 1
        work = self.field(body, "workFolder") or "_work"
        svc = "%s/tenant/%d/" % (self.server.public_url, s["tenant"])
        tenant = next(t for t in st.tenants.values() if t["id"] == s["tenant"])
        settings = {"AgentId": rid, "AgentName": name, "PoolId": s["runnerGroupId"],
                    "PoolName": s["runnerGroupName"], "ServerUrl": svc, "GitHubUrl": tenant["url"],
                    "WorkFolder": work, "Ephemeral": True,
                    "DisableUpdate": bool(s["RunnerSetting"].get("disableUpdate")),
                    "UseV2Flow": True, "ServerUrlV2": self.server.public_url + "/",
                    "RunnerScaleSetId": s["id"]}
        creds = {"Scheme": "OAuth", "Data": {"clientId": str(uuid.uuid4()),
                                             "authorizationUrl": self.server.public_url + "/_apis/oauth2/token",
                                             "requireFipsCryptography": "False"}}
        rsa = {k: base64.b64encode(secrets.token_bytes(n)).decode() for k, n in
               (("d", 256), ("dp", 128), ("dq", 128), ("exponent", 3), ("inverseQ", 128),
                ("modulus", 256), ("p", 128), ("q", 128))}
        token = secrets.token_urlsafe(24)
        standin = {"controlUrl": self.server.public_url + "/_standin", "runnerId": rid,
                   "runnerToken": token, "scaleSetId": s["id"]}
        files = {".runner": settings, ".credentials": creds, ".credentials_rsaparams": rsa,
                 ".standin": standin}
        blob = base64.b64encode(json.dumps(
            {k: base64.b64encode(json.dumps(v, indent=2).encode()).decode() for k, v in files.items()}
        ).encode()).decode()  # §8: base64 of JSON {file: base64(content)}
        st.runners[rid] = {"id": rid, "name": name, "scaleSetId": s["id"], "status": "registered",
                           "jobId": None, "workFolder": work, "createdOn": rfc3339(),
                           "token": token, "jitconfig": blob, "reports": []}
        return self.send(200, {"runner": {"id": rid, "name": name, "runnerScaleSetId": s["id"]},
                               "encodedJITConfig": blob})

    # ---- the message queue (§4.7, §4.8)
    def queue(self, path):
        st = self.st
        m = re.fullmatch(r"/scalesets/message(?:/(\d+))?/?", path)
        if not m:
            self.endpoint = "queue-unknown"
            raise Reply(404, "Not found", ctype="text/plain; charset=utf-8")
        auth = self.headers.get("Authorization", "")
        if m.group(1) is not None:
            self.endpoint = "delete-message"
            if self.command != "DELETE":
                raise Reply(405, "Method not allowed", ctype="text/plain; charset=utf-8")
            with st.lock:
                sess = st.session_for_queue_token(auth)
                s = st.scalesets[sess["scaleSetId"]]
                mid = int(m.group(1))
                env = next((e for e in s["envelopes"] if e["messageId"] == mid), None)
                if env is None:
                    raise svc_error(404, "GitHub.Services.WebApi.VssServiceException",
                                    "Message %d not found." % mid)
                env["acked"] = True
                sess["lastSeen"] = now()
            return self.send(204)
        self.endpoint = "get-message"
        if self.command != "GET":
            raise Reply(405, "Method not allowed", ctype="text/plain; charset=utf-8")
        try:
            last = int(self.query.get("lastMessageId") or 0)
        except ValueError:
            raise svc_error(400, T_BAD_REQUEST, "lastMessageId must be a number.")
        deadline = now() + st.opt.poll_hold
        with st.lock:
            sess = st.session_for_queue_token(auth)
            sid = sess["sessionId"]
            s = st.scalesets[sess["scaleSetId"]]
            sess["polls"] += 1
            cap = self.headers.get("X-ScaleSetMaxCapacity")
            if cap is not None:
                try:
                    s["maxCapacity"] = max(0, int(cap))
                except ValueError:
                    raise svc_error(400, T_BAD_REQUEST, "X-ScaleSetMaxCapacity must be a number.")
                st.pump()
            while True:
                sess["lastSeen"] = now()
                if st.sessions.get(sid) is not sess:  # deleted or evicted while waiting
                    raise Reply(401, "The message session has ended.", ctype="text/plain; charset=utf-8")
                env = st.next_envelope(s, last)
                if env is not None:
                    out = {k: env[k] for k in ("messageId", "messageType", "body")}
                    out["statistics"] = env["statistics"]
                    return self.send(200, out)
                left = deadline - now()
                if left <= 0:
                    return self.send(202)
                st.cond.wait(min(left, 1.0))

    # ---- the control API (ghctl.py; not part of GitHub)
    def control(self, path):
        st, cmd = self.st, self.command
        self.endpoint = "control"
        body = self.json_body(required=False) or {}
        with st.lock:
            if path == "/state" and cmd == "GET":
                return self.send(200, st.dump())
            if path == "/journal" and cmd == "GET":
                since = int(self.query.get("since") or 0)
                # in arrival order (seq); the file has them in the order the answers went out
                return self.send(200, sorted((e for e in st.journal if e["seq"] > since), key=lambda e: e["seq"]))
            if path == "/reset" and cmd == "POST":
                st.reset()
                st.cond.notify_all()
                return self.send(200, {"reset": True})
            if path == "/config" and cmd == "POST":
                for k in ("poll_hold", "admin_token_ttl", "queue_token_ttl", "reg_token_ttl",
                          "installation_token_ttl", "session_ttl"):
                    if k in body:
                        setattr(st.opt, k, float(body[k]))
                if "bom" in body:
                    st.bom = bool(body["bom"])
                if "flow" in body:
                    st.opt.flow = body["flow"]
                return self.send(200, {k: v for k, v in vars(st.opt).items() if k not in ("pat",)})
            if path == "/groups" and cmd == "POST":
                gid = st.next_group
                st.next_group += 1
                st.groups[gid] = {"id": gid, "name": body["name"], "size": 0, "isDefaultGroup": False}
                return self.send(200, st.groups[gid])
            if path == "/jobs" and cmd == "GET":
                return self.send(200, [j for j in st.jobs.values()
                                       if not self.query.get("state") or j["state"] == self.query["state"]])
            if path == "/jobs" and cmd == "POST":
                return self.send(200, self.queue_job(body))
            m = re.fullmatch(r"/jobs/(\d+)(?:/(complete|cancel))?", path)
            if m:
                j = st.jobs.get(int(m.group(1)))
                if j is None:
                    raise Reply(404, {"error": "no job %s" % m.group(1)})
                if m.group(2) and cmd == "POST":
                    if j["state"] == "completed":
                        raise Reply(409, {"error": "job %d already completed" % j["runnerRequestId"]})
                    result = "canceled" if m.group(2) == "cancel" else body.get("result", "succeeded")
                    st.complete(j, result, requeue=bool(body.get("requeue")))
                return self.send(200, j)
            m = re.fullmatch(r"/runners/(\d+)(?:/(online|busy|finish|offline))?", path)
            if m:
                return self.runner_report(int(m.group(1)), m.group(2), body)
            m = re.fullmatch(r"/scalesets/([^/]+)/(statistics|evict-session|phantom-session)", path)
            if m and cmd == "POST":
                s = st.find_scaleset(m.group(1))
                if s is None:
                    raise Reply(404, {"error": "no scale set %s" % m.group(1)})
                if m.group(2) == "statistics":  # a message with statistics and no job messages
                    s["statsOnly"].append(body.get("body", ""))
                    st.cond.notify_all()
                    return self.send(200, st.stats(s))
                if m.group(2) == "evict-session":
                    if s["session"]:
                        st.drop_session(s["session"], "evicted")
                    return self.send(200, {"evicted": True})
                # phantom-session: another listener holds the set (the 409 of §7.1)
                if s["session"] is None:
                    sid = str(uuid.uuid4())
                    sess = {"sessionId": sid, "ownerName": body.get("owner", "other-listener"),
                            "scaleSetId": s["id"], "messageQueueUrl": self.server.public_url + "/scalesets/message",
                            "messageQueueAccessToken": None, "created": rfc3339(), "lastSeen": now(),
                            "refreshes": 0, "polls": 0}
                    st.sessions[sid] = sess
                    st.new_queue_token(sess)
                    s["session"] = sid
                return self.send(200, st.sessions[s["session"]])
            if path == "/expire" and cmd == "POST":
                return self.send(200, self.expire(body.get("kind", "all"), body.get("token")))
            if path == "/faults" and cmd == "GET":
                return self.send(200, st.faults)
            if path == "/faults" and cmd == "DELETE":
                st.faults = []
                return self.send(200, [])
            if path == "/faults" and cmd == "POST":
                rule = {"id": st.next_fault, "method": body.get("method"), "path": body.get("path"),
                        "status": int(body.get("status", 500)), "remaining": int(body.get("times", 1)),
                        "skip": int(body.get("skip", 0)), "retryAfter": body.get("retryAfter"),
                        "typeName": body.get("typeName"), "message": body.get("message"),
                        "delay": float(body.get("delay", 0)), "headers": body.get("headers") or {},
                        "rateLimit": body.get("rateLimit", True), "hits": 0}
                if rule["remaining"] == 0:
                    rule["remaining"] = -1  # forever
                st.next_fault += 1
                st.faults.append(rule)
                return self.send(200, rule)
        raise Reply(404, {"error": "unknown control call %s %s" % (cmd, path)})

    def queue_job(self, body):
        st = self.st
        rid = st.next_request
        st.next_request += 1
        target = body.get("scaleSet")
        if target is not None and st.find_scaleset(target) is None:
            raise Reply(404, {"error": "no scale set %s" % target})
        if target is not None:
            target = st.find_scaleset(target)["id"]
        labels = body.get("labels") or []
        if isinstance(labels, str):
            labels = [l for l in labels.split(",") if l]
        if not labels and target is not None:
            labels = [st.scalesets[target]["name"]]
        repo = body.get("repository", "acme/app")
        owner, _, name = repo.partition("/")
        flow = body.get("flow") or st.opt.flow
        if flow not in ("acquire", "assign"):
            raise Reply(400, {"error": "flow must be acquire or assign"})
        j = {"runnerRequestId": rid, "jobId": str(uuid.uuid4()), "state": "queued", "flow": flow,
             "labels": labels, "target": target, "scaleSetId": None, "acquired": False,
             "repositoryName": name or "app", "ownerName": owner,
             "jobWorkflowRef": body.get("workflowRef", "%s/.github/workflows/ci.yml@refs/heads/main" % repo),
             "jobDisplayName": body.get("displayName", "build"), "workflowRunId": rid * 10 + 7,
             "eventName": body.get("eventName", "push"), "queueTime": rfc3339(),
             "scaleSetAssignTime": None, "runnerAssignTime": None, "finishTime": None,
             "runnerId": None, "runnerName": None, "result": None, "reassigned": 0, "messages": []}
        st.jobs[rid] = j
        st.pump()
        return j

    def runner_report(self, rid, what, body):
        """What a runner stand-in reports (the real runner talks to the broker, §8)."""
        st = self.st
        r = st.runners.get(rid)
        if r is None:
            raise Reply(404, {"error": "no runner %d" % rid})
        if what is None:
            return self.send(200, {k: v for k, v in r.items() if k != "jitconfig"})
        r["reports"].append(what)
        if r["status"] in ("deleted", "finished", "offline"):
            raise Reply(410, {"error": "runner %d is %s" % (rid, r["status"]), "status": r["status"]})
        if what == "online":
            if r["status"] == "registered":
                r["status"] = "online"
                r["onlineAt"] = rfc3339()
            st.cond.notify_all()
            return self.send(200, {"id": rid, "status": r["status"]})
        if what == "offline":  # died before (or instead of) running a job
            if r["jobId"]:
                st.complete(st.jobs[r["jobId"]], "failed")
            r["status"] = "offline"
            st.cond.notify_all()
            return self.send(200, {"id": rid, "status": "offline"})
        if what == "busy":  # take a job: the named one, else the oldest assigned one of the set
            if r["status"] == "busy":
                return self.send(200, st.jobs[r["jobId"]])
            deadline = now() + float(body.get("wait", 0))
            while True:
                cands = [j for j in sorted(st.jobs.values(), key=lambda j: j["runnerRequestId"])
                         if j["state"] == "assigned" and j["scaleSetId"] == r["scaleSetId"]
                         and (body.get("job") is None or j["runnerRequestId"] == int(body["job"]))]
                if cands:
                    st.start(cands[0], r)
                    return self.send(200, cands[0])
                left = deadline - now()
                if left <= 0 or r["status"] not in ("registered", "online"):
                    return self.send(204)
                st.cond.wait(min(left, 1.0))
        if what == "finish":
            if r["status"] != "busy":
                raise Reply(409, {"error": "runner %d has no job" % rid})
            j = st.jobs[r["jobId"]]
            st.complete(j, body.get("result", "succeeded"))
            return self.send(200, j)

    def expire(self, kind, token=None):
        """Make tokens stop working now, so clients must refresh (§2.5, §7.2)."""
        st, done = self.st, []
        if kind in ("admin", "all"):
            st.admin_epoch += 1
            done.append("admin")
        if kind in ("queue", "all"):
            for t, r in st.queue_tokens.items():
                if token is None or t == token:
                    r["expires"] = 0
            done.append("queue")
        if kind in ("registration", "all"):
            for r in st.registration_tokens.values():
                r["expires"] = 0
            done.append("registration")
        if kind in ("installation", "all"):
            for r in st.installation_tokens.values():
                r["expires"] = 0
            done.append("installation")
        if kind == "pat":
            st.expired_pats.add(token)
            done.append("pat")
        if not done:
            raise Reply(400, {"error": "kind must be admin, queue, registration, installation, pat or all"})
        return {"expired": done}


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64


def make_cert(d, sans):
    cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
    alt = ",".join(["IP:127.0.0.1", "DNS:localhost"] + list(sans))
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                    "-out", cert, "-days", "7", "-subj", "/CN=deskrun-github-standin",
                    "-addext", "subjectAltName=" + alt], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return cert, key


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dir", required=True)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--public-url", default="")
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--san", action="append", default=[])
    ap.add_argument("--no-tls", action="store_true")
    ap.add_argument("--pat", action="append", default=[])
    ap.add_argument("--pat-scopes", default="repo, workflow, admin:org")
    ap.add_argument("--owner", default="")
    ap.add_argument("--app-id", default="")
    ap.add_argument("--app-client-id", default="")
    ap.add_argument("--installation-id", default="42")
    ap.add_argument("--app-key")
    ap.add_argument("--poll-hold", type=float, default=50.0)
    ap.add_argument("--admin-token-ttl", type=float, default=3600.0)
    ap.add_argument("--queue-token-ttl", type=float, default=3000.0)
    ap.add_argument("--reg-token-ttl", type=float, default=3600.0)
    ap.add_argument("--installation-token-ttl", type=float, default=3600.0)
    ap.add_argument("--session-ttl", type=float, default=0.0)
    ap.add_argument("--flow", choices=("acquire", "assign"), default="acquire")
    ap.add_argument("--first-message-id", type=int, default=2147483649)
    ap.add_argument("--journal")
    opt = ap.parse_args()
    os.makedirs(opt.dir, exist_ok=True)

    st = State(opt)
    Handler.st = st
    srv = Server((opt.host, opt.port), Handler)
    srv.journal_path = opt.journal or os.path.join(opt.dir, "journal.jsonl")
    open(srv.journal_path, "w").close()
    srv.app_key = None
    if opt.app_key:
        with open(opt.app_key) as f:
            srv.app_key = rsa_public_numbers(f.read())
    port = srv.server_address[1]
    scheme = "http" if opt.no_tls else "https"
    host = opt.host if ":" not in opt.host else "[%s]" % opt.host
    srv.public_url = (opt.public_url or "%s://%s:%d" % (scheme, host, port)).rstrip("/")
    if not opt.no_tls:
        cert, key = (opt.cert, opt.key) if opt.cert else make_cert(opt.dir, opt.san)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        ctx.set_alpn_protocols(["http/1.1"])
        # the handshake happens in the request's thread, so one stuck client blocks nobody
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True, do_handshake_on_connect=False)
    for name, val in (("url", srv.public_url), ("port", str(port))):
        tmp = os.path.join(opt.dir, name + ".tmp")
        with open(tmp, "w") as f:
            f.write(val + "\n")
        os.rename(tmp, os.path.join(opt.dir, name))
    print("github stand-in on %s" % srv.public_url, file=sys.stderr, flush=True)
    try:
        srv.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
