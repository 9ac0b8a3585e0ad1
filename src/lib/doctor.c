/* doctor.c: the checks list and the judgements of `deskrun doctor` (see doctor.h). Pure. */
#include "lib/common.h"
#include "lib/buf.h"
#include "lib/doctor.h"
#include "lib/pem.h"

#include <arpa/inet.h>
#include <strings.h>
#include <time.h>

const char *
dr_check_status_name(dr_check_status s)
{
	switch (s) {
	case DR_CHECK_OK:
		return "ok";
	case DR_CHECK_WARN:
		return "warn";
	case DR_CHECK_FAIL:
		return "fail";
	}
	return "?";
}

void
dr_finding_clear(dr_finding *f)
{
	free(f->saw);
	free(f->fix);
	f->saw = f->fix = NULL;
	f->status = DR_CHECK_OK;
}

void
dr_finding_set(dr_finding *f, dr_check_status s, const char *fix, const char *saw_fmt, ...)
{
	dr_finding_clear(f);
	va_list ap;
	va_start(ap, saw_fmt);
	f->saw = dr_xvasprintf(saw_fmt, ap);
	va_end(ap);
	f->status = s;
	f->fix = fix ? dr_xstrdup(fix) : NULL;
}

void
dr_check_add(json_t *checks, const char *group, const char *name, dr_check_status s,
             const char *saw, const char *fix)
{
	json_t *o = json_object();
	json_object_set_new(o, "group", json_string(group));
	json_object_set_new(o, "name", json_string(name));
	json_object_set_new(o, "status", json_string(dr_check_status_name(s)));
	json_object_set_new(o, "saw", json_string(saw ? saw : ""));
	json_object_set_new(o, "fix", fix && s != DR_CHECK_OK ? json_string(fix) : json_null());
	json_array_append_new(checks, o);
}

void
dr_check_add_finding(json_t *checks, const char *group, const char *name, const dr_finding *f)
{
	dr_check_add(checks, group, name, f->status, f->saw, f->fix);
}

void
dr_check_detail(json_t *checks, const char *detail)
{
	size_t n = json_array_size(checks);
	if (n && detail && *detail)
		json_object_set_new(json_array_get(checks, n - 1), "detail", json_string(detail));
}

void
dr_checks_count(json_t *checks, int *ok, int *warn, int *fail)
{
	*ok = *warn = *fail = 0;
	size_t i;
	json_t *c;
	json_array_foreach(checks, i, c) {
		const char *s = json_string_value(json_object_get(c, "status"));
		if (dr_streq(s, "fail"))
			(*fail)++;
		else if (dr_streq(s, "warn"))
			(*warn)++;
		else
			(*ok)++;
	}
}

json_t *
dr_checks_document(json_t *checks)
{
	int ok, warn, fail;
	dr_checks_count(checks, &ok, &warn, &fail);
	json_t *doc = json_object();
	json_object_set_new(doc, "schema", json_integer(DR_DOCTOR_SCHEMA));
	json_object_set(doc, "checks", checks);
	json_object_set_new(doc, "summary",
	                    json_pack("{s:i, s:i, s:i}", "ok", ok, "warn", warn, "fail", fail));
	return doc;
}

char *
dr_checks_table(json_t *checks, bool quiet, bool color)
{
	dr_buf b = DR_BUF_INIT(0);
	size_t width = 0, i;
	json_t *c;
	json_array_foreach(checks, i, c) {
		size_t w = strlen(json_string_value(json_object_get(c, "group"))) + 1 +
		           strlen(json_string_value(json_object_get(c, "name")));
		if (w > width)
			width = w;
	}
	json_array_foreach(checks, i, c) {
		const char *st = json_string_value(json_object_get(c, "status"));
		if (quiet && dr_streq(st, "ok"))
			continue;
		const char *col = dr_streq(st, "fail") ? "\033[31m"
		                  : dr_streq(st, "warn") ? "\033[33m"
		                                         : "\033[32m";
		_cleanup_free_ char *what = dr_xasprintf(
			"%s/%s", json_string_value(json_object_get(c, "group")),
			json_string_value(json_object_get(c, "name")));
		dr_buf_printf(&b, "%s%-4s%s  %-*s  %s\n", color ? col : "", st, color ? "\033[0m" : "",
		              (int)width, what, json_string_value(json_object_get(c, "saw")));
		const char *fix = json_string_value(json_object_get(c, "fix"));
		if (fix)
			dr_buf_printf(&b, "%-4s  %-*s  fix: %s\n", "", (int)width, "", fix);
		const char *detail = json_string_value(json_object_get(c, "detail"));
		for (const char *l = detail; l && *l;) {
			size_t n = strcspn(l, "\n");
			dr_buf_printf(&b, "%-4s  %-*s  | %.*s\n", "", (int)width, "", (int)n, l);
			l += n;
			if (*l)
				l++;
		}
	}
	int ok, warn, fail;
	dr_checks_count(checks, &ok, &warn, &fail);
	if (!quiet || warn || fail)
		dr_buf_printf(&b, "%d ok, %d warn, %d fail\n", ok, warn, fail);
	return dr_buf_steal(&b);
}

