/* runner.c: the runner definition and settings, and their JSON form in the config file.
 *
 * Simple fields are described once in tables (key, offset) that drive both directions of the
 * codec; lists and the auth block have their own code. */
#include "lib/common.h"
#include "lib/mode.h"
#include "lib/runner.h"
#include "buildinfo.h"

typedef struct str_field {
	const char *key;
	size_t offset;
} str_field;

typedef struct int_field {
	const char *key;
	size_t offset;
} int_field;

#define RF(field) offsetof(dr_runner, field)

static const str_field runner_strs[] = {
	{ "runner_image", RF(runner_image) },   { "namespace", RF(namespace) },
	{ "cpu", RF(cpu) },                     { "memory", RF(memory) },
	{ "storage_class", RF(storage_class) }, { "work_volume_size", RF(work_volume_size) },
	{ "dockerd_cpu", RF(dockerd_cpu) },     { "dockerd_memory", RF(dockerd_memory) },
	{ "docker_storage_size", RF(docker_storage_size) },
	{ "dind_image", RF(dind_image) },       { "helper_image", RF(helper_image) },
	{ "guard_image", RF(guard_image) },     { "cache_max_size", RF(cache_max_size) },
};

/* Lists; "labels" is always written, the others only when not empty. */
static const str_field runner_strvs[] = {
	{ "labels", RF(labels) },
	{ "registry_mirrors", RF(registry_mirrors) },
	{ "insecure_registries", RF(insecure_registries) },
	{ "no_proxy", RF(no_proxy) },
};

/* Flags, written only when set. */
static const str_field runner_bools[] = {
	{ "buildkit", RF(buildkit) },
	{ "no_guard", RF(no_guard) },
	{ "cluster_builds", RF(cluster_builds) },
	{ "dind_image_has_deskrun", RF(dind_image_has_deskrun) },
};

static const int_field runner_ints[] = {
	{ "min_runners", RF(min_runners) },
	{ "max_runners", RF(max_runners) },
	{ "instances", RF(instances) },
};

static char **
str_at(void *base, size_t off)
{
	return (char **)((char *)base + off);
}

static int *
int_at(void *base, size_t off)
{
	return (int *)((char *)base + off);
}

static char ***
strv_at(void *base, size_t off)
{
	return (char ***)((char *)base + off);
}

static bool *
bool_at(void *base, size_t off)
{
	return (bool *)((char *)base + off);
}

dr_runner *
dr_runner_new(const char *name)
{
	dr_runner *r = dr_xcalloc(1, sizeof(*r));
	r->name = dr_xstrdup(name);
	r->mode = &dr_mode_kubernetes;
	r->min_runners = DR_DEFAULT_MIN_RUNNERS;
	r->max_runners = DR_DEFAULT_MAX_RUNNERS;
	r->instances = 1;
	return r;
}

void
dr_runner_free(dr_runner *r)
{
	if (!r)
		return;
	free(r->name);
	free(r->repository);
	free(r->proxy);
	for (size_t i = 0; i < DR_ARRAY_LEN(runner_strvs); i++)
		dr_strv_free(*strv_at(r, runner_strvs[i].offset));
	for (size_t i = 0; i < r->n_caches; i++) {
		free(r->caches[i].source);
		free(r->caches[i].target);
	}
	free(r->caches);
	for (size_t i = 0; i < r->n_mounts; i++) {
		free(r->mounts[i].source);
		free(r->mounts[i].target);
	}
	free(r->mounts);
	free(r->auth.token);
	free(r->auth.app_id);
	free(r->auth.installation_id);
	free(r->auth.private_key);
	for (size_t i = 0; i < DR_ARRAY_LEN(runner_strs); i++)
		free(*str_at(r, runner_strs[i].offset));
	free(r);
}

void
dr_runner_add_cache(dr_runner *r, const char *source, const char *target)
{
	r->caches = dr_xrealloc(r->caches, (r->n_caches + 1) * sizeof(*r->caches));
	r->caches[r->n_caches].source = source ? dr_xstrdup(source) : NULL;
	r->caches[r->n_caches].target = dr_xstrdup(target);
	r->n_caches++;
}

