/* decide_images.c: the image routes: reads of shared and own images, writes (tag, push,
 * build -t, import) only in the tenant's namespace, pulls from the allowed registries and
 * never over another tenant's image, the legacy builder's query, and `docker load`
 * (refused). */
#include "guard/decide.h"

int
check_image_read(const gd_ctx *c, gd_decision *d, const char *ref, const char *field)
{
	if (!*ref)
		return 0;
	gd_obj o;
	if (c->res->image(c->res->ctx, ref, &o) < 0)
		return upstream_failed(d);
	if (o.own == GD_FOREIGN)
		return missing(d, "No such image: %s", ref), d->field = field, 1;
	return 0;
}

/* Image references that the tenant writes (tags, build -t, commit, import): its namespace. */
bool
gd_ref_mine(const gd_ctx *c, const char *ref)
{
	gd_ref r;
	if (gd_ref_parse(ref, &r) < 0)
		return false;
	size_t n = strlen(c->tenant);
	bool mine = strncmp(r.path, c->tenant, n) == 0 && r.path[n] == '/';
	_cleanup_free_ char *full = dr_xasprintf("%s/%s", r.domain, r.path);
	for (size_t i = 0; !mine && c->policy->image_namespaces && c->policy->image_namespaces[i]; i++)
		mine = dr_startswith(full, c->policy->image_namespaces[i]);
	gd_ref_clear(&r);
	return mine;
}