/* ---- versions ---- */

static const char *
parse_num(const char *p, int *out)
{
	long n = 0;
	if (*p < '0' || *p > '9')
		return NULL;
	while (*p >= '0' && *p <= '9') {
		if (n < 1000000)
			n = n * 10 + (*p - '0');
		p++;
	}
	*out = (int)n;
	return p;
}

int
dr_version_parse(const char *s, int v[3])
{
	v[0] = v[1] = v[2] = 0;
	if (!s)
		return -1;
	for (const char *p = s; *p; p++) {
		/* A number that starts a word (or follows a 'v'): "v1.32.2", "kind v0.24.0". */
		if (*p < '0' || *p > '9')
			continue;
		if (p > s && ((p[-1] >= '0' && p[-1] <= '9') || p[-1] == '.' ||
		              ((p[-1] >= 'a' && p[-1] <= 'z') && p[-1] != 'v')))
			continue;
		int t[3] = { 0, 0, 0 };
		const char *q = parse_num(p, &t[0]);
		if (!q || *q != '.' || !(q = parse_num(q + 1, &t[1])))
			continue;
		if (*q == '.')
			parse_num(q + 1, &t[2]);
		memcpy(v, t, sizeof(t));
		return 0;
	}
	return -1;
}

int
dr_version_cmp(const int a[3], const int b[3])
{
	for (int i = 0; i < 3; i++)
		if (a[i] != b[i])
			return a[i] < b[i] ? -1 : 1;
	return 0;
}

static const struct {
	const char *tool;
	int min[3];
	const char *why_min;
	const char *install;
} tool_table[] = {
	{ "kubectl", { 1, 29, 0 }, "ARC's dind is a native sidecar (Kubernetes 1.29)",
	  "install kubectl >= 1.29 from https://kubernetes.io/docs/tasks/tools/" },
	{ "helm", { 3, 8, 0 }, "the ARC chart is an OCI chart (Helm 3.8)",
	  "install Helm >= 3.8 from https://helm.sh/docs/intro/install/" },
	{ "kind", { 0, 21, 0 }, "its default node image must be Kubernetes >= 1.29 (kind 0.21)",
	  "install kind >= 0.21 from https://kind.sigs.k8s.io/docs/user/quick-start/#installation" },
	{ "docker", { 20, 10, 0 }, "kind and the guard need the Engine API 1.41 (Docker 20.10)",
	  "install Docker >= 20.10 (Debian: apt-get install docker.io) and start it" },
	{ "k3s", { 1, 29, 0 }, "ARC's dind is a native sidecar (Kubernetes 1.29)",
	  "install k3s with 'curl -sfL https://get.k3s.io | sh -' (https://docs.k3s.io)" },
};

void
dr_doctor_tool(const char *tool, const char *text, bool needed, const char *why, dr_finding *f)
{
	size_t k = 0;
	while (k < DR_ARRAY_LEN(tool_table) && strcmp(tool_table[k].tool, tool) != 0)
		k++;
	if (k == DR_ARRAY_LEN(tool_table))
		DR_BUG("unknown tool");
	if (!text) {
		if (needed)
			dr_finding_set(f, DR_CHECK_FAIL, tool_table[k].install,
			               "%s is not installed (needed by %s)", tool, why);
		else
			dr_finding_set(f, DR_CHECK_OK, NULL, "not installed (only %s need it)", why);
		return;
	}
	int v[3];
	if (dr_version_parse(text, v) < 0) {
		dr_finding_set(f, DR_CHECK_WARN, tool_table[k].install,
		               "installed, but its version could not be read");
		return;
	}
	if (dr_version_cmp(v, tool_table[k].min) < 0) {
		dr_finding_set(f, needed ? DR_CHECK_FAIL : DR_CHECK_WARN, tool_table[k].install,
		               "%s %d.%d.%d is older than %d.%d: %s", tool, v[0], v[1], v[2],
		               tool_table[k].min[0], tool_table[k].min[1], tool_table[k].why_min);
		return;
	}
	dr_finding_set(f, DR_CHECK_OK, NULL, "%d.%d.%d%s%s", v[0], v[1], v[2],
	               needed ? "; needed by " : "", needed ? why : "");
}