void
dr_runner_add_mount(dr_runner *r, const char *source, const char *target, dr_mount_type t)
{
	r->mounts = dr_xrealloc(r->mounts, (r->n_mounts + 1) * sizeof(*r->mounts));
	r->mounts[r->n_mounts].source = dr_xstrdup(source);
	r->mounts[r->n_mounts].target = dr_xstrdup(target);
	r->mounts[r->n_mounts].type = t;
	r->n_mounts++;
}

const char *
dr_runner_image(const dr_runner *r)
{
	return r->runner_image ? r->runner_image : DR_DEFAULT_RUNNER_IMAGE;
}

const char *
dr_runner_namespace(const dr_runner *r)
{
	return r->namespace ? r->namespace : DR_DEFAULT_NAMESPACE;
}

const char *
dr_runner_dind_image(const dr_runner *r)
{
	return r->dind_image ? r->dind_image : DR_DEFAULT_DIND_IMAGE;
}

const char *
dr_runner_helper_image(const dr_runner *r)
{
	return r->helper_image ? r->helper_image
	                       : DR_DEFAULT_HELPER_IMAGE_REPO ":" DESKRUN_VERSION;
}

const char *
dr_runner_guard_image(const dr_runner *r)
{
	return r->guard_image ? r->guard_image : dr_runner_helper_image(r);
}

void
dr_runner_helper_images(const dr_runner *r, char ***images)
{
	if (r->cache_pool && !r->dind_image_has_deskrun &&
	    !dr_strv_contains(*images, dr_runner_helper_image(r)))
		dr_strv_push(images, dr_runner_helper_image(r));
	if (r->mode->guard && !dr_strv_contains(*images, dr_runner_guard_image(r)))
		dr_strv_push(images, dr_runner_guard_image(r));
}

int
dr_runner_docker_cache(const dr_runner *r)
{
	for (size_t i = 0; i < r->n_caches; i++)
		if (strcmp(r->caches[i].target, "/var/lib/docker") == 0)
			return (int)i;
	return -1;
}

dr_docker_storage
dr_runner_docker_storage(const dr_runner *r)
{
	if (r->cache_pool)
		return DR_STORAGE_EPHEMERAL; /* the pool's slots hold the data, not a volume */
	if (dr_runner_docker_cache(r) >= 0)
		return DR_STORAGE_HOSTPATH;
	if (r->docker_storage != DR_STORAGE_DEFAULT)
		return r->docker_storage;
	return strcmp(r->mode->name, "dind-daemonset") == 0 ? DR_STORAGE_HOSTPATH
	                                                    : DR_STORAGE_EPHEMERAL;
}

static const char *const storage_names[] = {
	[DR_STORAGE_DEFAULT] = "default",
	[DR_STORAGE_EPHEMERAL] = "ephemeral",
	[DR_STORAGE_HOSTPATH] = "hostpath",
	[DR_STORAGE_PVC] = "pvc",
};

const char *
dr_docker_storage_name(dr_docker_storage st)
{
	return storage_names[st];
}

int
dr_docker_storage_parse(const char *str, dr_docker_storage *out)
{
	for (size_t i = 1; i < DR_ARRAY_LEN(storage_names); i++)
		if (strcmp(str, storage_names[i]) == 0) {
			*out = (dr_docker_storage)i;
			return 0;
		}
	return -1;
}

/* The proxy URL with any password replaced by "***", for output without secrets. */
static char *
redact_proxy(const char *url)
{
	const char *scheme = strstr(url, "://");
	const char *host = scheme ? scheme + 3 : url;
	const char *at = strchr(host, '@');
	const char *slash = strchr(host, '/');
	if (!at || (slash && slash < at))
		return dr_xstrdup(url);
	const char *colon = memchr(host, ':', (size_t)(at - host));
	size_t user_end = colon ? (size_t)(colon - url) : (size_t)(at - url);
	return dr_xasprintf("%.*s:***%s", (int)user_end, url, at);
}

static const char *const mount_type_names[] = {
	[DR_MOUNT_DIRECTORY_OR_CREATE] = "DirectoryOrCreate",
	[DR_MOUNT_DIRECTORY] = "Directory",
	[DR_MOUNT_SOCKET] = "Socket",
};

const char *
dr_mount_type_name(dr_mount_type t)
{
	return mount_type_names[t];
}

int
dr_mount_type_parse(const char *s, dr_mount_type *out)
{
	for (size_t i = 0; i < DR_ARRAY_LEN(mount_type_names); i++)
		if (strcmp(s, mount_type_names[i]) == 0) {
			*out = (dr_mount_type)i;
			return 0;
		}
	return -1;
}

