/* policy.c: the guard's policy (safe defaults, widened per tenant by --policy FILE), image
 * reference parsing, and the filters applied to the few responses that list objects of every
 * tenant (images, system df, info, predefined networks). */
#include "lib/common.h"
#include "guard/guard.h"
#include "guard/gjson.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <sys/socket.h>

static char **
strv_from_json(json_t *a, const char *key, dr_err **err, int *bad)
{
	if (!json_is_array(a)) {
		*bad = 1;
		dr_fail(err, DR_EXIT_USAGE, "policy \"%s\": expected an array of strings", key);
		return NULL;
	}
	char **v = dr_xcalloc(1, sizeof(char *));
	size_t i;
	json_t *e;
	json_array_foreach(a, i, e) {
		if (!json_is_string(e)) {
			dr_strv_free(v);
			*bad = 1;
			dr_fail(err, DR_EXIT_USAGE, "policy \"%s\": expected an array of strings", key);
			return NULL;
		}
		dr_strv_push(&v, json_string_value(e));
	}
	return v;
}

void
gd_policy_clear(gd_policy *p)
{
	dr_strv_free(p->allow_bind);
	dr_strv_free(p->capabilities);
	dr_strv_free(p->sysctls);
	dr_strv_free(p->runtimes);
	dr_strv_free(p->log_drivers);
	dr_strv_free(p->image_namespaces);
	dr_strv_free(p->registries);
	dr_strv_free(p->reserved_prefixes);
	dr_strv_free(p->subnets);
	dr_strv_free(p->buildkit_entitlements);
	memset(p, 0, sizeof(*p));
}

static int policy_load(gd_policy *p, const char *file, dr_err **err);

int
gd_policy_load(gd_policy *p, const char *file, dr_err **err)
{
	if (policy_load(p, file, err) == 0)
		return 0;
	gd_policy_clear(p); /* a bad file leaves nothing half-loaded behind */
	return -1;
}