void
dr_doctor_controller_version(const char *version, const char *rendered, dr_finding *f)
{
	if (!version) {
		dr_finding_set(f, DR_CHECK_FAIL, "run 'deskrun up': it installs the controller",
		               "the ARC controller is not installed");
		return;
	}
	int a[3], b[3];
	if (dr_version_parse(version, a) < 0 || dr_version_parse(rendered, b) < 0) {
		dr_finding_set(f, DR_CHECK_WARN, "run 'deskrun up': it reinstalls the controller",
		               "controller version \"%s\" cannot be read", version);
		return;
	}
	if (a[0] != b[0] || a[1] != b[1]) {
		_cleanup_free_ char *fix = dr_xasprintf(
			"run 'deskrun up': it upgrades the controller to %s (CRDs first)", rendered);
		dr_finding_set(f, DR_CHECK_FAIL, fix,
		               "controller %s, deskrun renders %s: the controller deletes scale sets "
		               "whose major.minor differs from its own",
		               version, rendered);
		return;
	}
	if (a[2] != b[2] || strchr(version, '(')) {
		_cleanup_free_ char *fix =
			dr_xasprintf("run 'deskrun up': it upgrades the controller to %s", rendered);
		dr_finding_set(f, DR_CHECK_WARN, fix, "controller %s, deskrun renders %s", version,
		               rendered);
		return;
	}
	dr_finding_set(f, DR_CHECK_OK, NULL, "controller %s, as deskrun renders", version);
}

/* ---- the host ---- */

void
dr_doctor_inotify(long watches, long instances, dr_finding *f)
{
	static const char fix[] =
		"sudo sysctl -w fs.inotify.max_user_watches=524288 fs.inotify.max_user_instances=512 "
		"and persist both in /etc/sysctl.d/99-deskrun.conf";
	if (watches < 0 || instances < 0) {
		dr_finding_set(f, DR_CHECK_WARN, "check that /proc/sys/fs/inotify is readable",
		               "fs.inotify limits could not be read");
		return;
	}
	if (watches < DR_INOTIFY_WATCHES_MIN || instances < DR_INOTIFY_INSTANCES_MIN) {
		dr_finding_set(f, DR_CHECK_WARN, fix,
		               "max_user_watches=%ld max_user_instances=%ld: below %d/%d, kind nodes "
		               "and kubelets fail with \"too many open files\"",
		               watches, instances, DR_INOTIFY_WATCHES_MIN, DR_INOTIFY_INSTANCES_MIN);
		return;
	}
	dr_finding_set(f, DR_CHECK_OK, NULL, "max_user_watches=%ld max_user_instances=%ld", watches,
	               instances);
}

static bool
has_word(const char *list, const char *w)
{
	size_t n = strlen(w);
	for (const char *p = list; p && (p = strstr(p, w)); p += n)
		if ((p == list || p[-1] == ' ' || p[-1] == '\n') &&
		    (p[n] == '\0' || p[n] == ' ' || p[n] == '\n'))
			return true;
	return false;
}

void
dr_doctor_cgroup(int version, const char *controllers, bool rootless, dr_finding *f)
{
	if (version == 0) {
		dr_finding_set(f, DR_CHECK_FAIL, "mount the cgroup filesystem at /sys/fs/cgroup",
		               "no cgroup filesystem at /sys/fs/cgroup");
		return;
	}
	if (version == 1) {
		dr_finding_set(f, DR_CHECK_WARN,
		               "boot with systemd.unified_cgroup_hierarchy=1 (cgroup v2); kind and "
		               "nested dockerd are tested on v2",
		               "cgroup v1");
		return;
	}
	static const char *const need[] = { "cpu", "memory", "pids" };
	dr_buf missing = DR_BUF_INIT(0);
	for (size_t i = 0; i < DR_ARRAY_LEN(need); i++)
		if (!controllers || !has_word(controllers, need[i]))
			dr_buf_printf(&missing, "%s%s", missing.len ? " " : "", need[i]);
	_cleanup_free_ char *m = dr_buf_steal(&missing);
	if (*m) {
		if (rootless)
			dr_finding_set(f, DR_CHECK_FAIL,
			               "delegate them: 'sudo systemctl edit user@.service' with "
			               "[Service] Delegate=yes, then log in again",
			               "cgroup v2, controllers not delegated to this user: %s", m);
		else
			dr_finding_set(f, DR_CHECK_FAIL,
			               "enable them in the root cgroup (cgroup.subtree_control) or boot "
			               "without cgroup_disable=",
			               "cgroup v2 without the %s controller(s)", m);
		return;
	}
	dr_finding_set(f, DR_CHECK_OK, NULL, "cgroup v2, cpu memory pids %s",
	               rootless ? "delegated" : "available");
}

