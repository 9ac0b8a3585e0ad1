/* validate.c: the rules of a runner definition (see validate.h). Each message is one line:
 * what is wrong with which flag, then how to fix it. */
#include "lib/common.h"
#include "lib/buf.h"
#include "lib/config.h"
#include "lib/mode.h"
#include "lib/names.h"
#include "lib/pem.h"
#include "lib/quantity.h"
#include "lib/validate.h"

#define USAGE DR_EXIT_USAGE
#define LABEL_MAX 255 /* ARC: each label fewer than 256 characters */

int
dr_validate_name(const char *name, int instances, dr_err **err)
{
	if (!name || !*name)
		return dr_fail(err, USAGE, "NAME is missing: give the runner a name, e.g. 'deskrun "
		                           "add my-runner --repository URL'");
	size_t max = dr_name_max_len(instances);
	size_t len = strlen(name);
	if (len > DR_DNS_LABEL_MAX || !dr_is_dns_label(name))
		return dr_fail(err, USAGE,
		               "NAME \"%s\" is not a DNS-1123 label: use lowercase letters, digits "
		               "and '-', starting and ending with a letter or digit",
		               name);
	if (len > max) {
		if (instances > 1)
			return dr_fail(err, USAGE,
			               "NAME \"%s\" is %zu characters: with --instances %d the scale "
			               "sets are named %s-1..%s-%d and ARC allows 45 characters, so "
			               "use at most %zu",
			               name, len, instances, name, name, instances, max);
		return dr_fail(err, USAGE,
		               "NAME \"%s\" is %zu characters: ARC allows 45 for a scale set name, "
		               "use at most 45",
		               name, len);
	}
	return 0;
}

static bool
owner_ok(const char *s, size_t n)
{
	if (n == 0 || n > 39 || s[0] == '-' || s[n - 1] == '-')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-'))
			return false;
	}
	return true;
}

static bool
repo_ok(const char *s, size_t n)
{
	if (n == 0 || n > 100 || (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_' || c == '.'))
			return false;
	}
	return true;
}

static bool
slug_ok(const char *s, size_t n)
{
	if (n == 0 || n > 255 || s[0] == '-' || s[n - 1] == '-')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
			return false;
	}
	return true;
}

static bool
host_ok(const char *s, size_t n)
{
	if (n == 0 || n > 253)
		return false;
	const char *colon = memchr(s, ':', n);
	size_t hn = colon ? (size_t)(colon - s) : n;
	if (hn == 0 || s[0] == '.' || s[0] == '-' || s[hn - 1] == '.' || s[hn - 1] == '-')
		return false;
	for (size_t i = 0; i < hn; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '.'))
			return false;
	}
	if (colon) {
		size_t pn = n - hn - 1;
		if (pn == 0 || pn > 5)
			return false;
		for (size_t i = hn + 1; i < n; i++)
			if (s[i] < '0' || s[i] > '9')
				return false;
	}
	return true;
}