static int
policy_load(gd_policy *p, const char *file, dr_err **err)
{
	memset(p, 0, sizeof(*p));
	p->min_api_minor = 41;
	p->max_body = 1024 * 1024;
	p->buildkit = true; /* read and checked (decide_grpc.c, dockerfile.c); "buildkit": false */
	if (!file)
		return 0;
	json_error_t je;
	_cleanup_json_ json_t *j = json_load_file(file, JSON_REJECT_DUPLICATES, &je);
	if (!j)
		return dr_fail(err, DR_EXIT_USAGE, "--policy %s: %s (line %d)", file, je.text, je.line);
	if (!json_is_object(j))
		return dr_fail(err, DR_EXIT_USAGE, "--policy %s: expected a JSON object", file);
	const struct { const char *key; char ***v; } lists[] = {
		{ "allow_bind", &p->allow_bind }, { "capabilities", &p->capabilities },
		{ "sysctls", &p->sysctls }, { "runtimes", &p->runtimes },
		{ "log_drivers", &p->log_drivers }, { "image_namespaces", &p->image_namespaces },
		{ "registries", &p->registries }, { "reserved_name_prefixes", &p->reserved_prefixes },
		{ "subnets", &p->subnets }, { "buildkit_entitlements", &p->buildkit_entitlements },
	};
	const struct { const char *key; bool *v; } flags[] = {
		{ "publish_all_interfaces", &p->publish_all_interfaces },
		{ "restart_always", &p->restart_always }, { "buildkit", &p->buildkit },
		{ "require_name_prefix", &p->require_name_prefix },
	};
	const char *k;
	json_t *v;
	json_object_foreach(j, k, v) {
		bool known = false;
		int bad = 0;
		for (size_t i = 0; i < DR_ARRAY_LEN(lists); i++)
			if (strcmp(k, lists[i].key) == 0) {
				*lists[i].v = strv_from_json(v, k, err, &bad);
				known = true;
			}
		for (size_t i = 0; i < DR_ARRAY_LEN(flags); i++)
			if (strcmp(k, flags[i].key) == 0) {
				if (!json_is_boolean(v))
					return dr_fail(err, DR_EXIT_USAGE, "--policy %s: \"%s\" must be true or "
					               "false",
					               file, k);
				*flags[i].v = json_is_true(v);
				known = true;
			}
		if (strcmp(k, "version") == 0) {
			if (json_integer_value(v) != 1)
				return dr_fail(err, DR_EXIT_USAGE, "--policy %s: \"version\" must be 1", file);
			known = true;
		}
		if (strcmp(k, "min_api_version") == 0) {
			const char *s = json_string_value(v);
			if (!s || !dr_startswith(s, "1.") || !isdigit((unsigned char)s[2]))
				return dr_fail(err, DR_EXIT_USAGE, "--policy %s: \"min_api_version\" must look "
				               "like \"1.41\"",
				               file);
			p->min_api_minor = (int)strtol(s + 2, NULL, 10);
			known = true;
		}
		if (strcmp(k, "max_body_bytes") == 0) {
			if (!json_is_integer(v) || json_integer_value(v) < 4096 ||
			    json_integer_value(v) > 64 * 1024 * 1024)
				return dr_fail(err, DR_EXIT_USAGE, "--policy %s: \"max_body_bytes\" must be "
				               "between 4096 and 67108864",
				               file);
			p->max_body = (size_t)json_integer_value(v);
			known = true;
		}
		if (bad)
			return dr_err_prefix(err, "--policy %s", file);
		if (!known)
			return dr_fail(err, DR_EXIT_USAGE, "--policy %s: unknown key \"%s\" (see "
			               "deskrun-guard(1))",
			               file, k);
	}
	/* A subnet that does not parse, or with bits past its prefix (10.201.5.0/16: a typo for
	 * /24, or for 10.201.0.0?), is an error now rather than a refusal at every create. */
	for (size_t i = 0; p->subnets && p->subnets[i]; i++) {
		gd_cidr n;
		if (gd_cidr_parse(p->subnets[i], true, &n) < 0)
			return dr_fail(err, DR_EXIT_USAGE, "--policy %s: \"subnets\": \"%s\" is not a CIDR "
			               "such as \"10.201.0.0/16\" or \"fd00:0:0:1::/64\"",
			               file, p->subnets[i]);
		gd_cidr net = n;
		for (unsigned b = net.bits; b < (net.family == AF_INET ? 32u : 128u); b++)
			net.addr[b / 8] &= (unsigned char)~(0x80u >> (b % 8));
		if (memcmp(net.addr, n.addr, sizeof(n.addr)) != 0) {
			char a[INET6_ADDRSTRLEN];
			inet_ntop(net.family, net.addr, a, sizeof(a));
			return dr_fail(err, DR_EXIT_USAGE, "--policy %s: \"subnets\": \"%s\" has bits set "
			               "past its prefix length; the network is %s/%u",
			               file, p->subnets[i], a, net.bits);
		}
	}
	for (size_t i = 0; p->capabilities && p->capabilities[i]; i++) {
		char *c = p->capabilities[i];
		if (dr_startswith(c, "CAP_") || dr_startswith(c, "cap_"))
			memmove(c, c + 4, strlen(c + 4) + 1);
		for (char *x = c; *x; x++)
			*x = (char)toupper((unsigned char)*x);
	}
	return 0;
}

/* ---- addresses ---- */