void
dr_doctor_disk(const char *path, uint64_t free_bytes, long fstype, dr_finding *f)
{
	double gib = (double)free_bytes / (double)(1ULL << 30);
	if (fstype == DR_FSTYPE_OVERLAY) {
		dr_finding_set(f, DR_CHECK_FAIL,
		               "put the cache root on ext4 or xfs: 'deskrun config set cache-root DIR' "
		               "(kind: 'deskrun cluster create --host-cache-dir DIR')",
		               "%s is on overlayfs: a dockerd keeping layers there fails with "
		               "\"overlay2: operation not permitted\"",
		               path);
		return;
	}
	if (free_bytes < DR_FREE_FAIL_BYTES) {
		dr_finding_set(f, DR_CHECK_FAIL,
		               "free space: 'deskrun cache prune --older-than 7d', or move the cache "
		               "root to a larger disk",
		               "%.1f GiB free under %s (at least 5 GiB needed)", gib, path);
		return;
	}
	if (free_bytes < DR_FREE_WARN_BYTES) {
		dr_finding_set(f, DR_CHECK_WARN, "'deskrun cache prune --older-than 7d' frees space",
		               "%.1f GiB free under %s (under 20 GiB)", gib, path);
		return;
	}
	if (fstype == DR_FSTYPE_TMPFS) {
		dr_finding_set(f, DR_CHECK_WARN,
		               "put the cache root on a disk: 'deskrun config set cache-root DIR'",
		               "%s is on tmpfs: caches use memory and are lost at reboot", path);
		return;
	}
	dr_finding_set(f, DR_CHECK_OK, NULL, "%.1f GiB free under %s", gib, path);
}

void
dr_doctor_storage_driver(const char *driver, const char *backing, dr_finding *f)
{
	if (!driver || !*driver) {
		dr_finding_set(f, DR_CHECK_WARN, "check 'docker info'", "the daemon names no storage driver");
		return;
	}
	if (strcmp(driver, "overlay2") == 0 && backing &&
	    (strstr(backing, "overlay") || strcmp(backing, "<unknown>") == 0)) {
		dr_finding_set(f, DR_CHECK_FAIL,
		               "give the daemon's data-root a real filesystem (ext4/xfs), e.g. a volume "
		               "at /var/lib/docker",
		               "overlay2 on %s: nested overlay mounts fail (\"operation not "
		               "permitted\")",
		               backing);
		return;
	}
	if (strcmp(driver, "vfs") == 0) {
		dr_finding_set(f, DR_CHECK_WARN,
		               "vfs is the fallback when overlay2 cannot mount: put /var/lib/docker on "
		               "ext4/xfs and set \"storage-driver\": \"overlay2\"",
		               "vfs: every layer is a full copy (slow, large)");
		return;
	}
	if (strcmp(driver, "fuse-overlayfs") == 0) {
		dr_finding_set(f, DR_CHECK_WARN,
		               "use a kernel >= 5.13 so rootless Docker can use overlay2",
		               "fuse-overlayfs: slower than overlay2");
		return;
	}
	dr_finding_set(f, DR_CHECK_OK, NULL, "%s%s%s", driver, backing ? " on " : "",
	               backing ? backing : "");
}

/* ---- the cluster and the runners ---- */

