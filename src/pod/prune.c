/* prune.c: the slot quota: the pure plan and its enforcement over the Docker API (see
 * prune.h). */
#include "lib/common.h"
#include "pod/fsops.h"
#include "pod/prune.h"
#include "pod/slot.h"
#include "sys/log.h"

#define DF_TIMEOUT_MS (10L * 60 * 1000)
#define CALL_TIMEOUT_MS (2L * 60 * 1000)
#define MAX_ROUNDS 3

void
dr_pod_prune_items_free(dr_pod_prune_item *items, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(items[i].id);
		free(items[i].name);
	}
	free(items);
}

static int
by_last_use(const void *a, const void *b)
{
	const dr_pod_prune_item *x = a, *y = b;
	if (x->last_used_ms != y->last_used_ms)
		return x->last_used_ms < y->last_used_ms ? -1 : 1;
	return strcmp(x->id, y->id);
}

static char *
image_name(json_t *img, const char *id)
{
	size_t i;
	json_t *t;
	json_array_foreach(json_object_get(img, "RepoTags"), i, t) {
		const char *s = json_string_value(t);
		if (s && strcmp(s, "<none>:<none>") != 0)
			return dr_xstrdup(s);
	}
	const char *hex = dr_startswith(id, "sha256:") ? id + 7 : id;
	return dr_xasprintf("<untagged %.12s>", hex);
}

static void
push(dr_pod_prune_item **v, size_t *n, size_t *cap, dr_pod_prune_item it)
{
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 16;
		*v = dr_xrealloc(*v, *cap * sizeof(**v));
	}
	(*v)[(*n)++] = it;
}

dr_pod_prune_item *
dr_pod_prune_plan(json_t *df, json_t *last_used, size_t *n)
{
	dr_pod_prune_item *v = NULL;
	size_t cap = 0;
	*n = 0;
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(df, "Images"), i, e) {
		const char *id = json_string_value(json_object_get(e, "Id"));
		json_t *containers = json_object_get(e, "Containers");
		if (!id || !json_is_integer(containers) || json_integer_value(containers) != 0)
			continue;
		json_int_t size = json_integer_value(json_object_get(e, "Size"));
		json_t *shared = json_object_get(e, "SharedSize");
		json_int_t own = size;
		if (json_is_integer(shared) && json_integer_value(shared) >= 0)
			own = size - json_integer_value(shared);
		if (own <= 0)
			continue; /* every layer is also another image's: removing it frees nothing */
		int64_t used = (int64_t)json_integer_value(json_object_get(e, "Created")) * 1000;
		json_t *lu = json_object_get(last_used, id);
		if (json_is_integer(lu) && json_integer_value(lu) > used)
			used = json_integer_value(lu);
		push(&v, n, &cap,
		     (dr_pod_prune_item){ DR_POD_PRUNE_IMAGE, dr_xstrdup(id), image_name(e, id), used,
		                          own });
	}
	json_array_foreach(json_object_get(df, "BuildCache"), i, e) {
		const char *id = json_string_value(json_object_get(e, "ID"));
		if (!id || json_is_true(json_object_get(e, "InUse")) ||
		    json_is_true(json_object_get(e, "Shared")))
			continue;
		int64_t used = 0;
		const char *t = json_string_value(json_object_get(e, "LastUsedAt"));
		if (!t || dr_pod_time_parse_ms(t, &used) < 0 || used == 0) {
			t = json_string_value(json_object_get(e, "CreatedAt"));
			if (!t || dr_pod_time_parse_ms(t, &used) < 0)
				used = 0;
		}
		const char *desc = json_string_value(json_object_get(e, "Description"));
		const char *type = json_string_value(json_object_get(e, "Type"));
		char *name = dr_xasprintf("build cache %.12s%s%s", id, desc || type ? " " : "",
		                          desc ? desc : type ? type : "");
		push(&v, n, &cap,
		     (dr_pod_prune_item){ DR_POD_PRUNE_BUILD_CACHE, dr_xstrdup(id), name, used,
		                          (int64_t)json_integer_value(json_object_get(e, "Size")) });
	}
	if (*n)
		qsort(v, *n, sizeof(*v), by_last_use);
	return v;
}

static bool
was_cancelled(dr_err **err)
{
	return *err && (*err)->errnum == ECANCELED;
}

/* Ask the daemon for each unused image's last tag time: a rebuilt or re-pulled image is
 * tagged again, so this is the best "last used" the API offers. */
static json_t *
tag_times(const dr_pod_endpoint *ep, json_t *df, const dr_pod_cancel *cancel, dr_err **err)
{
	json_t *out = json_object();
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(df, "Images"), i, e) {
		const char *id = json_string_value(json_object_get(e, "Id"));
		if (!id || json_integer_value(json_object_get(e, "Containers")) != 0)
			continue;
		_cleanup_free_ char *target = dr_xasprintf("/images/%s/json", id);
		_cleanup_json_ json_t *img = NULL;
		_cleanup_err_ dr_err *e2 = NULL;
		if (dr_pod_docker_call(ep, "GET", target, CALL_TIMEOUT_MS, cancel, &img, &e2) < 0) {
			if (was_cancelled(&e2)) {
				json_decref(out);
				*err = TAKE_PTR(e2);
				return NULL;
			}
			continue;
		}
		const char *t = json_string_value(
			json_object_get(json_object_get(img, "Metadata"), "LastTagTime"));
		int64_t ms;
		if (t && dr_pod_time_parse_ms(t, &ms) == 0 && ms > 0)
			json_object_set_new(out, id, json_integer(ms));
	}
	return out;
}

