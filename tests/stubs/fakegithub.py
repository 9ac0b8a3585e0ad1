#!/usr/bin/python3
"""A loopback stand-in for GitHub's REST API over HTTPS, answering with the documented shapes.

fakegithub.py --cert C --key K --dir D [--scopes "repo, workflow"] [--token T] [--fine-token F]
              [--installation ID]
Listens on 127.0.0.1 (a free port, written to D/port), records every request as a JSON line in
D/requests.jsonl ({path, authorization, headers}) and answers:
  GET <root>/                      200 with X-OAuth-Scopes: <scopes> for --token, 200 without the
                                   header for --fine-token (a fine-grained token), else 401
  GET <root>/app/installations/ID  200 {id, account: {login}} for --installation with a Bearer
                                   JWT, 404 for another ID, 401 without a JWT. The JWT is kept in
                                   D/jwt for the test to verify with openssl.
"""
import argparse
import http.server
import json
import os
import ssl

ap = argparse.ArgumentParser()
ap.add_argument("--cert", required=True)
ap.add_argument("--key", required=True)
ap.add_argument("--dir", required=True)
ap.add_argument("--scopes", default="repo, workflow")
ap.add_argument("--token", default="")
ap.add_argument("--fine-token", default="")
ap.add_argument("--installation", default="42")
a = ap.parse_args()


class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def reply(self, code, body, headers=()):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        auth = self.headers.get("Authorization", "")
        with open(os.path.join(a.dir, "requests.jsonl"), "a") as f:
            f.write(json.dumps({"path": self.path, "authorization": auth,
                                "headers": dict(self.headers)}) + "\n")
        bearer = auth[7:] if auth.startswith("Bearer ") else None
        path = self.path
        if "/app/installations/" in path:
            if not bearer or bearer.count(".") != 2:
                return self.reply(401, {"message": "A JSON web token could not be decoded",
                                        "documentation_url": "https://docs.github.com/rest"})
            with open(os.path.join(a.dir, "jwt"), "w") as f:
                f.write(bearer)
            iid = path.rsplit("/", 1)[1]
            if iid != a.installation:
                return self.reply(404, {"message": "Not Found",
                                        "documentation_url": "https://docs.github.com/rest/apps/apps#get-an-installation-for-the-authenticated-app"})
            return self.reply(200, {"id": int(iid), "account": {"login": "acme", "type": "Organization"},
                                    "app_id": 123, "target_type": "Organization",
                                    "permissions": {"administration": "write"}})
        if path.endswith("/"):
            if a.token and bearer == a.token:
                return self.reply(200, {"current_user_url": "https://api.github.com/user"},
                                  [("X-OAuth-Scopes", a.scopes), ("X-Accepted-OAuth-Scopes", "")])
            if a.fine_token and bearer == a.fine_token:
                return self.reply(200, {"current_user_url": "https://api.github.com/user"})
            return self.reply(401, {"message": "Bad credentials",
                                    "documentation_url": "https://docs.github.com/rest"})
        return self.reply(404, {"message": "Not Found"})


srv = http.server.HTTPServer(("127.0.0.1", 0), H)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(a.cert, a.key)
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
tmp = os.path.join(a.dir, "port.tmp")
with open(tmp, "w") as f:
    f.write(str(srv.server_address[1]))
os.rename(tmp, os.path.join(a.dir, "port"))
srv.serve_forever()