int
dr_validate_repository(const char *url, char **normalized, dr_err **err)
{
	static const char forms[] =
		"use https://github.com/OWNER/REPO, https://github.com/ORG or "
		"https://github.com/enterprises/NAME (or the same on your GHES host)";
	if (!url || !*url)
		return dr_fail(err, USAGE, "--repository is missing: %s", forms);
	if (dr_startswith(url, "http://"))
		return dr_fail(err, USAGE, "--repository \"%s\": must use https://, not http://",
		               url);
	if (!dr_startswith(url, "https://"))
		return dr_fail(err, USAGE, "--repository \"%s\": not an https:// GitHub URL: %s", url,
		               forms);
	if (strpbrk(url, "?#@ \t\r\n"))
		return dr_fail(err, USAGE,
		               "--repository \"%s\": must not contain credentials, a query, a "
		               "fragment or spaces: %s",
		               url, forms);
	const char *host = url + strlen("https://");
	const char *slash = strchr(host, '/');
	size_t host_len = slash ? (size_t)(slash - host) : strlen(host);
	if (!host_ok(host, host_len))
		return dr_fail(err, USAGE, "--repository \"%s\": \"%.*s\" is not a valid host name",
		               url, (int)host_len, host);
	/* Path without trailing slashes and .git. */
	_cleanup_free_ char *path = dr_xstrdup(slash ? slash + 1 : "");
	size_t pl = strlen(path);
	while (pl > 0 && path[pl - 1] == '/')
		path[--pl] = '\0';
	if (pl >= 4 && strcmp(path + pl - 4, ".git") == 0) {
		pl -= 4;
		path[pl] = '\0';
	}
	if (pl == 0)
		return dr_fail(err, USAGE,
		               "--repository \"%s\": names no organization, repository or "
		               "enterprise: %s",
		               url, forms);
	const char *seg[3] = { NULL, NULL, NULL };
	size_t seglen[3] = { 0, 0, 0 };
	size_t nseg = 0;
	const char *p = path;
	for (;;) {
		const char *s = strchr(p, '/');
		size_t n = s ? (size_t)(s - p) : strlen(p);
		if (n == 0)
			return dr_fail(err, USAGE, "--repository \"%s\": has an empty path segment "
			                           "(\"//\"): %s",
			               url, forms);
		if (nseg == 2)
			return dr_fail(err, USAGE,
			               "--repository \"%s\": has extra path \"/%s\" after the "
			               "repository: %s",
			               url, p, forms);
		seg[nseg] = p;
		seglen[nseg] = n;
		nseg++;
		if (!s)
			break;
		p = s + 1;
	}
	if (seglen[0] == 11 && memcmp(seg[0], "enterprises", 11) == 0) {
		if (nseg != 2)
			return dr_fail(err, USAGE, "--repository \"%s\": an enterprise URL needs its "
			                           "name: https://HOST/enterprises/NAME",
			               url);
		if (!slug_ok(seg[1], seglen[1]))
			return dr_fail(err, USAGE,
			               "--repository \"%s\": \"%.*s\" is not a valid enterprise slug "
			               "(lowercase letters, digits and '-')",
			               url, (int)seglen[1], seg[1]);
	} else {
		if (!owner_ok(seg[0], seglen[0]))
			return dr_fail(err, USAGE,
			               "--repository \"%s\": \"%.*s\" is not a valid GitHub owner "
			               "(letters, digits and '-', at most 39)",
			               url, (int)seglen[0], seg[0]);
		if (nseg == 2 && !repo_ok(seg[1], seglen[1]))
			return dr_fail(err, USAGE,
			               "--repository \"%s\": \"%.*s\" is not a valid repository name "
			               "(letters, digits, '.', '-' and '_', at most 100)",
			               url, (int)seglen[1], seg[1]);
	}
	*normalized = dr_xasprintf("https://%.*s/%s", (int)host_len, host, path);
	return 0;
}

int
dr_parse_labels(const char *spec, char ***labels, dr_err **err)
{
	_cleanup_strv_ char **out = NULL;
	if (*spec == '\0') {
		*labels = NULL;
		return 0;
	}
	const char *p = spec;
	for (;;) {
		const char *c = strchr(p, ',');
		size_t n = c ? (size_t)(c - p) : strlen(p);
		_cleanup_free_ char *l = dr_xstrndup(p, n);
		dr_strv_push(&out, l);
		if (!c)
			break;
		p = c + 1;
	}
	if (dr_validate_labels(out, err) < 0)
		return -1;
	*labels = TAKE_PTR(out);
	return 0;
}

int
dr_validate_labels(char *const *labels, dr_err **err)
{
	for (size_t i = 0; labels && labels[i]; i++) {
		const char *l = labels[i];
		size_t n = strlen(l);
		if (n == 0)
			return dr_fail(err, USAGE,
			               "--labels: label %zu is empty: give labels as L1,L2 with no "
			               "empty entries",
			               i + 1);
		if (n > LABEL_MAX)
			return dr_fail(err, USAGE,
			               "--labels: label %zu is %zu characters: ARC needs fewer than "
			               "256",
			               i + 1, n);
		for (size_t k = 0; k < n; k++)
			if ((unsigned char)l[k] < 0x20 || l[k] == 0x7f)
				return dr_fail(err, USAGE,
				               "--labels: label %zu contains a control character",
				               i + 1);
		for (size_t j = 0; j < i; j++)
			if (strcmp(labels[j], l) == 0)
				return dr_fail(err, USAGE,
				               "--labels: label \"%s\" is given twice: list each "
				               "label once",
				               l);
	}
	return 0;
}

static int
check_path(const char *flag, const char *spec, const char *path, const char *role,
           dr_err **err)
{
	if (*path != '/')
		return dr_fail(err, USAGE,
		               "%s \"%s\": the %s \"%s\" must be an absolute path (starting "
		               "with /)",
		               flag, spec, role, path);
	for (const char *p = path; *p;) {
		const char *s = strchr(p, '/');
		size_t n = s ? (size_t)(s - p) : strlen(p);
		if (n == 2 && p[0] == '.' && p[1] == '.')
			return dr_fail(err, USAGE,
			               "%s \"%s\": the %s \"%s\" must not contain \"..\": give the "
			               "resolved path",
			               flag, spec, role, path);
		if (!s)
			break;
		p = s + 1;
	}
	for (const char *p = path; *p; p++)
		if ((unsigned char)*p < 0x20)
			return dr_fail(err, USAGE,
			               "%s \"%s\": the %s contains a control character", flag, spec,
			               role);
	return 0;
}