int
gd_cidr_parse(const char *s, bool prefix, gd_cidr *out)
{
	memset(out, 0, sizeof(*out));
	const char *slash = strchr(s, '/');
	if (prefix != (slash != NULL))
		return -1;
	size_t n = slash ? (size_t)(slash - s) : strlen(s);
	char a[INET6_ADDRSTRLEN];
	if (n == 0 || n >= sizeof(a))
		return -1;
	memcpy(a, s, n);
	a[n] = '\0';
	/* inet_pton reads IPv4 as four decimal octets, leading zeros refused, and IPv6 as hex
	 * groups (no zone); an IPv4 tail in IPv6 is refused here too (see guard.h). */
	if (strchr(a, ':')) {
		if (strchr(a, '.') || inet_pton(AF_INET6, a, out->addr) != 1)
			return -1;
		out->family = AF_INET6;
		out->bits = 128;
	} else {
		if (inet_pton(AF_INET, a, out->addr) != 1)
			return -1;
		out->family = AF_INET;
		out->bits = 32;
	}
	if (!slash)
		return 0;
	const char *p = slash + 1;
	size_t pl = strlen(p);
	if (pl == 0 || pl > 3 || (p[0] == '0' && pl > 1))
		return -1;
	unsigned bits = 0;
	for (; *p; p++) {
		if (!isdigit((unsigned char)*p))
			return -1;
		bits = bits * 10 + (unsigned)(*p - '0');
	}
	if (bits > out->bits)
		return -1;
	out->bits = bits;
	return 0;
}

bool
gd_cidr_contains(const gd_cidr *outer, const gd_cidr *inner)
{
	if (outer->family != inner->family || inner->bits < outer->bits)
		return false;
	unsigned whole = outer->bits / 8, rest = outer->bits % 8;
	if (memcmp(outer->addr, inner->addr, whole) != 0)
		return false;
	if (!rest)
		return true;
	unsigned char mask = (unsigned char)(0xffu << (8 - rest));
	return (outer->addr[whole] & mask) == (inner->addr[whole] & mask);
}

/* ---- image references (docker/distribution grammar, simplified but strict) ---- */

void
gd_ref_clear(gd_ref *r)
{
	free(r->domain);
	free(r->path);
	free(r->tag);
	free(r->digest);
	memset(r, 0, sizeof(*r));
}

static bool
valid_component(const char *s, size_t n)
{
	if (n == 0 || !isalnum((unsigned char)s[0]) || !isalnum((unsigned char)s[n - 1]))
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!(islower(c) || isdigit(c) || c == '.' || c == '_' || c == '-'))
			return false;
	}
	return true;
}

int
gd_ref_parse(const char *s, gd_ref *r)
{
	memset(r, 0, sizeof(*r));
	if (!*s || strlen(s) > 512)
		return -1;
	_cleanup_free_ char *name = dr_xstrdup(s);
	char *at = strchr(name, '@');
	if (at) {
		*at = '\0';
		if (!dr_startswith(at + 1, "sha256:") || strlen(at + 1) != 71)
			return -1;
		r->digest = dr_xstrdup(at + 1);
	}
	char *slash = strrchr(name, '/');
	char *colon = strrchr(slash ? slash : name, ':');
	if (colon) {
		*colon = '\0';
		const char *t = colon + 1;
		if (!*t || strlen(t) > 128 || !(isalnum((unsigned char)t[0]) || t[0] == '_'))
			goto bad;
		for (const char *c = t; *c; c++)
			if (!(isalnum((unsigned char)*c) || *c == '_' || *c == '.' || *c == '-'))
				goto bad;
		r->tag = dr_xstrdup(t);
	}
	char *first_slash = strchr(name, '/');
	const char *path = name;
	if (first_slash) {
		size_t dl = (size_t)(first_slash - name);
		_cleanup_free_ char *dom = dr_xstrndup(name, dl);
		if (strchr(dom, '.') || strchr(dom, ':') || strcmp(dom, "localhost") == 0) {
			for (const char *c = dom; *c; c++)
				if (!(isalnum((unsigned char)*c) || strchr(".-:[]", *c)))
					goto bad;
			r->domain = strcmp(dom, "index.docker.io") == 0 ? dr_xstrdup("docker.io")
			                                                : TAKE_PTR(dom);
			path = first_slash + 1;
		}
	}
	if (!r->domain)
		r->domain = dr_xstrdup("docker.io");
	for (const char *c = path;;) {
		const char *e = strchr(c, '/');
		size_t n = e ? (size_t)(e - c) : strlen(c);
		if (!valid_component(c, n))
			goto bad;
		if (!e)
			break;
		c = e + 1;
	}
	if (strcmp(r->domain, "docker.io") == 0 && !strchr(path, '/'))
		r->path = dr_xasprintf("library/%s", path);
	else
		r->path = dr_xstrdup(path);
	return 0;
bad:
	gd_ref_clear(r);
	return -1;
}