static bool
all_hex(const char *s, size_t n)
{
	if (strlen(s) != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

bool
gd_runner_action_ref(const gd_ref *r)
{
	/* The GitHub runner builds Dockerfile actions as <L>:<guid32> (runner-docker.md section
	 * 2): <L> six hex digits of the runner's own hash, the tag a fresh GUID. Such a tag is
	 * the runner's, not a shared name: no tenant can guess another's, and the image carries
	 * the tenant's label, so reading it stays the builder's alone. */
	return strcmp(r->domain, "docker.io") == 0 && dr_startswith(r->path, "library/") &&
	       all_hex(r->path + 8, 6) && r->tag && all_hex(r->tag, 32) && !r->digest;
}

int
check_write_ref(const gd_ctx *c, gd_decision *d, const char *ref, const char *field)
{
	gd_ref r;
	if (gd_ref_parse(ref, &r) < 0)
		return deny(d, 400, field, "%s \"%s\": invalid reference format", field, ref), 1;
	bool action = strcmp(field, "build tag") == 0 && gd_runner_action_ref(&r);
	gd_ref_clear(&r);
	if (!action && !gd_ref_mine(c, ref))
		return deny(d, 403, field, "%s \"%s\": images made here must be tagged in the tenant's "
		            "namespace, e.g. %s/NAME:TAG",
		            field, ref, c->tenant),
		       1;
	return 0;
}

int
check_changes(const gd_ctx *c, gd_req *r, gd_decision *d)
{
	(void)c;
	for (size_t i = 0; i < r->query.n; i++) {
		if (strcmp(r->query.v[i].key, "changes") != 0)
			continue;
		_cleanup_free_ char *f = gd_fold_key(r->query.v[i].value);
		if (strstr(f, GD_LABEL_PREFIX))
			return deny(d, 403, "changes", "changes: labels in the " GD_LABEL_PREFIX
			            " namespace are set by the guard"),
			       1;
	}
	return 0;
}

/* The tenant's name for a BuildKit build ID (/build?buildid=, /build/cancel?id=): the daemon
 * keeps one table of builds by ID, where a stdin context is handed over
 * (buildid=upload-request:<id>) and from which /build/cancel cancels; renamed <tenant>.<id>
 * like sessions and refs, no tenant reaches another's build by its ID. Owned. */
static char *
build_id(const gd_ctx *c, const char *id)
{
	static const char up[] = "upload-request:";
	if (strncmp(id, up, sizeof(up) - 1) == 0) {
		_cleanup_free_ char *own = gd_build_ref(c, id + sizeof(up) - 1);
		return dr_xasprintf("%s%s", up, own);
	}
	return gd_build_ref(c, id);
}

static int
decide_build(const gd_ctx *c, gd_req *r, gd_decision *d)
{
	int k;
	const char *v = gd_query_get(&r->query, "version");
	const char *remote = gd_query_get(&r->query, "remote");
	/* BuildKit builds (version=2) name where the context comes from: the client's session
	 * or an upload made before. Neither makes the daemon fetch anything. */
	bool v2 = v && strcmp(v, "2") == 0 && c->policy->buildkit;
	if (v && strcmp(v, "1") != 0 && !(c->policy->buildkit && strcmp(v, "2") == 0))
		return deny(d, 403, "version", "build version %s: BuildKit is off for this tenant (its "
		            "policy says \"buildkit\": false), use DOCKER_BUILDKIT=0",
		            v),
		       0;
	if (remote && *remote &&
	    !(v2 && (strcmp(remote, "client-session") == 0 || strcmp(remote, "upload-request") == 0)))
		return deny(d, 403, "remote", "build remote: the daemon would fetch the context from "
		            "the node's network; send the context instead"),
		       0;
	/* BuildKit reads the Dockerfile from the client's session, where the guard checks the
	 * images it names (gd_session_dockerfile_check); from a tar (the body, or an upload) it
	 * would go unread */
	if (v2 && !(remote && strcmp(remote, "client-session") == 0))
		return deny(d, 403, "remote", "build version 2 without remote=client-session: a "
		            "BuildKit build's context must come through its session, where the guard reads "
		            "the Dockerfile (build from a directory, not a tar or stdin; or use "
		            "DOCKER_BUILDKIT=0)"),
		       0;
	const char *nm = gd_query_get(&r->query, "networkmode");
	if (nm && *nm && strcmp(nm, "default") != 0 && strcmp(nm, "none") != 0 &&
	    strcmp(nm, "bridge") != 0)
		return deny(d, 403, "networkmode", "build networkmode \"%s\": not allowed", nm), 0;
	static const char *const empty[] = { "cgroupparent", "securityopt", "outputs" };
	for (size_t i = 0; i < DR_ARRAY_LEN(empty); i++) {
		const char *e = gd_query_get(&r->query, empty[i]);
		if (e && *e && strcmp(e, "null") != 0 && strcmp(e, "[]") != 0)
			return deny(d, 403, empty[i], "build %s: not allowed", empty[i]), 0;
	}
	const char *iso = gd_query_get(&r->query, "isolation");
	if (iso && *iso && strcmp(iso, "default") != 0)
		return deny(d, 403, "isolation", "build isolation \"%s\": not allowed", iso), 0;
	for (size_t i = 0; i < r->query.n; i++)
		if (strcmp(r->query.v[i].key, "t") == 0 &&
		    check_write_ref(c, d, r->query.v[i].value, "build tag"))
			return 0;
	const char *cf = gd_query_get(&r->query, "cachefrom");
	if (cf && *cf) {
		json_error_t je;
		_cleanup_json_ json_t *a = json_loads(cf, 0, &je);
		if (!json_is_array(a))
			return deny(d, 400, "cachefrom", "build cachefrom: expected a JSON array"), 0;
		size_t i;
		json_t *e;
		json_array_foreach(a, i, e) {
			if (!json_is_string(e))
				return deny(d, 400, "cachefrom", "build cachefrom: expected strings"), 0;
			if ((k = check_image_read(c, d, json_string_value(e), "cachefrom")))
				return k < 0 ? -1 : 0;
		}
	}
	const char *ls = gd_query_get(&r->query, "labels");
	char *why = NULL;
	_cleanup_json_ json_t *labels = ls && *ls ? gd_json_object(ls, strlen(ls), &why) : json_object();
	if (!labels) {
		deny(d, 400, "labels", "build labels: %s", why);
		free(why);
		return 0;
	}
	json_t *holder = json_object();
	json_object_set(holder, "labels", labels);
	/* Not session-scoped: --cleanup-on-exit leaves images, and the legacy builder turns every
	 * label into a LABEL step of its own, a container committed on every build (the final
	 * stage changes each job, so never cached): a session label would only cost a step. */
	int bad = own_labels(c, d, holder, "labels", "build labels", false);
	if (!bad) {
		_cleanup_free_ char *s = gd_json_dump(json_object_get(holder, "labels"));
		gd_query_set(&r->query, "labels", s);
	}
	json_decref(holder);
	if (bad)
		return 0;
	const char *ba = gd_query_get(&r->query, "buildargs");
	_cleanup_json_ json_t *j = ba && *ba ? gd_json_object(ba, strlen(ba), &why) : json_object();
	if (!j) {
		deny(d, 400, "buildargs", "build buildargs: %s", why);
		free(why);
		return 0;
	}
	const char *bid = gd_query_get(&r->query, "buildid");
	if (bid && *bid) {
		_cleanup_free_ char *own = build_id(c, bid);
		gd_query_set(&r->query, "buildid", own);
	}
	const char *sess = gd_query_get(&r->query, "session");
	if (v2 && sess && *sess) { /* the tenant's name for its session (see /session) */
		_cleanup_free_ char *sid = gd_session_id(c, sess);
		gd_query_set(&r->query, "session", sid);
	}
	if (v2) {
		/* BuildKit: RUN --mount=type=cache ids become <tenant>/<id> (the Dockerfile
		 * frontend's BUILDKIT_CACHE_MOUNT_NS), so one tenant's cache mounts never meet
		 * another's */
		const char *sy = json_string_value(json_object_get(j, "BUILDKIT_SYNTAX"));
		if (sy) { /* the Dockerfile frontend would run that image */
			_cleanup_free_ char *img = dr_xstrndup(sy, strcspn(sy, " \t"));
			if (!gd_dockerfile_frontend(img))
				return deny(d, 403, "buildargs", "build buildargs: BUILDKIT_SYNTAX %s is refused: "
				            "only docker/dockerfile runs as a gateway frontend", img),
				       0;
		}
		if (json_object_get(j, "BUILDKIT_CACHE_MOUNT_NS"))
			return deny(d, 403, "buildargs", "build buildargs: BUILDKIT_CACHE_MOUNT_NS is set by "
			            "the guard (cache mounts are namespaced per tenant)"),
			       0;
		/* the values its Dockerfile's ARGs may take, for the check on the session */
		const char *own = gd_query_get(&r->query, "session"); /* renamed above */
		_cleanup_free_ char *skey = own && *own ? dr_xasprintf("s:%s", own) : NULL;
		const char *bk;
		json_t *bv;
		json_object_foreach(j, bk, bv) {
			if (json_is_string(bv) && skey)
				gd_args_record(c->args, skey, bk, json_string_value(bv));
		}
		if (own && *own) { /* a Dockerfile this session already sent may be reused */
			char rb[512];
			char *const one[] = { (char *)own, NULL };
			if (gd_args_recheck(c, one, NULL, rb, sizeof(rb)))
				return deny(d, 403, "buildargs", "build: %s", rb), 0;
		}
		json_object_set_new(j, "BUILDKIT_CACHE_MOUNT_NS", json_string(c->tenant));
		_cleanup_free_ char *s = gd_json_dump(j);
		gd_query_set(&r->query, "buildargs", s);
	}
	set_target(r, d, "/build");
	return 0;
}

static int
decide_image_create(const gd_ctx *c, gd_req *r, gd_decision *d)
{
	const char *src = gd_query_get(&r->query, "fromSrc");
	const char *img = gd_query_get(&r->query, "fromImage");
	const char *tag = gd_query_get(&r->query, "tag");
	if (check_changes(c, r, d))
		return 0;
	if (src && *src) {
		if (strcmp(src, "-") != 0)
			return deny(d, 403, "fromSrc", "import from a URL: the daemon would fetch it from "
			            "the node's network; send the tar instead"),
			       0;
		const char *repo = gd_query_get(&r->query, "repo");
		if (!repo || !*repo)
			return deny(d, 403, "repo", "import: give a repository in the tenant's namespace "
			            "(%s/NAME)",
			            c->tenant),
			       0;
		if (check_write_ref(c, d, repo, "import repo"))
			return 0;
		set_target(r, d, "/images/create");
		return 0;
	}
	if (!img || !*img)
		return deny(d, 400, "fromImage", "images/create: fromImage or fromSrc is required"), 0;
	if (r->has_body)
		return deny(d, 400, "body", "image pull takes no request body"), 0;
	_cleanup_free_ char *full = tag && *tag && !strchr(img, '@')
	                                    ? dr_xasprintf("%s%s%s", img, tag[0] == '@' ? "" : ":", tag)
	                                    : dr_xstrdup(img);
	gd_ref ref;
	if (gd_ref_parse(full, &ref) < 0)
		return deny(d, 400, "fromImage", "pull \"%s\": invalid reference format", full), 0;
	bool allowed_reg = !c->policy->registries || in_list(c->policy->registries, ref.domain) ||
	                   in_list(c->policy->registries, "*");
	_cleanup_free_ char *dom = dr_xstrdup(ref.domain);
	_cleanup_free_ char *path = dr_xstrdup(ref.path);
	gd_ref_clear(&ref);
	if (!allowed_reg)
		return deny(d, 403, "fromImage", "pull \"%s\": registry %s is not allowed", full, dom), 0;
	if (!gd_ref_mine(c, full)) {
		if (gd_path_foreign(c, path))
			return deny(d, 403, "fromImage", "pull \"%s\": the name is in another "
			            "tenant's namespace",
			            full),
			       0;
		if (!strchr(full, '@')) {
			gd_obj o;
			if (c->res->image(c->res->ctx, full, &o) < 0)
				return upstream_failed(d);
			if (o.own == GD_FOREIGN)
				return deny(d, 403, "fromImage", "pull \"%s\": would replace an image of "
				            "another tenant",
				            full),
				       0;
		}
	}
	d->post = GD_POST_PULLED;
	d->post_arg = dr_xstrdup(full);
	set_target(r, d, "/images/create");
	return 0;
}

/* Routes that name one image: inspect, history, save, push, tag, remove. */
static int
decide_image_ref(const gd_ctx *c, const gd_route *rt, gd_req *r, gd_decision *d)
{
	const char *ref = rt->ref;
	gd_obj o;
	if (c->res->image(c->res->ctx, ref, &o) < 0)
		return upstream_failed(d);
	if (o.own == GD_FOREIGN)
		return missing(d, "No such image: %s", ref);
	if (rt->id == R_I_PUSH) {
		const char *tag = gd_query_get(&r->query, "tag");
		_cleanup_free_ char *full = tag && *tag ? dr_xasprintf("%s:%s", ref, tag) : dr_xstrdup(ref);
		if (check_write_ref(c, d, full, "push"))
			return 0;
	}
	if (rt->id == R_I_TAG) {
		const char *repo = gd_query_get(&r->query, "repo");
		const char *tag = gd_query_get(&r->query, "tag");
		if (!repo || !*repo)
			return deny(d, 400, "repo", "tag: repo is required");
		_cleanup_free_ char *full = tag && *tag ? dr_xasprintf("%s:%s", repo, tag) : dr_xstrdup(repo);
		if (check_write_ref(c, d, full, "tag"))
			return 0;
	}
	if (rt->id == R_I_DELETE && o.own != GD_MISSING) {
		bool by_name = !gd_looks_like_id(ref);
		if (by_name ? !gd_ref_mine(c, ref) : !(o.own == GD_MINE && o.labeled))
			return deny(d, 403, "image", "remove image \"%s\": shared images can only be "
			            "removed on the node; untag your own %s/... tags instead",
			            ref, c->tenant);
	}
	_cleanup_free_ char *enc = gd_pct_encode(ref, true);
	const char *suffix = strrchr(r->path, '/');
	_cleanup_free_ char *path = rt->id == R_I_DELETE ? dr_xasprintf("/images/%s", enc)
	                                                 : dr_xasprintf("/images/%s%s", enc, suffix);
	set_target(r, d, path);
	return 0;
}

int
decide_images(const gd_ctx *c, const gd_route *rt, gd_req *r, gd_decision *d)
{
	int k;
	switch (rt->id) {
	case R_I_SEARCH:
	case R_DISTRIBUTION:
		set_target(r, d, r->path);
		return 0;
	case R_I_LIST:
		if (scope_filters(c, r, d, false) < 0)
			return 0;
		d->post = GD_POST_IMAGES_LIST;
		set_target(r, d, r->path);
		return 0;
	case R_BUILD_PRUNE:
		d->status = 200;
		d->local_json = dr_xstrdup("{\"CachesDeleted\":null,\"SpaceReclaimed\":0}");
		return 0;
	case R_BUILD:
		return decide_build(c, r, d);
	case R_BUILD_CANCEL: {
		const char *id = gd_query_get(&r->query, "id");
		if (!id || !*id)
			return deny(d, 400, "id", "build cancel: id is required (the build's buildid)");
		_cleanup_free_ char *own = build_id(c, id);
		gd_query_set(&r->query, "id", own);
		set_target(r, d, r->path);
		return 0;
	}
	case R_I_CREATE:
		return decide_image_create(c, r, d);
	case R_I_INSPECT:
	case R_I_HISTORY:
	case R_I_GET_ONE:
	case R_I_PUSH:
	case R_I_TAG:
	case R_I_DELETE:
		return decide_image_ref(c, rt, r, d);
	case R_I_GET:
		for (size_t i = 0; i < r->query.n; i++) {
			if (strcmp(r->query.v[i].key, "names") != 0)
				continue;
			if ((k = check_image_read(c, d, r->query.v[i].value, "names")))
				return k < 0 ? -1 : 0;
		}
		set_target(r, d, r->path);
		return 0;
	case R_I_LOAD:
		return deny(d, 403, "images.load", "docker load: loading image archives is not "
		            "allowed (their tags could replace shared images); push to a registry and "
		            "pull, or build");
	default:
		break;
	}
	return route_not_allowed(r, d);
}