int
dr_validate_source(const char *flag, const char *spec, const char *path, dr_err **err)
{
	return check_path(flag, spec, path, "node path", err);
}

int
dr_validate_target(const char *flag, const char *spec, const char *path, dr_err **err)
{
	if (check_path(flag, spec, path, "container path", err) < 0)
		return -1;
	if (strcmp(path, "/") == 0)
		return dr_fail(err, USAGE,
		               "%s \"%s\": the container path must not be / itself: name a "
		               "directory such as /var/lib/docker",
		               flag, spec);
	if (strstr(path, "//") || strstr(path, "/./") || dr_endswith(path, "/") ||
	    dr_endswith(path, "/."))
		return dr_fail(err, USAGE,
		               "%s \"%s\": the container path \"%s\" is not in normal form: "
		               "remove repeated '/', '.' and trailing '/'",
		               flag, spec, path);
	if (strcmp(path, "/nix/store") == 0)
		return dr_fail(err, USAGE,
		               "%s \"%s\": mounting over /nix/store hides the image's Nix store and "
		               "breaks it: mount the cache at /nix/store-host (and bind it in the "
		               "job) or cache /root/.cache/nix",
		               flag, spec);
	return 0;
}

int
dr_parse_cache(const char *spec, char **source, char **target, dr_err **err)
{
	const char *colon = strchr(spec, ':');
	_cleanup_free_ char *src = NULL, *dst = NULL;
	if (colon) {
		src = dr_xstrndup(spec, (size_t)(colon - spec));
		dst = dr_xstrdup(colon + 1);
		if (strchr(dst, ':'))
			return dr_fail(err, USAGE,
			               "--cache \"%s\": too many ':'; the form is [SRC:]TARGET (use "
			               "--mount SRC:TARGET:TYPE for a typed mount)",
			               spec);
		if (!*src)
			return dr_fail(err, USAGE,
			               "--cache \"%s\": SRC is empty; give SRC:TARGET or just TARGET",
			               spec);
		if (dr_validate_source("--cache", spec, src, err) < 0)
			return -1;
	} else {
		dst = dr_xstrdup(spec);
	}
	if (!*dst)
		return dr_fail(err, USAGE, "--cache \"%s\": TARGET is empty: give the container "
		                           "directory to keep, e.g. --cache /var/lib/docker",
		               spec);
	if (dr_validate_target("--cache", spec, dst, err) < 0)
		return -1;
	*source = TAKE_PTR(src);
	*target = TAKE_PTR(dst);
	return 0;
}

int
dr_parse_mount(const char *spec, char **source, char **target, dr_mount_type *type, dr_err **err)
{
	const char *c1 = strchr(spec, ':');
	if (!c1)
		return dr_fail(err, USAGE,
		               "--mount \"%s\": needs SRC:TARGET[:TYPE], a node path and a "
		               "container path",
		               spec);
	const char *c2 = strchr(c1 + 1, ':');
	_cleanup_free_ char *src = dr_xstrndup(spec, (size_t)(c1 - spec));
	_cleanup_free_ char *dst =
		c2 ? dr_xstrndup(c1 + 1, (size_t)(c2 - c1 - 1)) : dr_xstrdup(c1 + 1);
	dr_mount_type t = DR_MOUNT_DIRECTORY_OR_CREATE;
	if (c2) {
		if (strchr(c2 + 1, ':'))
			return dr_fail(err, USAGE,
			               "--mount \"%s\": too many ':'; the form is SRC:TARGET[:TYPE]",
			               spec);
		if (dr_mount_type_parse(c2 + 1, &t) < 0)
			return dr_fail(err, USAGE,
			               "--mount \"%s\": unknown type \"%s\": use Directory, "
			               "DirectoryOrCreate or Socket",
			               spec, c2 + 1);
	}
	if (!*src || !*dst)
		return dr_fail(err, USAGE,
		               "--mount \"%s\": needs SRC:TARGET[:TYPE], a node path and a "
		               "container path",
		               spec);
	if (dr_validate_source("--mount", spec, src, err) < 0 ||
	    dr_validate_target("--mount", spec, dst, err) < 0)
		return -1;
	*source = TAKE_PTR(src);
	*target = TAKE_PTR(dst);
	*type = t;
	return 0;
}