/* ---- response filters ---- */

static bool
labeled_mine(const gd_ctx *c, json_t *o)
{
	const char *owner = json_string_value(json_object_get(json_object_get(o, "Labels"),
	                                                      GD_LABEL_TENANT));
	return owner && strcmp(owner, c->tenant) == 0;
}

static bool
image_visible(const gd_ctx *c, json_t *img)
{
	json_t *labels = json_object_get(img, "Labels");
	const char *owner = json_string_value(json_object_get(labels, GD_LABEL_TENANT));
	if (owner)
		return strcmp(owner, c->tenant) == 0;
	size_t i;
	json_t *t;
	json_array_foreach(json_object_get(img, "RepoTags"), i, t) {
		if (json_is_string(t) && gd_ref_mine(c, json_string_value(t)))
			return true;
	}
	const char *id = json_string_value(json_object_get(img, "Id"));
	return id && c->res->image_recorded && c->res->image_recorded(c->res->ctx, id, NULL);
}

/* Keep only the tags that are the tenant's: in its namespace, or pulled by it. */
static void
own_tags(const gd_ctx *c, json_t *img)
{
	json_t *tags = json_object_get(img, "RepoTags");
	if (!json_is_array(tags))
		return;
	const char *id = json_string_value(json_object_get(img, "Id"));
	bool built = labeled_mine(c, img);
	json_t *keep = json_array();
	size_t i;
	json_t *t;
	json_array_foreach(tags, i, t) {
		const char *s = json_string_value(t);
		gd_ref r;
		bool action = false;
		if (built && s && gd_ref_parse(s, &r) == 0) {
			action = gd_runner_action_ref(&r); /* the runner's <L>:<guid> of its build */
			gd_ref_clear(&r);
		}
		if (s && (action || gd_ref_mine(c, s) ||
		          (id && c->res->image_recorded && c->res->image_recorded(c->res->ctx, id, s))))
			json_array_append(keep, t);
	}
	json_object_set_new(img, "RepoTags", keep);
}

static json_t *
filter_array(const gd_ctx *c, json_t *a, bool images, long long *size_sum)
{
	json_t *out = json_array();
	size_t i;
	json_t *e;
	json_array_foreach(a, i, e) {
		bool keep = images ? image_visible(c, e) : labeled_mine(c, e);
		if (!keep)
			continue;
		if (images)
			own_tags(c, e);
		if (size_sum)
			*size_sum += json_integer_value(json_object_get(e, "Size"));
		json_array_append(out, e);
	}
	return out;
}