static const char *
jstr(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static void
one_line(char *s)
{
	for (; s && *s; s++)
		if (*s == '\n' || *s == '\r')
			*s = ' ';
}

/* Seconds since the epoch of an RFC 3339 UTC time ("2026-12-06T18:20:55Z"), or -1. */
static long
utc_seconds(const char *s)
{
	struct tm tm = { 0 };
	const char *end = s ? strptime(s, "%Y-%m-%dT%H:%M:%S", &tm) : NULL;
	if (!end || (*end != 'Z' && *end != '.'))
		return -1;
	return (long)timegm(&tm);
}

/* How long after a restart a running container that crashed before still counts as crash
 * looping: the kubelet's back-off between restarts is 10 s doubling up to 5 minutes. */
#define CRASH_RECENT_S 120

static bool
container_problem(json_t *cs, const char *pod, long now, dr_finding *f, char **crashing)
{
	const char *name = jstr(cs, "name");
	json_t *waiting = json_object_get(json_object_get(cs, "state"), "waiting");
	const char *reason = jstr(waiting, "reason");
	_cleanup_free_ char *msg = dr_xstrdup(jstr(waiting, "message") ? jstr(waiting, "message") : "");
	one_line(msg);
	if (reason && (strcmp(reason, "ImagePullBackOff") == 0 || strcmp(reason, "ErrImagePull") == 0 ||
	               strcmp(reason, "InvalidImageName") == 0)) {
		dr_finding_set(f, DR_CHECK_FAIL,
		               "check the image name and that the node can pull it (--runner-image, "
		               "--dind-image, --helper-image; a private registry needs an "
		               "imagePullSecret; kind: 'deskrun image build' loads the helper)",
		               "pod %s container %s: %s: %s", pod, name, reason,
		               *msg ? msg : jstr(cs, "image") ? jstr(cs, "image") : "");
		return true;
	}
	if (reason && strcmp(reason, "CrashLoopBackOff") == 0) {
		json_t *term = json_object_get(json_object_get(cs, "lastState"), "terminated");
		dr_finding_set(f, DR_CHECK_FAIL,
		               "read the log tail below ('kubectl logs --previous' shows all of it)",
		               "pod %s container %s: CrashLoopBackOff (%" JSON_INTEGER_FORMAT
		               " restarts, last exit %" JSON_INTEGER_FORMAT " %s)",
		               pod, name, json_integer_value(json_object_get(cs, "restartCount")),
		               json_integer_value(json_object_get(term, "exitCode")),
		               jstr(term, "reason") ? jstr(term, "reason") : "");
		*crashing = dr_xstrdup(name);
		return true;
	}
	if (reason && (strcmp(reason, "CreateContainerConfigError") == 0 ||
	               strcmp(reason, "CreateContainerError") == 0 ||
	               strcmp(reason, "RunContainerError") == 0)) {
		dr_finding_set(f, DR_CHECK_FAIL,
		               "a Secret or ConfigMap the pod names is missing, or a mount failed: "
		               "'deskrun up' re-creates deskrun's objects",
		               "pod %s container %s: %s: %s", pod, name, reason, msg);
		return true;
	}
	/* Between the back-offs of a crash loop the kubelet's reason is not CrashLoopBackOff: the
	 * container has just crashed again (terminated, to be restarted) or just restarted after a
	 * crash (running). Both are the same loop. */
	json_int_t restarts = json_integer_value(json_object_get(cs, "restartCount"));
	json_t *state = json_object_get(cs, "state");
	json_t *now_term = json_object_get(state, "terminated");
	json_t *last_term = json_object_get(json_object_get(cs, "lastState"), "terminated");
	json_t *running = json_object_get(state, "running");
	json_t *crash = NULL;
	long since = -1;
	if (restarts > 0 && now_term &&
	    json_integer_value(json_object_get(now_term, "exitCode")) != 0)
		crash = now_term;
	else if (restarts > 0 && running && last_term &&
	         json_integer_value(json_object_get(last_term, "exitCode")) != 0 &&
	         (since = utc_seconds(jstr(running, "startedAt"))) >= 0 &&
	         now - since < CRASH_RECENT_S)
		crash = last_term;
	if (crash) {
		dr_finding_set(f, DR_CHECK_FAIL,
		               "read the log tail below ('kubectl logs --previous' shows all of it)",
		               "pod %s container %s: restarting after crashes (%" JSON_INTEGER_FORMAT
		               " restarts, last exit %" JSON_INTEGER_FORMAT " %s%s)",
		               pod, name, restarts, json_integer_value(json_object_get(crash, "exitCode")),
		               jstr(crash, "reason") ? jstr(crash, "reason") : "",
		               crash == now_term ? "; exited again, to be restarted" : "; running again");
		*crashing = dr_xstrdup(name);
		return true;
	}
	json_t *term = last_term;
	if (dr_streq(jstr(term, "reason"), "OOMKilled")) {
		dr_finding_set(f, DR_CHECK_WARN,
		               "raise the memory limit (--memory, or --dockerd-memory for the daemon)",
		               "pod %s container %s was OOMKilled", pod, name);
		return true;
	}
	return false;
}

void
dr_doctor_pod(json_t *pod, long now, dr_finding *f, char **crashing)
{
	*crashing = NULL;
	const char *name = jstr(json_object_get(pod, "metadata"), "name");
	json_t *status = json_object_get(pod, "status");
	static const char *const lists[] = { "initContainerStatuses", "containerStatuses" };
	for (size_t l = 0; l < DR_ARRAY_LEN(lists); l++) {
		size_t i;
		json_t *cs;
		json_array_foreach(json_object_get(status, lists[l]), i, cs) {
			if (container_problem(cs, name, now, f, crashing))
				return;
		}
	}
	if (dr_streq(jstr(status, "phase"), "Pending")) {
		size_t i;
		json_t *c;
		json_array_foreach(json_object_get(status, "conditions"), i, c) {
			if (dr_streq(jstr(c, "type"), "PodScheduled") &&
			    dr_streq(jstr(c, "status"), "False")) {
				_cleanup_free_ char *msg =
					dr_xstrdup(jstr(c, "message") ? jstr(c, "message") : "");
				one_line(msg);
				dr_finding_set(f, DR_CHECK_FAIL,
				               "free node resources or lower --cpu/--memory; a hostPath "
				               "cache or a node selector can pin the pod to one node",
				               "pod %s is Pending: %s: %s", name,
				               jstr(c, "reason") ? jstr(c, "reason") : "Unschedulable",
				               msg);
				return;
			}
		}
	}
	if (dr_streq(jstr(status, "phase"), "Failed")) {
		dr_finding_set(f, DR_CHECK_FAIL, "see 'kubectl describe pod'", "pod %s Failed: %s", name,
		               jstr(status, "reason") ? jstr(status, "reason") : "");
		return;
	}
	dr_finding_set(f, DR_CHECK_OK, NULL, "pod %s %s", name,
	               jstr(status, "phase") ? jstr(status, "phase") : "Unknown");
}

void
dr_doctor_secret(json_t *secret, const char *name, dr_auth_type type, dr_finding *f)
{
	if (!secret) {
		dr_finding_set(f, DR_CHECK_FAIL,
		               "run 'deskrun up': it creates the Secret from the config (on kubectl's "
		               "stdin)",
		               "Secret %s does not exist: the listener cannot authenticate", name);
		return;
	}
	static const char *const pat[] = { "github_token", NULL };
	static const char *const app[] = { "github_app_id", "github_app_installation_id",
		                           "github_app_private_key", NULL };
	const char *const *need = type == DR_AUTH_APP ? app : pat;
	json_t *data = json_object_get(secret, "data");
	dr_buf missing = DR_BUF_INIT(0);
	for (size_t i = 0; need[i]; i++) {
		const char *v = jstr(data, need[i]);
		if (!v || !*v)
			dr_buf_printf(&missing, "%s%s", missing.len ? ", " : "", need[i]);
	}
	_cleanup_free_ char *m = dr_buf_steal(&missing);
	if (*m) {
		/* `up` applies only what changed in its own rendering, so an edited Secret is not
		 * rewritten: it must go first. */
		const char *ns = jstr(json_object_get(secret, "metadata"), "namespace");
		_cleanup_free_ char *fix = dr_xasprintf(
			"delete it ('kubectl -n %s delete secret %s'), then 'deskrun up' re-creates it from "
			"the config",
			ns ? ns : "NAMESPACE", name);
		dr_finding_set(f, DR_CHECK_FAIL, fix, "Secret %s lacks %s (%s auth)", name, m,
		               dr_auth_type_name(type));
		return;
	}
	dr_finding_set(f, DR_CHECK_OK, NULL, "Secret %s has the %s keys", name,
	               dr_auth_type_name(type));
}

/* ---- GitHub ---- */

/* Path segments of an https URL after the host: 1 = org (or enterprises/NAME = 2 with
 * "enterprises"), 2 = repository. */
static size_t
url_segments(const char *url, bool *enterprise)
{
	*enterprise = false;
	const char *p = strstr(url, "://");
	p = p ? p + 3 : url;
	p = strchr(p, '/');
	size_t n = 0;
	while (p && *p) {
		while (*p == '/')
			p++;
		if (!*p)
			break;
		if (n == 0 && dr_startswith(p, "enterprises/"))
			*enterprise = true;
		n++;
		p = strchr(p, '/');
	}
	return n;
}

void
dr_doctor_pat_scopes(const char *scopes, const char *github_url, dr_finding *f)
{
	bool ent = false;
	size_t segs = url_segments(github_url, &ent);
	const char *need = ent ? "manage_runners:enterprise" : segs >= 2 ? "repo" : "admin:org";
	const char *level = ent ? "an enterprise" : segs >= 2 ? "a repository" : "an organization";
	if (!scopes) {
		dr_finding_set(f, DR_CHECK_WARN,
		               "make sure the fine-grained token grants Administration: read and write "
		               "(repository) or Self-hosted runners (organization)",
		               "no X-OAuth-Scopes header: a fine-grained token, whose permissions "
		               "GitHub does not list");
		return;
	}
	/* The header is "repo, workflow"; admin:org also satisfies write:org needs. */
	bool found = false;
	const char *p = scopes;
	while (*p) {
		while (*p == ' ' || *p == ',')
			p++;
		const char *e = p;
		while (*e && *e != ',')
			e++;
		size_t n = (size_t)(e - p);
		while (n && p[n - 1] == ' ')
			n--;
		if (n == strlen(need) && memcmp(p, need, n) == 0)
			found = true;
		p = e;
	}
	if (!found) {
		_cleanup_free_ char *fix = dr_xasprintf(
			"create a token with the %s scope at https://github.com/settings/tokens and "
			"store it: 'deskrun add NAME ... --auth-value-file FILE'",
			need);
		dr_finding_set(f, DR_CHECK_FAIL, fix,
		               "the token's scopes are \"%s\"; runners for %s need %s", scopes, level,
		               need);
		return;
	}
	dr_finding_set(f, DR_CHECK_OK, NULL, "token accepted, scopes \"%s\" include %s", scopes, need);
}

char *
dr_github_api_url(const char *github_url)
{
	const char *p = strstr(github_url, "://");
	p = p ? p + 3 : github_url;
	size_t n = strcspn(p, "/");
	if ((n == 10 && strncmp(p, "github.com", 10) == 0) ||
	    (n == 14 && strncmp(p, "www.github.com", 14) == 0))
		return dr_xstrdup("https://api.github.com");
	return dr_xasprintf("https://%.*s/api/v3", (int)n, p);
}

char *
dr_base64url(const void *p, size_t n)
{
	char *s = dr_base64_encode(p, n);
	char *w = s;
	for (char *r = s; *r; r++) {
		if (*r == '=')
			continue;
		*w++ = *r == '+' ? '-' : *r == '/' ? '_' : *r;
	}
	*w = '\0';
	return s;
}

char *
dr_jwt_signing_input(const char *app_id, int64_t now)
{
	bool numeric = *app_id != '\0';
	for (const char *c = app_id; *c; c++)
		if (*c < '0' || *c > '9')
			numeric = false;
	static const char header[] = "{\"alg\":\"RS256\",\"typ\":\"JWT\"}";
	_cleanup_free_ char *claims =
		numeric ? dr_xasprintf("{\"iat\":%lld,\"exp\":%lld,\"iss\":%s}", (long long)(now - 60),
		                       (long long)(now + 540), app_id)
			: NULL;
	if (!numeric) {
		_cleanup_json_ json_t *c = json_pack("{s:I, s:I, s:s}", "iat", (json_int_t)(now - 60),
		                                     "exp", (json_int_t)(now + 540), "iss", app_id);
		claims = json_dumps(c, JSON_COMPACT | JSON_PRESERVE_ORDER);
	}
	_cleanup_free_ char *h = dr_base64url(header, strlen(header));
	_cleanup_free_ char *b = dr_base64url(claims, strlen(claims));
	return dr_xasprintf("%s.%s", h, b);
}

/* ---- proxies ---- */

void
dr_proxy_clear(dr_proxy *p)
{
	free(p->host);
	free(p->port);
	if (p->auth)
		explicit_bzero(p->auth, strlen(p->auth));
	free(p->auth);
	free(p->shown);
	memset(p, 0, sizeof(*p));
}

/* Percent-decode s[0..n) (owned). */
static char *
pct_decode(const char *s, size_t n)
{
	char *out = dr_xmalloc(n + 1);
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		int h, l;
		if (s[i] == '%' && i + 2 < n && (h = dr_hexval(s[i + 1])) >= 0 &&
		    (l = dr_hexval(s[i + 2])) >= 0) {
			out[k++] = (char)(h * 16 + l);
			i += 2;
		} else {
			out[k++] = s[i];
		}
	}
	out[k] = '\0';
	return out;
}