int
dr_validate_quantity(const char *flag, const char *value, const char *example, dr_err **err)
{
	if (!dr_quantity_valid(value, false))
		return dr_fail(err, USAGE,
		               "%s \"%s\": not a Kubernetes quantity: use e.g. %s", flag, value,
		               example);
	return 0;
}

int
dr_validate_image(const char *flag, const char *image, dr_err **err)
{
	if (!*image)
		return dr_fail(err, USAGE, "%s is empty: name an image, e.g. %s", flag,
		               DR_DEFAULT_RUNNER_IMAGE);
	for (const char *p = image; *p; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7f)
			return dr_fail(err, USAGE,
			               "%s \"%s\": an image reference has no spaces or control "
			               "characters",
			               flag, image);
	return 0;
}

/* scheme://[userinfo@]host[:port][/path]: sets the parts; -1 if malformed. */
static int
split_url(const char *url, const char **host, size_t *host_len, bool *has_userinfo)
{
	const char *p = strstr(url, "://");
	if (!p)
		return -1;
	p += 3;
	const char *end = p + strcspn(p, "/");
	const char *at = memchr(p, '@', (size_t)(end - p));
	*has_userinfo = at != NULL;
	if (at)
		p = at + 1;
	*host = p;
	*host_len = (size_t)(end - p);
	if (strpbrk(url, " \t\r\n?#"))
		return -1;
	return 0;
}

static bool
host_port_ok(const char *h, size_t n)
{
	return host_ok(h, n);
}

int
dr_validate_mirror(const char *url, bool allow_auto, dr_err **err)
{
	if (allow_auto && strcmp(url, "auto") == 0)
		return 0;
	const char *host;
	size_t hl;
	bool cred;
	if ((!dr_startswith(url, "http://") && !dr_startswith(url, "https://")) ||
	    split_url(url, &host, &hl, &cred) < 0 || !host_port_ok(host, hl))
		return dr_fail(err, USAGE,
		               "--registry-mirror \"%s\": not a registry URL: use e.g. "
		               "https://mirror.gcr.io, http://10.0.0.5:5000 or auto",
		               url);
	if (cred)
		return dr_fail(err, USAGE,
		               "--registry-mirror \"%s\": credentials do not belong in a mirror URL "
		               "(the daemon would print them in its logs)",
		               url);
	return 0;
}

int
dr_validate_insecure_registry(const char *h, dr_err **err)
{
	size_t n = strlen(h);
	const char *slash = strchr(h, '/');
	bool ok = n > 0 && n < 256;
	if (ok && slash) { /* CIDR */
		int a, b, c, d, bits;
		char tail;
		ok = sscanf(h, "%d.%d.%d.%d/%d%c", &a, &b, &c, &d, &bits, &tail) == 5 && a >= 0 &&
		     a < 256 && b >= 0 && b < 256 && c >= 0 && c < 256 && d >= 0 && d < 256 &&
		     bits >= 0 && bits <= 32;
	} else if (ok) {
		ok = host_port_ok(h, n);
	}
	if (!ok)
		return dr_fail(err, USAGE,
		               "--insecure-registry \"%s\": give HOST[:PORT] (e.g. registry.local:5000) "
		               "or a CIDR (e.g. 10.0.0.0/8), without a scheme",
		               h);
	return 0;
}

int
dr_validate_proxy(const char *url, dr_err **err)
{
	const char *host;
	size_t hl;
	bool cred;
	if ((!dr_startswith(url, "http://") && !dr_startswith(url, "https://")) ||
	    split_url(url, &host, &hl, &cred) < 0 || !host_port_ok(host, hl))
		return dr_fail(err, USAGE,
		               "--proxy: not a proxy URL: use http://[USER:PASSWORD@]HOST[:PORT], e.g. "
		               "http://proxy.corp:3128");
	return 0;
}

int
dr_parse_no_proxy(const char *spec, char ***hosts, dr_err **err)
{
	_cleanup_strv_ char **out = NULL;
	_cleanup_free_ char *copy = dr_xstrdup(spec);
	size_t i = 0;
	for (char *p = copy;; i++) {
		char *c = strchr(p, ',');
		if (c)
			*c = '\0';
		if (!*p || strpbrk(p, " \t"))
			return dr_fail(err, USAGE,
			               "--no-proxy: entry %zu is empty or has spaces: give HOSTS as "
			               "h1,.domain,10.0.0.0/8",
			               i + 1);
		dr_strv_push(&out, p);
		if (!c)
			break;
		p = c + 1;
	}
	*hosts = TAKE_PTR(out);
	return 0;
}

static bool
all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

static bool
client_id_ok(const char *s)
{
	/* GitHub App client IDs: "Iv1.<hex>" or "Iv23<alnum>". */
	if (!dr_startswith(s, "Iv") || strlen(s) < 6 || strlen(s) > 64)
		return false;
	for (const char *p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '.'))
			return false;
	return true;
}

