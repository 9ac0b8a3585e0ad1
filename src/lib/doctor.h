/* doctor.h: the pure half of `deskrun doctor`: the list of checks (each ok / warn / fail, what
 * was seen and the fix in one line), its table and JSON forms, and the judgements that turn
 * facts (a sysctl, a `docker info`, a pod's status, a Secret, a scopes header) into a finding.
 * The command (src/cmd/doctor.c) gathers the facts; nothing here reads or runs anything. */
#ifndef DESKRUN_DOCTOR_H
#define DESKRUN_DOCTOR_H

#include "lib/common.h"
#include "lib/runner.h"

#define DR_DOCTOR_SCHEMA 1

typedef enum dr_check_status {
	DR_CHECK_OK = 0,
	DR_CHECK_WARN,
	DR_CHECK_FAIL,
} dr_check_status;

const char *dr_check_status_name(dr_check_status s); /* "ok", "warn", "fail" */

/* A judgement: status plus what was seen and how to fix it (both owned; fix NULL when ok). */
typedef struct dr_finding {
	dr_check_status status;
	char *saw;
	char *fix;
} dr_finding;

void dr_finding_clear(dr_finding *f);
static inline void dr_findingp(dr_finding *f) { dr_finding_clear(f); }
#define _cleanup_finding_ __attribute__((cleanup(dr_findingp)))
/* Set f (replacing what it held); saw is a format. */
void dr_finding_set(dr_finding *f, dr_check_status s, const char *fix, const char *saw_fmt, ...)
	DR_PRINTF(4, 5);

/* Append {"group", "name", "status", "saw", "fix"} to the checks array (borrowed strings are
 * copied; fix NULL becomes null). */
void dr_check_add(json_t *checks, const char *group, const char *name, dr_check_status s,
                  const char *saw, const char *fix);
void dr_check_add_finding(json_t *checks, const char *group, const char *name,
                          const dr_finding *f);
/* Attach multi-line detail (a log tail) to the last check as "detail". */
void dr_check_detail(json_t *checks, const char *detail);
/* Count the checks by status. */
void dr_checks_count(json_t *checks, int *ok, int *warn, int *fail);
/* The documented JSON document (owned): {"schema": 1, "checks": [...], "summary": {"ok",
 * "warn", "fail"}}. */
json_t *dr_checks_document(json_t *checks);
/* The table (owned): one line per check "STATUS  GROUP/NAME  SAW", a "fix:" line under each
 * warn and fail, its detail lines indented with "| ", then a summary line. quiet leaves the ok lines out; color uses ANSI colours
 * for the status word. */
char *dr_checks_table(json_t *checks, bool quiet, bool color);

/* ---- versions ---- */

/* The first "[v]MAJOR.MINOR[.PATCH]" in s into v[3] (missing parts 0); -1 when there is none. */
int dr_version_parse(const char *s, int v[3]);
/* -1, 0, 1 as a < b, comparing major, minor and patch. */
int dr_version_cmp(const int a[3], const int b[3]);

/* A tool's version against deskrun's minimum ("kubectl", "helm", "kind", "docker", "k3s").
 * `text` is what the tool printed (NULL: it is not installed); `needed` says whether the
 * recorded provider (or a mode) needs it, `why` who needs it ("kind clusters"). */
void dr_doctor_tool(const char *tool, const char *text, bool needed, const char *why,
                    dr_finding *f);

/* The controller's chart version against the one deskrun renders: major.minor must be equal
 * (ARC deletes scale sets of another major.minor). version NULL: not installed. */
void dr_doctor_controller_version(const char *version, const char *rendered, dr_finding *f);

/* ---- the host ---- */

#define DR_INOTIFY_WATCHES_MIN 524288
#define DR_INOTIFY_INSTANCES_MIN 512
/* -1 for a value that could not be read. */
void dr_doctor_inotify(long watches, long instances, dr_finding *f);
/* version 1 or 2 (0: no cgroup filesystem); controllers: the cgroup.controllers text of the
 * cgroup the daemons get (the user's delegated one when rootless), NULL if unreadable. */
void dr_doctor_cgroup(int version, const char *controllers, bool rootless, dr_finding *f);