/* host[:port] or [v6][:port] of s[0..n) into owned host and port (def when absent). */
static int
split_host_port(const char *s, size_t n, const char *def, char **host, char **port)
{
	const char *pend = s + n;
	const char *hs, *he, *colon;
	if (n && s[0] == '[') {
		const char *rb = memchr(s, ']', n);
		if (!rb || rb == s + 1)
			return -1;
		hs = s + 1;
		he = rb;
		if (rb + 1 < pend && rb[1] != ':')
			return -1;
		colon = rb + 1 < pend ? rb + 1 : NULL;
	} else {
		colon = memchr(s, ':', n);
		hs = s;
		he = colon ? colon : pend;
		if (colon && memchr(colon + 1, ':', (size_t)(pend - colon - 1)))
			return -1; /* an IPv6 address needs brackets */
	}
	if (he == hs)
		return -1;
	for (const char *c = hs; c < he; c++)
		if (*c == '@' || *c == '/' || *c == ' ' || *c == '[' || *c == ']')
			return -1;
	if (colon) {
		size_t pl = (size_t)(pend - colon - 1);
		if (pl == 0 || pl > 5)
			return -1;
		for (const char *c = colon + 1; c < pend; c++)
			if (*c < '0' || *c > '9')
				return -1;
		long v = strtol(colon + 1, NULL, 10);
		if (v < 1 || v > 65535)
			return -1;
		*port = dr_xstrndup(colon + 1, pl);
	} else {
		*port = dr_xstrdup(def);
	}
	*host = dr_xstrndup(hs, (size_t)(he - hs));
	return 0;
}