int
dr_validate_auth(const dr_auth *a, dr_err **err)
{
	if (a->type == DR_AUTH_PAT) {
		if (a->app_id || a->installation_id || a->private_key)
			return dr_fail(err, USAGE,
			               "--app-id, --installation-id and --private-key-file are for "
			               "--auth-type github-app: drop them or set --auth-type "
			               "github-app");
		if (!a->token || !*a->token)
			return dr_fail(err, USAGE,
			               "no GitHub token: give --auth-value-file PATH, --auth-value - "
			               "(read from stdin) or --auth-value TOKEN");
		for (const char *p = a->token; *p; p++)
			if ((unsigned char)*p <= 0x20 || *p == 0x7f)
				return dr_fail(err, USAGE,
				               "--auth-value: the token contains whitespace or a "
				               "control character: give the token alone");
		return 0;
	}
	if (a->token)
		return dr_fail(err, USAGE,
		               "--auth-type github-app takes its key from --private-key-file, not "
		               "a token");
	if (!a->app_id || !*a->app_id)
		return dr_fail(err, USAGE,
		               "--auth-type github-app needs --app-id ID (the App ID or client ID "
		               "from the App's settings page)");
	if (!all_digits(a->app_id) && !client_id_ok(a->app_id))
		return dr_fail(err, USAGE,
		               "--app-id \"%s\": must be the numeric App ID or the client ID "
		               "(Iv1.../Iv23...)",
		               a->app_id);
	if (!a->installation_id || !*a->installation_id)
		return dr_fail(err, USAGE,
		               "--auth-type github-app needs --installation-id ID (the number at "
		               "the end of the installation's settings URL)");
	if (!all_digits(a->installation_id))
		return dr_fail(err, USAGE, "--installation-id \"%s\": must be a number",
		               a->installation_id);
	if (!a->private_key || !*a->private_key)
		return dr_fail(err, USAGE,
		               "--auth-type github-app needs --private-key-file PATH (the .pem "
		               "downloaded from the App's settings page)");
	const char *why = NULL;
	if (dr_pem_private_key_check(a->private_key, &why) < 0)
		return dr_fail(err, USAGE,
		               "--private-key-file: not a usable PEM private key: %s; give the "
		               ".pem file GitHub generated for the App",
		               why);
	return 0;
}

static int
check_unique_targets(const dr_runner *r, dr_err **err)
{
	size_t n = r->n_caches + r->n_mounts;
	for (size_t i = 0; i < n; i++) {
		const char *ti = i < r->n_caches ? r->caches[i].target
		                                 : r->mounts[i - r->n_caches].target;
		for (size_t j = 0; j < i; j++) {
			const char *tj = j < r->n_caches ? r->caches[j].target
			                                 : r->mounts[j - r->n_caches].target;
			if (strcmp(ti, tj) == 0)
				return dr_fail(err, USAGE,
				               "%s: container path %s is given twice (as %s and %s): "
				               "mount each path once",
				               i < r->n_caches ? "--cache" : "--mount", ti,
				               j < r->n_caches ? "--cache" : "--mount",
				               i < r->n_caches ? "--cache" : "--mount");
		}
	}
	return 0;
}

bool
dr_runner_persistent_docker(const dr_runner *r)
{
	const dr_mode *m = r->mode;
	if (strcmp(m->name, "dind-daemonset") == 0 || strcmp(m->name, "kubernetes") == 0)
		return false; /* one shared daemon per node / no daemon */
	if (m->daemon_tuning)
		return dr_runner_docker_storage(r) == DR_STORAGE_HOSTPATH ||
		       dr_runner_docker_storage(r) == DR_STORAGE_PVC;
	return dr_runner_docker_cache(r) >= 0; /* a job pod's own dockerd on the cache */
}

/* The modes an option applies to, for messages: "dind and dind-daemonset". */
static char *
modes_with(size_t flag_offset)
{
	_cleanup_buf_ dr_buf b = DR_BUF_INIT(0);
	size_t n = 0, total = 0;
	for (size_t i = 0; dr_modes[i]; i++)
		total += *(const bool *)((const char *)dr_modes[i] + flag_offset);
	for (size_t i = 0; dr_modes[i]; i++) {
		if (!*(const bool *)((const char *)dr_modes[i] + flag_offset))
			continue;
		n++;
		dr_buf_printf(&b, "%s%s", n == 1 ? "" : n == total ? " and " : ", ", dr_modes[i]->name);
	}
	return dr_buf_steal(&b);
}