const char *
dr_auth_type_name(dr_auth_type t)
{
	return t == DR_AUTH_APP ? "github-app" : "pat";
}

/* ---- to JSON ---- */

static void
set_str(json_t *o, const char *key, const char *v)
{
	if (v)
		json_object_set_new(o, key, json_string(v));
}

json_t *
dr_runner_to_json(const dr_runner *r, bool include_secrets)
{
	json_t *o = json_object();
	set_str(o, "repository", r->repository);
	set_str(o, "mode", r->mode->name);
	for (size_t i = 0; i < DR_ARRAY_LEN(runner_ints); i++)
		json_object_set_new(o, runner_ints[i].key,
		                    json_integer(*int_at((void *)r, runner_ints[i].offset)));
	for (size_t i = 0; i < DR_ARRAY_LEN(runner_strvs); i++) {
		char **v = *strv_at((void *)r, runner_strvs[i].offset);
		if (i > 0 && !v)
			continue;
		json_t *a = json_array();
		for (size_t k = 0; v && v[k]; k++)
			json_array_append_new(a, json_string(v[k]));
		json_object_set_new(o, runner_strvs[i].key, a);
	}
	json_t *caches = json_array();
	for (size_t i = 0; i < r->n_caches; i++) {
		json_t *c = json_object();
		set_str(c, "source", r->caches[i].source);
		set_str(c, "target", r->caches[i].target);
		json_array_append_new(caches, c);
	}
	json_object_set_new(o, "caches", caches);
	json_t *mounts = json_array();
	for (size_t i = 0; i < r->n_mounts; i++) {
		json_t *m = json_object();
		set_str(m, "source", r->mounts[i].source);
		set_str(m, "target", r->mounts[i].target);
		set_str(m, "type", dr_mount_type_name(r->mounts[i].type));
		json_array_append_new(mounts, m);
	}
	json_object_set_new(o, "mounts", mounts);
	json_t *auth = json_object();
	set_str(auth, "type", dr_auth_type_name(r->auth.type));
	set_str(auth, "app_id", r->auth.app_id);
	set_str(auth, "installation_id", r->auth.installation_id);
	if (include_secrets) {
		set_str(auth, "token", r->auth.token);
		set_str(auth, "private_key", r->auth.private_key);
	}
	json_object_set_new(o, "auth", auth);
	for (size_t i = 0; i < DR_ARRAY_LEN(runner_strs); i++)
		set_str(o, runner_strs[i].key, *str_at((void *)r, runner_strs[i].offset));
	for (size_t i = 0; i < DR_ARRAY_LEN(runner_bools); i++)
		if (*bool_at((void *)r, runner_bools[i].offset))
			json_object_set_new(o, runner_bools[i].key, json_true());
	if (r->mtu)
		json_object_set_new(o, "mtu", json_integer(r->mtu));
	if (r->cache_pool)
		json_object_set_new(o, "cache_pool", json_integer(r->cache_pool));
	if (r->docker_storage != DR_STORAGE_DEFAULT)
		set_str(o, "docker_storage", dr_docker_storage_name(r->docker_storage));
	if (r->proxy) {
		_cleanup_free_ char *shown = include_secrets ? dr_xstrdup(r->proxy)
		                                             : redact_proxy(r->proxy);
		set_str(o, "proxy", shown);
	}
	return o;
}

/* ---- from JSON ---- */

static int
check_keys(json_t *o, const char *const *allowed, const char *what, dr_err **err)
{
	const char *key;
	json_t *v;
	json_object_foreach(o, key, v) {
		bool ok = false;
		for (size_t i = 0; allowed[i]; i++)
			if (strcmp(key, allowed[i]) == 0)
				ok = true;
		if (!ok)
			return dr_fail(err, DR_EXIT_CONFIG,
			               "%s: unknown field \"%s\" (written by a newer deskrun? upgrade "
			               "deskrun or remove the field)",
			               what, key);
	}
	return 0;
}

static int
get_str(json_t *o, const char *key, bool required, char **out, const char *what, dr_err **err)
{
	json_t *v = json_object_get(o, key);
	if (!v || json_is_null(v)) {
		if (required)
			return dr_fail(err, DR_EXIT_CONFIG, "%s: field \"%s\" is missing", what, key);
		return 0;
	}
	if (!json_is_string(v))
		return dr_fail(err, DR_EXIT_CONFIG, "%s: field \"%s\" must be a string", what, key);
	free(*out);
	*out = dr_xstrdup(json_string_value(v));
	return 0;
}