int
dr_proxy_parse(const char *url, const char *what, dr_proxy *p, dr_err **err)
{
	memset(p, 0, sizeof(*p));
	const char *rest = url;
	if (dr_startswith(url, "https://"))
		return dr_fail(err, DR_EXIT_USAGE,
		               "%s: an https:// proxy (TLS to the proxy) is not supported by doctor's "
		               "GitHub checks: give the proxy's http:// address",
		               what);
	if (strncasecmp(url, "http://", 7) == 0)
		rest = url + 7;
	else if (strstr(url, "://"))
		return dr_fail(err, DR_EXIT_USAGE,
		               "%s: not an http:// proxy URL: use http://[USER:PASSWORD@]HOST[:PORT]",
		               what);
	size_t n = strcspn(rest, "/?#");
	const char *tail = rest + n;
	if (*tail && strcmp(tail, "/") != 0)
		return dr_fail(err, DR_EXIT_USAGE,
		               "%s: a proxy URL has no path: use http://[USER:PASSWORD@]HOST[:PORT]",
		               what);
	const char *at = NULL;
	for (const char *c = rest; c < rest + n; c++)
		if (*c == '@')
			at = c; /* the last one: a password may hold '@' unescaped */
	const char *hp = at ? at + 1 : rest;
	if (split_host_port(hp, (size_t)(rest + n - hp), "80", &p->host, &p->port) < 0) {
		dr_proxy_clear(p);
		return dr_fail(err, DR_EXIT_USAGE,
		               "%s: not a proxy URL: use http://[USER:PASSWORD@]HOST[:PORT], e.g. "
		               "http://proxy.corp:3128",
		               what);
	}
	if (at) {
		const char *colon = memchr(rest, ':', (size_t)(at - rest));
		_cleanup_free_ char *user = pct_decode(rest, (size_t)((colon ? colon : at) - rest));
		_cleanup_free_ char *pass =
			colon ? pct_decode(colon + 1, (size_t)(at - colon - 1)) : dr_xstrdup("");
		_cleanup_free_ char *pair = dr_xasprintf("%s:%s", user, pass);
		_cleanup_free_ char *b = dr_base64_encode(pair, strlen(pair));
		p->auth = dr_xasprintf("Basic %s", b);
		explicit_bzero(pair, strlen(pair));
		explicit_bzero(pass, strlen(pass));
		explicit_bzero(b, strlen(b));
	}
	bool v6 = strchr(p->host, ':') != NULL;
	p->shown = dr_xasprintf("http://%s%s%s:%s", v6 ? "[" : "", p->host, v6 ? "]" : "", p->port);
	return 0;
}