static int
remove_item(const dr_pod_endpoint *ep, const dr_pod_prune_item *it,
            const dr_pod_cancel *cancel, dr_err **err)
{
	_cleanup_free_ char *target = NULL;
	if (it->kind == DR_POD_PRUNE_IMAGE) {
		target = dr_xasprintf("/images/%s?force=1", it->id);
		return dr_pod_docker_call(ep, "DELETE", target, CALL_TIMEOUT_MS, cancel, NULL, err);
	}
	_cleanup_free_ char *filter = dr_xasprintf("{\"id\":[\"%s\"]}", it->id);
	_cleanup_free_ char *enc = dr_pod_url_encode(filter);
	target = dr_xasprintf("/build/prune?all=1&filters=%s", enc);
	return dr_pod_docker_call(ep, "POST", target, CALL_TIMEOUT_MS, cancel, NULL, err);
}

int
dr_pod_quota_enforce(const dr_pod_endpoint *ep, const char *data_root, uint64_t max,
                     const dr_pod_cancel *cancel, dr_pod_quota_result *res, dr_err **err)
{
	memset(res, 0, sizeof(*res));
	uint64_t used = 0;
	if (dr_pod_disk_usage(data_root, 0, cancel, &used, err) < 0)
		return -1;
	res->before = res->after = used;
	_cleanup_free_ char *quota = dr_pod_size_text(max);
	{
		_cleanup_free_ char *u = dr_pod_size_text(used);
		if (used <= max) {
			res->within = true;
			dr_note("%s uses %s, within its %s quota", data_root, u, quota);
			return 0;
		}
		dr_note("%s uses %s, over its %s quota: pruning, least recently used first", data_root,
		        u, quota);
	}

	/* Stopped containers are what earlier leases' jobs left behind; they also pin images. */
	{
		_cleanup_json_ json_t *pr = NULL;
		_cleanup_err_ dr_err *e = NULL;
		if (dr_pod_docker_call(ep, "POST", "/containers/prune", CALL_TIMEOUT_MS, cancel, &pr,
		                       &e) < 0) {
			if (was_cancelled(&e)) {
				*err = TAKE_PTR(e);
				return -1;
			}
			dr_warn("prune stopped containers: %s", e->msg);
		} else {
			size_t k = json_array_size(json_object_get(pr, "ContainersDeleted"));
			if (k) {
				_cleanup_free_ char *r = dr_pod_size_text(
					(uint64_t)json_integer_value(json_object_get(pr, "SpaceReclaimed")));
				dr_note("removed %zu stopped container%s (%s)", k, k == 1 ? "" : "s", r);
				res->removed += k;
			}
		}
	}

	for (int round = 0; round < MAX_ROUNDS && used > max; round++) {
		_cleanup_json_ json_t *df = NULL;
		if (dr_pod_docker_call(ep, "GET", "/system/df", DF_TIMEOUT_MS, cancel, &df, err) < 0) {
			if (was_cancelled(err))
				return -1;
			dr_warn("%s", (*err)->msg);
			dr_err_free(TAKE_PTR(*err));
			break;
		}
		_cleanup_json_ json_t *times = tag_times(ep, df, cancel, err);
		if (!times)
			return -1;
		size_t n = 0;
		dr_pod_prune_item *items = dr_pod_prune_plan(df, times, &n);
		if (n == 0) {
			dr_pod_prune_items_free(items, n);
			break;
		}
		int64_t est = (int64_t)used;
		size_t removed_now = 0;
		for (size_t i = 0; i < n && est > (int64_t)max; i++) {
			_cleanup_err_ dr_err *e = NULL;
			if (remove_item(ep, &items[i], cancel, &e) < 0) {
				if (was_cancelled(&e)) {
					*err = TAKE_PTR(e);
					dr_pod_prune_items_free(items, n);
					return -1;
				}
				dr_warn("keep %s: %s", items[i].name, e->msg);
				continue;
			}
			est -= items[i].size;
			removed_now++;
			_cleanup_free_ char *sz = dr_pod_size_text((uint64_t)items[i].size);
			_cleanup_free_ char *when = dr_pod_time_text(items[i].last_used_ms / 1000);
			dr_note("removed %s (%s, last used %s)", items[i].name, sz, when ? when : "never");
		}
		dr_pod_prune_items_free(items, n);
		res->removed += removed_now;
		if (dr_pod_disk_usage(data_root, 0, cancel, &used, err) < 0)
			return -1;
		if (removed_now == 0)
			break;
	}
	res->after = used;
	res->within = used <= max;
	_cleanup_free_ char *b = dr_pod_size_text(res->before);
	_cleanup_free_ char *a = dr_pod_size_text(res->after);
	if (res->within)
		dr_note("%s: %s -> %s, within its %s quota", data_root, b, a, quota);
	else
		dr_warn("%s: %s -> %s, still over its %s quota: what is left is in use or shared",
		        data_root, b, a, quota);
	return 0;
}