static int
get_int(json_t *o, const char *key, int *out, const char *what, dr_err **err)
{
	json_t *v = json_object_get(o, key);
	if (!v)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < INT32_MIN ||
	    json_integer_value(v) > INT32_MAX)
		return dr_fail(err, DR_EXIT_CONFIG, "%s: field \"%s\" must be an integer", what,
		               key);
	*out = (int)json_integer_value(v);
	return 0;
}

static json_t *
get_array(json_t *o, const char *key, const char *what, dr_err **err)
{
	json_t *v = json_object_get(o, key);
	if (!v)
		return json_array(); /* new reference */
	if (!json_is_array(v)) {
		dr_fail(err, DR_EXIT_CONFIG, "%s: field \"%s\" must be a list", what, key);
		return NULL;
	}
	return json_incref(v);
}

static int
parse_caches(dr_runner *r, json_t *o, const char *what, dr_err **err)
{
	_cleanup_json_ json_t *a = get_array(o, "caches", what, err);
	if (!a)
		return -1;
	static const char *const keys[] = { "source", "target", NULL };
	size_t i;
	json_t *c;
	json_array_foreach(a, i, c) {
		_cleanup_free_ char *ctx = dr_xasprintf("%s: caches[%zu]", what, i);
		if (!json_is_object(c))
			return dr_fail(err, DR_EXIT_CONFIG, "%s must be an object", ctx);
		_cleanup_free_ char *src = NULL, *dst = NULL;
		if (check_keys(c, keys, ctx, err) < 0 || get_str(c, "source", false, &src, ctx, err) < 0 ||
		    get_str(c, "target", true, &dst, ctx, err) < 0)
			return -1;
		dr_runner_add_cache(r, src, dst);
	}
	return 0;
}

static int
parse_mounts(dr_runner *r, json_t *o, const char *what, dr_err **err)
{
	_cleanup_json_ json_t *a = get_array(o, "mounts", what, err);
	if (!a)
		return -1;
	static const char *const keys[] = { "source", "target", "type", NULL };
	size_t i;
	json_t *m;
	json_array_foreach(a, i, m) {
		_cleanup_free_ char *ctx = dr_xasprintf("%s: mounts[%zu]", what, i);
		if (!json_is_object(m))
			return dr_fail(err, DR_EXIT_CONFIG, "%s must be an object", ctx);
		_cleanup_free_ char *src = NULL, *dst = NULL, *type = NULL;
		if (check_keys(m, keys, ctx, err) < 0 || get_str(m, "source", true, &src, ctx, err) < 0 ||
		    get_str(m, "target", true, &dst, ctx, err) < 0 ||
		    get_str(m, "type", false, &type, ctx, err) < 0)
			return -1;
		dr_mount_type t = DR_MOUNT_DIRECTORY_OR_CREATE;
		if (type && dr_mount_type_parse(type, &t) < 0)
			return dr_fail(err, DR_EXIT_CONFIG,
			               "%s: unknown type \"%s\" (Directory, DirectoryOrCreate or Socket)",
			               ctx, type);
		dr_runner_add_mount(r, src, dst, t);
	}
	return 0;
}

static int
parse_auth(dr_runner *r, json_t *o, const char *what, dr_err **err)
{
	json_t *a = json_object_get(o, "auth");
	_cleanup_free_ char *ctx = dr_xasprintf("%s: auth", what);
	if (!a)
		return dr_fail(err, DR_EXIT_CONFIG, "%s is missing", ctx);
	if (!json_is_object(a))
		return dr_fail(err, DR_EXIT_CONFIG, "%s must be an object", ctx);
	static const char *const keys[] = { "type", "token", "app_id", "installation_id",
		                            "private_key", NULL };
	_cleanup_free_ char *type = NULL;
	if (check_keys(a, keys, ctx, err) < 0 || get_str(a, "type", true, &type, ctx, err) < 0 ||
	    get_str(a, "token", false, &r->auth.token, ctx, err) < 0 ||
	    get_str(a, "app_id", false, &r->auth.app_id, ctx, err) < 0 ||
	    get_str(a, "installation_id", false, &r->auth.installation_id, ctx, err) < 0 ||
	    get_str(a, "private_key", false, &r->auth.private_key, ctx, err) < 0)
		return -1;
	if (strcmp(type, "pat") == 0)
		r->auth.type = DR_AUTH_PAT;
	else if (strcmp(type, "github-app") == 0)
		r->auth.type = DR_AUTH_APP;
	else
		return dr_fail(err, DR_EXIT_CONFIG, "%s: unknown type \"%s\" (pat or github-app)", ctx,
		               type);
	return 0;
}