static int
not_for_mode(const dr_runner *r, const char *flag, size_t flag_offset, dr_err **err)
{
	_cleanup_free_ char *modes = modes_with(flag_offset);
	return dr_fail(err, USAGE, "%s is for mode%s %s; this runner's mode is %s", flag,
	               strchr(modes, ' ') ? "s" : "", modes, r->mode->name);
}

#define MODE_FLAG(f) offsetof(dr_mode, f)

static int
validate_docker_options(const dr_runner *r, dr_err **err)
{
	const dr_mode *m = r->mode;
	/* Daemon tuning: only where deskrun runs the daemon. */
	struct {
		const char *flag;
		bool set;
	} tuning[] = {
		{ "--registry-mirror", r->registry_mirrors != NULL },
		{ "--insecure-registry", r->insecure_registries != NULL },
		{ "--mtu", r->mtu != 0 },
		{ "--dockerd-cpu", r->dockerd_cpu != NULL },
		{ "--dockerd-memory", r->dockerd_memory != NULL },
		{ "--docker-storage", r->docker_storage != DR_STORAGE_DEFAULT },
		{ "--docker-storage-size", r->docker_storage_size != NULL },
		{ "--dind-image", r->dind_image != NULL },
		{ "--cache-pool", r->cache_pool != 0 },
		{ "--cache-max-size", r->cache_max_size != NULL },
	};
	for (size_t i = 0; i < DR_ARRAY_LEN(tuning); i++)
		if (tuning[i].set && !m->daemon_tuning)
			return not_for_mode(r, tuning[i].flag, MODE_FLAG(daemon_tuning), err);
	if (r->buildkit && !m->docker_client)
		return not_for_mode(r, "--buildkit", MODE_FLAG(docker_client), err);
	if (r->guard_image && !m->guard)
		return not_for_mode(r, "--guard-image", MODE_FLAG(guard), err);
	if (r->no_guard && !m->needs_node_docker)
		return not_for_mode(r, "--no-guard", MODE_FLAG(needs_node_docker), err);
	if (r->cluster_builds && !m->cluster_builds)
		return not_for_mode(r, "--cluster-builds", MODE_FLAG(cluster_builds), err);

	for (size_t i = 0; r->registry_mirrors && r->registry_mirrors[i]; i++)
		if (dr_validate_mirror(r->registry_mirrors[i], true, err) < 0)
			return -1;
	for (size_t i = 0; r->insecure_registries && r->insecure_registries[i]; i++)
		if (dr_validate_insecure_registry(r->insecure_registries[i], err) < 0)
			return -1;
	if (r->mtu && (r->mtu < 68 || r->mtu > 65535))
		return dr_fail(err, USAGE,
		               "--mtu %d: out of range: an MTU is 68..65535 (1500 for Ethernet, "
		               "1450 under VXLAN overlays)",
		               r->mtu);
	if (r->dockerd_cpu && dr_validate_quantity("--dockerd-cpu", r->dockerd_cpu, "500m or 2", err) < 0)
		return -1;
	if (r->dockerd_memory &&
	    dr_validate_quantity("--dockerd-memory", r->dockerd_memory, "1Gi or 4Gi", err) < 0)
		return -1;
	if (r->docker_storage_size &&
	    dr_validate_quantity("--docker-storage-size", r->docker_storage_size, "20Gi", err) < 0)
		return -1;
	int docker_cache = dr_runner_docker_cache(r);
	if (docker_cache >= 0 && r->docker_storage != DR_STORAGE_DEFAULT &&
	    r->docker_storage != DR_STORAGE_HOSTPATH)
		return dr_fail(err, USAGE,
		               "--docker-storage %s and --cache /var/lib/docker both place the "
		               "daemon's data: give one",
		               dr_docker_storage_name(r->docker_storage));
	if (r->docker_storage_size && r->docker_storage != DR_STORAGE_PVC)
		return dr_fail(err, USAGE,
		               "--docker-storage-size is the size of the pvc storage: add "
		               "--docker-storage pvc or drop it");
	if (r->dind_image && dr_validate_image("--dind-image", r->dind_image, err) < 0)
		return -1;
	if (r->helper_image && dr_validate_image("--helper-image", r->helper_image, err) < 0)
		return -1;
	if (r->guard_image && dr_validate_image("--guard-image", r->guard_image, err) < 0)
		return -1;
	if (r->cache_pool < 0 || r->cache_pool > 64)
		return dr_fail(err, USAGE, "--cache-pool %d: give 1..64 slots per node", r->cache_pool);
	if (r->cache_pool && r->instances > 1)
		return dr_fail(err, USAGE,
		               "--cache-pool with --instances %d: both answer how runners get warm "
		               "caches; the pool lets one autoscaling scale set lease a slot per "
		               "runner, instances pin one runner per set: choose one",
		               r->instances);
	if (r->cache_pool && (docker_cache >= 0 || r->docker_storage != DR_STORAGE_DEFAULT))
		return dr_fail(err, USAGE,
		               "--cache-pool keeps /var/lib/docker in its leased slots: drop "
		               "--docker-storage and --cache /var/lib/docker");
	if (r->cache_max_size && !r->cache_pool)
		return dr_fail(err, USAGE, "--cache-max-size is the quota of a --cache-pool slot: add "
		                           "--cache-pool N or drop it");
	if (r->cache_max_size &&
	    dr_validate_quantity("--cache-max-size", r->cache_max_size, "20Gi", err) < 0)
		return -1;
	if (r->dind_image_has_deskrun && !r->cache_pool)
		return dr_fail(err, USAGE, "--dind-image-has-deskrun is how a --cache-pool daemon "
		                           "gets deskrun: add --cache-pool N or drop it");
	if (r->dind_image_has_deskrun && !r->dind_image)
		return dr_fail(err, USAGE,
		               "--dind-image-has-deskrun: the default %s has no deskrun: build one "
		               "with 'deskrun image build --dind --tag NAME' and add --dind-image NAME",
		               DR_DEFAULT_DIND_IMAGE);
	if (r->proxy && dr_validate_proxy(r->proxy, err) < 0)
		return -1;
	if (r->no_proxy && !r->proxy)
		return dr_fail(err, USAGE, "--no-proxy needs --proxy URL");

	if (dr_runner_persistent_docker(r) && r->max_runners > 1)
		return dr_fail(err, USAGE,
		               "--max-runners %d with a persistent /var/lib/docker: two daemons must "
		               "never share one data root; use --max-runners 1, --instances N (one "
		               "cache each) or --docker-storage ephemeral",
		               r->max_runners);
	return 0;
}