char *
gd_post_filter(const gd_ctx *c, gd_post post, const char *arg, int status, const char *body,
               size_t len, size_t *out_len)
{
	(void)arg;
	json_error_t je;
	_cleanup_json_ json_t *j = NULL;
	char *out = NULL;
	switch (post) {
	case GD_POST_NONE:
	case GD_POST_EXEC_CREATED:
	case GD_POST_PULLED:
		return NULL;
	case GD_POST_CONTAINER_CREATED: {
		if (status != 409)
			return NULL;
		j = json_loadb(body, len, 0, &je);
		const char *m = json_string_value(json_object_get(j, "message"));
		const char *cut = m ? strstr(m, " is already in use by container") : NULL;
		if (!cut)
			return NULL;
		_cleanup_free_ char *head = dr_xstrndup(m, (size_t)(cut - m));
		_cleanup_json_ json_t *nj = json_pack("{s:s+}", "message", head,
		                                      " is already in use: choose another name.");
		out = gd_json_dump(nj);
		break;
	}
	case GD_POST_IMAGES_LIST:
		if (status != 200)
			return NULL;
		j = json_loadb(body, len, 0, &je);
		if (!json_is_array(j))
			return NULL;
		{
			_cleanup_json_ json_t *f = filter_array(c, j, true, NULL);
			out = gd_json_dump(f);
		}
		break;
	case GD_POST_SYSTEM_DF: {
		if (status != 200)
			return NULL;
		j = json_loadb(body, len, 0, &je);
		if (!json_is_object(j))
			return NULL;
		long long layers = 0;
		json_t *imgs = json_object_get(j, "Images");
		if (json_is_array(imgs))
			json_object_set_new(j, "Images", filter_array(c, imgs, true, &layers));
		json_object_set_new(j, "LayersSize", json_integer(layers));
		static const char *const keys[] = { "Containers", "Volumes" };
		for (size_t i = 0; i < DR_ARRAY_LEN(keys); i++) {
			json_t *a = json_object_get(j, keys[i]);
			if (json_is_array(a))
				json_object_set_new(j, keys[i], filter_array(c, a, false, NULL));
		}
		if (json_object_get(j, "BuildCache"))
			json_object_set_new(j, "BuildCache", json_array());
		out = gd_json_dump(j);
		break;
	}
	case GD_POST_INFO: {
		if (status != 200)
			return NULL;
		j = json_loadb(body, len, 0, &je);
		if (!json_is_object(j))
			return NULL;
		static const char *const counts[] = { "Containers", "ContainersRunning",
			                              "ContainersPaused", "ContainersStopped", "Images" };
		for (size_t i = 0; i < DR_ARRAY_LEN(counts); i++)
			if (json_object_get(j, counts[i]))
				json_object_set_new(j, counts[i], json_integer(0));
		/* The daemon's data directory is a path on the node (its disk layout, where the other
		 * tenants' layers and volumes live): blank, like the counts. */
		if (json_object_get(j, "DockerRootDir"))
			json_object_set_new(j, "DockerRootDir", json_string(""));
		out = gd_json_dump(j);
		break;
	}
	case GD_POST_VOLUMES_LIST: {
		if (status != 200)
			return NULL;
		j = json_loadb(body, len, 0, &je);
		json_t *vols = json_object_get(j, "Volumes");
		if (!json_is_array(vols))
			return NULL;
		json_t *keep = json_array();
		size_t i;
		json_t *v;
		json_array_foreach(vols, i, v) {
			const char *name = json_string_value(json_object_get(v, "Name"));
			if (labeled_mine(c, v) ||
			    (name && c->res->volume_recorded && c->res->volume_recorded(c->res->ctx, name)))
				json_array_append(keep, v);
		}
		json_object_set_new(j, "Volumes", keep);
		out = gd_json_dump(j);
		break;
	}
	case GD_POST_NETWORK_INSPECT: {
		if (status != 200)
			return NULL;
		j = json_loadb(body, len, 0, &je);
		json_t *cs = json_object_get(j, "Containers");
		if (!json_is_object(cs))
			return NULL;
		json_t *keep = json_object();
		const char *id;
		json_t *v;
		json_object_foreach(cs, id, v) {
			gd_obj o;
			if (c->res->container(c->res->ctx, id, &o) == 0 && o.own == GD_MINE)
				json_object_set(keep, id, v);
		}
		json_object_set_new(j, "Containers", keep);
		out = gd_json_dump(j);
		break;
	}
	}
	if (out)
		*out_len = strlen(out);
	return out;
}