#define DR_FREE_WARN_BYTES (20ULL << 30)
#define DR_FREE_FAIL_BYTES (5ULL << 30)
#define DR_FSTYPE_OVERLAY 0x794c7630L
#define DR_FSTYPE_TMPFS 0x01021994L
/* The disk under the cache root: free bytes and statfs f_type of `path`. */
void dr_doctor_disk(const char *path, uint64_t free_bytes, long fstype, dr_finding *f);
/* The host daemon's storage driver from `docker info` ("overlay2") and its backing filesystem
 * (DriverStatus "Backing Filesystem"; NULL if not given). */
void dr_doctor_storage_driver(const char *driver, const char *backing, dr_finding *f);

/* ---- the cluster and the runners ---- */

/* A pod's problem, or status OK when it has none: an image that cannot be pulled, a crash
 * loop (*crashing = the container, owned, for its log tail: waiting in CrashLoopBackOff, or
 * between its back-offs, exited again or restarted less than 2 minutes before `now`, seconds
 * since the epoch), a pod the scheduler cannot place (its message), a container config error,
 * an OOM kill. */
void dr_doctor_pod(json_t *pod, long now, dr_finding *f, char **crashing);
/* The keys a GitHub Secret needs for the auth type, which of them `secret` (a v1 Secret,
 * NULL: absent) lacks. */
void dr_doctor_secret(json_t *secret, const char *name, dr_auth_type type, dr_finding *f);

/* ---- GitHub ---- */

/* The classic PAT's scopes (the X-OAuth-Scopes header; NULL: the header was absent, a
 * fine-grained token) against what the runner's URL needs: "repo" for a repository,
 * "admin:org" for an organization, "manage_runners:enterprise" for an enterprise. */
void dr_doctor_pat_scopes(const char *scopes, const char *github_url, dr_finding *f);
/* The REST API root for a runner URL: https://api.github.com for github.com, else
 * https://HOST/api/v3 (GitHub Enterprise Server). Owned. */
char *dr_github_api_url(const char *github_url);
/* An HTTP proxy the GitHub checks tunnel through (HTTP CONNECT, then TLS end to end). */
typedef struct dr_proxy {
	char *host;  /* owned; an IPv6 address without its brackets */
	char *port;  /* owned; "80" when the URL has none */
	char *auth;  /* owned or NULL: the Proxy-Authorization value "Basic ..." (a secret) */
	char *shown; /* owned: "http://HOST:PORT", never the credentials: for messages */
} dr_proxy;

void dr_proxy_clear(dr_proxy *p);
static inline void dr_proxyp(dr_proxy *p) { dr_proxy_clear(p); }
#define _cleanup_proxy_ __attribute__((cleanup(dr_proxyp)))
/* Parse http://[USER[:PASSWORD]@]HOST[:PORT][/] (a bare HOST[:PORT], as HTTPS_PROXY often is,
 * means http://); USER and PASSWORD are percent-decoded. https:// proxies are refused (TLS to
 * the proxy is not spoken). `what` names the source in errors ("--proxy", "HTTPS_PROXY"); an
 * error never repeats the URL, which may hold a password. */
int dr_proxy_parse(const char *url, const char *what, dr_proxy *p, dr_err **err);
/* Whether host (a name or an IP, IPv6 without brackets) and port bypass the proxy under a
 * no_proxy list, curl's and Go's rules: "*" matches all; "example.com", ".example.com" and
 * "*.example.com" match the domain and its subdomains; "HOST:PORT" only that port; an IP
 * matches exactly; "10.0.0.0/8" or "fd00::/8" match the addresses in it. Case-insensitive;
 * blank entries are ignored. entries: a NULL-terminated vector (NULL: none). */
bool dr_no_proxy_match(const char *host, const char *port, char *const *entries);
/* Split an https:// URL's authority into host (IPv6 without brackets) and port ("443" when
 * absent), both owned; -1 when it is not https://HOST[:PORT][/...]. */
int dr_url_host_port(const char *url, char **host, char **port);

/* base64url without padding (owned). */
char *dr_base64url(const void *p, size_t n);
/* The JWT signing input "base64url(header).base64url(claims)" of a GitHub App (owned): RS256,
 * iat now-60, exp now+540, iss the App ID (a number) or client ID (a string). */
char *dr_jwt_signing_input(const char *app_id, int64_t now);

#endif