int
dr_url_host_port(const char *url, char **host, char **port)
{
	if (!dr_startswith(url, "https://"))
		return -1;
	const char *h = url + 8;
	size_t n = strcspn(h, "/?#");
	if (memchr(h, '@', n))
		return -1;
	return split_host_port(h, n, "443", host, port);
}

/* addr in the CIDR "net/bits"? Both IPv4 or both IPv6; false when either does not parse. */
static bool
cidr_match(const char *addr, const char *cidr)
{
	const char *slash = strchr(cidr, '/');
	char *end = NULL;
	long bits = strtol(slash + 1, &end, 10);
	if (!slash[1] || *end || bits < 0)
		return false;
	_cleanup_free_ char *net = dr_xstrndup(cidr, (size_t)(slash - cidr));
	unsigned char a[16], b[16];
	int fam = strchr(net, ':') ? AF_INET6 : AF_INET;
	size_t len = fam == AF_INET6 ? 16 : 4;
	if ((long)len * 8 < bits || inet_pton(fam, net, b) != 1 || inet_pton(fam, addr, a) != 1)
		return false;
	for (long i = 0; i < bits; i++) {
		unsigned char m = (unsigned char)(0x80u >> (i % 8));
		if ((a[i / 8] & m) != (b[i / 8] & m))
			return false;
	}
	return true;
}

bool
dr_no_proxy_match(const char *host, const char *port, char *const *entries)
{
	size_t hl = strlen(host);
	while (hl && host[hl - 1] == '.')
		hl--; /* "github.com." is github.com */
	for (size_t i = 0; entries && entries[i]; i++) {
		const char *e = entries[i];
		while (*e == ' ' || *e == '\t')
			e++;
		size_t el = strlen(e);
		while (el && (e[el - 1] == ' ' || e[el - 1] == '\t'))
			el--;
		if (!el)
			continue;
		if (el == 1 && *e == '*')
			return true;
		_cleanup_free_ char *entry = dr_xstrndup(e, el);
		if (strchr(entry, '/')) {
			if (cidr_match(host, entry))
				return true;
			continue;
		}
		/* An optional :PORT ("[v6]:443", "host:8443"); a bare IPv6 has no port. */
		_cleanup_free_ char *eh = NULL, *ep = NULL;
		int colons = 0;
		for (const char *c = entry; *c; c++)
			colons += *c == ':';
		if (colons > 1 && entry[0] != '[') {
			eh = dr_xstrdup(entry);
		} else if (split_host_port(entry, strlen(entry), "", &eh, &ep) < 0) {
			continue;
		}
		if (ep && *ep && strcmp(ep, port) != 0)
			continue;
		const char *d = eh;
		if (d[0] == '*' && d[1] == '.')
			d += 2;
		else if (d[0] == '.')
			d++;
		size_t dl = strlen(d);
		while (dl && d[dl - 1] == '.')
			dl--;
		if (!dl)
			continue;
		if (hl == dl && strncasecmp(host, d, dl) == 0)
			return true;
		if (hl > dl && host[hl - dl - 1] == '.' && strncasecmp(host + hl - dl, d, dl) == 0)
			return true;
	}
	return false;
}