int
dr_validate_runner(const dr_runner *r, dr_err **err)
{
	if (dr_validate_name(r->name, r->instances, err) < 0)
		return -1;
	_cleanup_free_ char *norm = NULL;
	if (dr_validate_repository(r->repository, &norm, err) < 0)
		return -1;
	if (strcmp(norm, r->repository) != 0)
		return dr_fail(err, USAGE, "--repository \"%s\" is not normalised (expected \"%s\")",
		               r->repository, norm);
	if (r->instances < 1)
		return dr_fail(err, USAGE, "--instances %d: must be 1 or more", r->instances);
	if (r->min_runners < 0)
		return dr_fail(err, USAGE, "--min-runners %d: must be 0 or more", r->min_runners);
	if (r->max_runners < 0)
		return dr_fail(err, USAGE, "--max-runners %d: must be 0 or more", r->max_runners);
	if (r->min_runners > r->max_runners)
		return dr_fail(err, USAGE,
		               "--min-runners %d is more than --max-runners %d: set --min-runners "
		               "<= --max-runners",
		               r->min_runners, r->max_runners);
	if (r->instances > 1 && r->max_runners != 1)
		return dr_fail(err, USAGE,
		               "--max-runners %d with --instances %d: each instance is one runner "
		               "with its own caches (max 1); drop --max-runners or use --instances 1",
		               r->max_runners, r->instances);
	if (dr_validate_labels(r->labels, err) < 0)
		return -1;
	for (size_t i = 0; i < r->n_caches; i++) {
		const dr_cache *c = &r->caches[i];
		if ((c->source && dr_validate_source("--cache", c->target, c->source, err) < 0) ||
		    dr_validate_target("--cache", c->target, c->target, err) < 0)
			return -1;
	}
	for (size_t i = 0; i < r->n_mounts; i++) {
		const dr_mount *m = &r->mounts[i];
		if (dr_validate_source("--mount", m->target, m->source, err) < 0 ||
		    dr_validate_target("--mount", m->target, m->target, err) < 0)
			return -1;
	}
	if (check_unique_targets(r, err) < 0)
		return -1;
	if (r->runner_image && dr_validate_image("--runner-image", r->runner_image, err) < 0)
		return -1;
	if (r->namespace && !dr_is_dns_label(r->namespace))
		return dr_fail(err, USAGE,
		               "--namespace \"%s\": not a valid namespace (lowercase letters, "
		               "digits and '-', at most 63)",
		               r->namespace);
	if (r->cpu && dr_validate_quantity("--cpu", r->cpu, "500m or 2", err) < 0)
		return -1;
	if (r->memory && dr_validate_quantity("--memory", r->memory, "512Mi or 4Gi", err) < 0)
		return -1;
	if (r->work_volume_size &&
	    dr_validate_quantity("--work-volume-size", r->work_volume_size, "1Gi or 10Gi", err) < 0)
		return -1;
	if (r->storage_class && !dr_is_dns_subdomain(r->storage_class))
		return dr_fail(err, USAGE,
		               "--storage-class \"%s\": not a valid StorageClass name (lowercase "
		               "letters, digits, '-' and '.')",
		               r->storage_class);
	if (dr_validate_auth(&r->auth, err) < 0)
		return -1;
	if (validate_docker_options(r, err) < 0)
		return -1;
	if (r->mode->validate && r->mode->validate(r, err) < 0)
		return -1;
	return 0;
}