dr_runner *
dr_runner_from_json(const char *name, json_t *o, dr_err **err)
{
	_cleanup_free_ char *what = dr_xasprintf("runner \"%s\"", name);
	if (!json_is_object(o)) {
		dr_fail(err, DR_EXIT_CONFIG, "%s must be an object", what);
		return NULL;
	}
	static const char *const keys[] = { "repository", "mode", "min_runners", "max_runners",
		                            "instances", "labels", "caches", "mounts", "auth",
		                            "runner_image", "namespace", "cpu", "memory",
		                            "storage_class", "work_volume_size", "dockerd_cpu",
		                            "dockerd_memory", "docker_storage_size", "dind_image",
		                            "helper_image", "guard_image", "registry_mirrors",
		                            "insecure_registries", "no_proxy", "buildkit", "no_guard",
		                            "cluster_builds", "mtu", "docker_storage", "proxy",
		                            "cache_pool", "cache_max_size", "dind_image_has_deskrun",
		                            NULL };
	if (check_keys(o, keys, what, err) < 0)
		return NULL;
	_cleanup_runner_ dr_runner *r = dr_runner_new(name);
	_cleanup_free_ char *mode = NULL;
	if (get_str(o, "repository", true, &r->repository, what, err) < 0 ||
	    get_str(o, "mode", true, &mode, what, err) < 0)
		return NULL;
	r->mode = dr_mode_find(mode);
	if (!r->mode) {
		dr_fail(err, DR_EXIT_CONFIG, "%s: unknown mode \"%s\" (written by a newer deskrun?)",
		        what, mode);
		return NULL;
	}
	for (size_t i = 0; i < DR_ARRAY_LEN(runner_ints); i++)
		if (get_int(o, runner_ints[i].key, int_at(r, runner_ints[i].offset), what, err) < 0)
			return NULL;
	for (size_t i = 0; i < DR_ARRAY_LEN(runner_strs); i++)
		if (get_str(o, runner_strs[i].key, false, str_at(r, runner_strs[i].offset), what,
		            err) < 0)
			return NULL;
	for (size_t f = 0; f < DR_ARRAY_LEN(runner_strvs); f++) {
		_cleanup_json_ json_t *list = get_array(o, runner_strvs[f].key, what, err);
		if (!list)
			return NULL;
		size_t i;
		json_t *l;
		json_array_foreach(list, i, l) {
			if (!json_is_string(l)) {
				dr_fail(err, DR_EXIT_CONFIG, "%s: %s[%zu] must be a string", what,
				        runner_strvs[f].key, i);
				return NULL;
			}
			dr_strv_push(strv_at(r, runner_strvs[f].offset), json_string_value(l));
		}
	}
	for (size_t f = 0; f < DR_ARRAY_LEN(runner_bools); f++) {
		json_t *b = json_object_get(o, runner_bools[f].key);
		if (b && !json_is_boolean(b)) {
			dr_fail(err, DR_EXIT_CONFIG, "%s: field \"%s\" must be true or false", what,
			        runner_bools[f].key);
			return NULL;
		}
		*bool_at(r, runner_bools[f].offset) = json_is_true(b);
	}
	if (get_int(o, "mtu", &r->mtu, what, err) < 0 ||
	    get_int(o, "cache_pool", &r->cache_pool, what, err) < 0 ||
	    get_str(o, "proxy", false, &r->proxy, what, err) < 0)
		return NULL;
	_cleanup_free_ char *storage = NULL;
	if (get_str(o, "docker_storage", false, &storage, what, err) < 0)
		return NULL;
	if (storage && dr_docker_storage_parse(storage, &r->docker_storage) < 0) {
		dr_fail(err, DR_EXIT_CONFIG,
		        "%s: unknown docker_storage \"%s\" (ephemeral, hostpath or pvc)", what,
		        storage);
		return NULL;
	}
	if (parse_caches(r, o, what, err) < 0 || parse_mounts(r, o, what, err) < 0 ||
	    parse_auth(r, o, what, err) < 0)
		return NULL;
	return TAKE_PTR(r);
}