int
dr_validate_settings(const dr_settings *s, dr_err **err)
{
	if (dr_validate_source("cache-root", s->cache_root, s->cache_root, err) < 0)
		return -1;
	if (strcmp(s->cache_root, "/") == 0)
		return dr_fail(err, USAGE, "cache-root must not be / itself");
	if (s->daemon_cache_root && *s->daemon_cache_root) {
		if (dr_validate_source("daemon-cache-root", s->daemon_cache_root, s->daemon_cache_root,
		                       err) < 0)
			return -1;
		if (strcmp(s->daemon_cache_root, "/") == 0)
			return dr_fail(err, USAGE, "daemon-cache-root must not be / itself: give the "
			               "directory behind cache-root as the node's daemon sees it");
	}
	if (!dr_is_dns_label(s->controller_namespace))
		return dr_fail(err, USAGE,
		               "controller-namespace \"%s\": not a valid namespace name",
		               s->controller_namespace);
	if (!dr_is_dns_subdomain(s->controller_sa))
		return dr_fail(err, USAGE,
		               "controller-service-account \"%s\": not a valid ServiceAccount name",
		               s->controller_sa);
	return dr_validate_controller_chart(s->controller_chart, err);
}

int
dr_validate_controller_chart(const char *chart, dr_err **err)
{
	if (!chart || !*chart)
		return 0;
	bool oci = strncmp(chart, "oci://", 6) == 0;
	if (oci ? !chart[6] || chart[6] == '/' : chart[0] != '/')
		return dr_fail(err, USAGE,
		               "controller-chart \"%s\": give an absolute path to a chart directory "
		               "or .tgz archive, or an oci://HOST/PATH/gha-runner-scale-set-controller "
		               "reference (empty: ghcr.io's chart)",
		               chart);
	for (const char *p = chart; *p; p++)
		if ((unsigned char)*p < 0x20 || (oci && *p == ' '))
			return dr_fail(err, USAGE,
			               "controller-chart \"%s\": a control character%s is not allowed",
			               chart, oci ? " or space" : "");
	return 0;
}

static bool
strv_equal(char *const *a, char *const *b)
{
	size_t n = dr_strv_len(a);
	if (n != dr_strv_len(b))
		return false;
	for (size_t i = 0; i < n; i++)
		if (strcmp(a[i], b[i]) != 0)
			return false;
	return true;
}

static bool
str_equal(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

int
dr_check_shared_daemon(const dr_config *c, const dr_runner *r, dr_err **err)
{
	if (strcmp(r->mode->name, "dind-daemonset") != 0)
		return 0;
	for (size_t i = 0; i < c->n_runners; i++) {
		const dr_runner *o = c->runners[i];
		if (strcmp(o->name, r->name) == 0 || strcmp(o->mode->name, "dind-daemonset") != 0)
			continue;
		if (!strv_equal(o->registry_mirrors, r->registry_mirrors) ||
		    !strv_equal(o->insecure_registries, r->insecure_registries) || o->mtu != r->mtu ||
		    !str_equal(o->dockerd_cpu, r->dockerd_cpu) ||
		    !str_equal(o->dockerd_memory, r->dockerd_memory) ||
		    !str_equal(o->dind_image, r->dind_image) || o->cache_pool != r->cache_pool ||
		    !str_equal(o->cache_max_size, r->cache_max_size) ||
		    o->dind_image_has_deskrun != r->dind_image_has_deskrun ||
		    dr_runner_docker_storage(o) != dr_runner_docker_storage(r))
			return dr_fail(err, USAGE,
			               "runner %s uses dind-daemonset with other daemon settings "
			               "(--registry-mirror, --insecure-registry, --mtu, --dockerd-cpu, "
			               "--dockerd-memory, --dind-image, --docker-storage, --cache-pool, "
			               "--dind-image-has-deskrun): "
			               "the node's "
			               "shared daemon has one configuration; give the same ones",
			               o->name);
	}
	return 0;
}