/* ---- settings ---- */

#define SF(field) offsetof(dr_settings, field)

static const struct {
	const char *key;  /* in the config file */
	const char *name; /* for `deskrun config` */
	size_t offset;
	const char *def;
	const char *help;
} settings_fields[] = {
	{ "cache_root", "cache-root", SF(cache_root), DR_DEFAULT_CACHE_ROOT,
	  "node directory under which caches live (<cache-root>/<scale-set>/cache-<i>)" },
	{ "controller_namespace", "controller-namespace", SF(controller_namespace),
	  DR_DEFAULT_CONTROLLER_NAMESPACE, "namespace of the ARC controller" },
	{ "controller_service_account", "controller-service-account", SF(controller_sa),
	  DR_DEFAULT_CONTROLLER_SA,
	  "ServiceAccount of the ARC controller, the subject of each manager RoleBinding" },
	{ "daemon_cache_root", "daemon-cache-root", SF(daemon_cache_root), "",
	  "the cache root as docker-socket's node daemon sees it (empty: cache-root; kind "
	  "--docker-socket sets the host directory)" },
	{ "controller_chart", "controller-chart", SF(controller_chart), "",
	  "the ARC controller's Helm chart: empty for ghcr.io's, or an absolute path to a chart "
	  "directory or .tgz archive, or an oci:// mirror (air-gapped clusters)" },
};

const char *
dr_settings_daemon_cache_root(const dr_settings *s)
{
	return s->daemon_cache_root && *s->daemon_cache_root ? s->daemon_cache_root : s->cache_root;
}

size_t
dr_settings_count(void)
{
	return DR_ARRAY_LEN(settings_fields);
}

const char *
dr_settings_name(size_t i)
{
	return settings_fields[i].name;
}

const char *
dr_settings_help(size_t i)
{
	return settings_fields[i].help;
}

const char *
dr_settings_value(const dr_settings *s, size_t i)
{
	return *str_at((void *)s, settings_fields[i].offset);
}

int
dr_settings_lookup(const char *name, size_t *index)
{
	for (size_t i = 0; i < DR_ARRAY_LEN(settings_fields); i++)
		if (strcmp(settings_fields[i].name, name) == 0) {
			*index = i;
			return 0;
		}
	return -1;
}

void
dr_settings_set(dr_settings *s, size_t i, const char *value)
{
	char **p = str_at(s, settings_fields[i].offset);
	free(*p);
	*p = dr_xstrdup(value);
}

void
dr_settings_init(dr_settings *s)
{
	memset(s, 0, sizeof(*s));
	for (size_t i = 0; i < DR_ARRAY_LEN(settings_fields); i++)
		*str_at(s, settings_fields[i].offset) = dr_xstrdup(settings_fields[i].def);
}

void
dr_settings_clear(dr_settings *s)
{
	for (size_t i = 0; i < DR_ARRAY_LEN(settings_fields); i++) {
		char **p = str_at(s, settings_fields[i].offset);
		free(*p);
		*p = NULL;
	}
}

json_t *
dr_settings_to_json(const dr_settings *s)
{
	json_t *o = json_object();
	for (size_t i = 0; i < DR_ARRAY_LEN(settings_fields); i++)
		set_str(o, settings_fields[i].key, *str_at((void *)s, settings_fields[i].offset));
	return o;
}

int
dr_settings_from_json(dr_settings *s, json_t *o, dr_err **err)
{
	if (!json_is_object(o))
		return dr_fail(err, DR_EXIT_CONFIG, "settings must be an object");
	const char *keys[DR_ARRAY_LEN(settings_fields) + 1];
	for (size_t i = 0; i < DR_ARRAY_LEN(settings_fields); i++)
		keys[i] = settings_fields[i].key;
	keys[DR_ARRAY_LEN(settings_fields)] = NULL;
	if (check_keys(o, keys, "settings", err) < 0)
		return -1;
	for (size_t i = 0; i < DR_ARRAY_LEN(settings_fields); i++)
		if (get_str(o, settings_fields[i].key, false, str_at(s, settings_fields[i].offset),
		            "settings", err) < 0)
			return -1;
	return 0;
}
