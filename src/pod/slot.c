/* slot.c: pool slots: metadata codec, times, lease preference and the lock (see slot.h). */
#include "lib/common.h"
#include "pod/slot.h"
#include "sys/fsutil.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>

#define MAX_META_BYTES (64u << 10)

void
dr_pod_slot_meta_clear(dr_pod_slot_meta *m)
{
	free(m->owner);
	free(m->holder);
	*m = (dr_pod_slot_meta)DR_POD_SLOT_META_INIT;
}

/* ---- times ---- */

char *
dr_pod_time_text(int64_t t)
{
	if (t <= 0)
		return NULL;
	time_t tt = (time_t)t;
	struct tm tm;
	if (!gmtime_r(&tt, &tm))
		return NULL;
	char buf[64];
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return dr_xstrdup(buf);
}

static bool
digits(const char *s, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return true;
}

int
dr_pod_time_parse_ms(const char *s, int64_t *ms)
{
	int Y, M, D, h, m, sec;
	if (!s || strlen(s) < 20 || !digits(s, 4, &Y) || s[4] != '-' || !digits(s + 5, 2, &M) ||
	    s[7] != '-' || !digits(s + 8, 2, &D) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
	    !digits(s + 11, 2, &h) || s[13] != ':' || !digits(s + 14, 2, &m) || s[16] != ':' ||
	    !digits(s + 17, 2, &sec))
		return -1;
	if (M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || m > 59 || sec > 60)
		return -1;
	const char *p = s + 19;
	int64_t frac_ms = 0;
	if (*p == '.') {
		p++;
		int nd = 0;
		int64_t scale = 100;
		while (*p >= '0' && *p <= '9') {
			if (nd < 3) {
				frac_ms += (*p - '0') * scale;
				scale /= 10;
			}
			nd++;
			p++;
		}
		if (nd == 0)
			return -1;
	}
	int64_t offset = 0;
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int oh, om;
		if (!digits(p + 1, 2, &oh) || p[3] != ':' || !digits(p + 4, 2, &om))
			return -1;
		offset = (int64_t)(oh * 3600 + om * 60) * (*p == '-' ? -1 : 1);
		p += 6;
	} else {
		return -1;
	}
	if (*p)
		return -1;
	if (Y < 1970) { /* Go's zero time, "0001-01-01T00:00:00Z": never */
		*ms = 0;
		return 0;
	}
	struct tm tm = { 0 };
	tm.tm_year = Y - 1900;
	tm.tm_mon = M - 1;
	tm.tm_mday = D;
	tm.tm_hour = h;
	tm.tm_min = m;
	tm.tm_sec = sec;
	time_t t = timegm(&tm);
	*ms = ((int64_t)t - offset) * 1000 + frac_ms;
	return 0;
}

/* ---- the metadata codec ---- */

static json_t *
time_or_null(int64_t t)
{
	_cleanup_free_ char *s = dr_pod_time_text(t);
	return s ? json_string(s) : json_null();
}

json_t *
dr_pod_slot_meta_json(const dr_pod_slot_meta *m)
{
	json_t *o = json_object();
	json_object_set_new(o, "version", json_integer(DR_POD_META_VERSION));
	json_object_set_new(o, "owner", m->owner ? json_string(m->owner) : json_null());
	json_object_set_new(o, "holder", m->holder ? json_string(m->holder) : json_null());
	json_object_set_new(o, "leases", json_integer(m->leases));
	json_object_set_new(o, "last_lease_start", time_or_null(m->last_start));
	json_object_set_new(o, "last_lease_end", time_or_null(m->last_end));
	json_object_set_new(o, "last_exit", m->last_exit >= 0 ? json_integer(m->last_exit)
	                                                      : json_null());
	json_object_set_new(o, "size_bytes", m->size_bytes >= 0 ? json_integer(m->size_bytes)
	                                                        : json_null());
	json_object_set_new(o, "size_measured", time_or_null(m->size_at));
	return o;
}

char *
dr_pod_slot_meta_encode(const dr_pod_slot_meta *m)
{
	_cleanup_json_ json_t *o = dr_pod_slot_meta_json(m);
	char *s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	char *t = dr_xasprintf("%s\n", s);
	free(s);
	return t;
}

static int
get_string(json_t *o, const char *key, char **out, dr_err **err)
{
	json_t *v = json_object_get(o, key);
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return dr_fail(err, DR_EXIT_CONFIG, "\"%s\" is not a string", key);
	*out = dr_xstrdup(json_string_value(v));
	return 0;
}

static int
get_int(json_t *o, const char *key, int64_t min, int64_t *out, dr_err **err)
{
	json_t *v = json_object_get(o, key);
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < min)
		return dr_fail(err, DR_EXIT_CONFIG, "\"%s\" is not a whole number >= %lld", key,
		               (long long)min);
	*out = json_integer_value(v);
	return 0;
}

static int
get_time(json_t *o, const char *key, int64_t *out, dr_err **err)
{
	json_t *v = json_object_get(o, key);
	if (!v || json_is_null(v))
		return 0;
	int64_t ms;
	if (!json_is_string(v) || dr_pod_time_parse_ms(json_string_value(v), &ms) < 0)
		return dr_fail(err, DR_EXIT_CONFIG, "\"%s\" is not an RFC 3339 time", key);
	*out = ms / 1000;
	return 0;
}

int
dr_pod_slot_meta_decode(const char *text, dr_pod_slot_meta *m, dr_err **err)
{
	*m = (dr_pod_slot_meta)DR_POD_SLOT_META_INIT;
	json_error_t jerr;
	_cleanup_json_ json_t *o = json_loads(text, 0, &jerr);
	if (!o || !json_is_object(o))
		return dr_fail(err, DR_EXIT_CONFIG, "not a JSON object%s%s", o ? "" : ": ",
		               o ? "" : jerr.text);
	int64_t version = DR_POD_META_VERSION, last_exit = -1;
	if (get_int(o, "version", 1, &version, err) < 0 || get_string(o, "owner", &m->owner, err) < 0 ||
	    get_string(o, "holder", &m->holder, err) < 0 ||
	    get_int(o, "leases", 0, &m->leases, err) < 0 ||
	    get_time(o, "last_lease_start", &m->last_start, err) < 0 ||
	    get_time(o, "last_lease_end", &m->last_end, err) < 0 ||
	    get_int(o, "last_exit", 0, &last_exit, err) < 0 ||
	    get_int(o, "size_bytes", 0, &m->size_bytes, err) < 0 ||
	    get_time(o, "size_measured", &m->size_at, err) < 0) {
		dr_pod_slot_meta_clear(m);
		return -1;
	}
	m->version = (int)(version > INT32_MAX ? INT32_MAX : version);
	m->last_exit = (int)(last_exit > 255 + 128 ? -1 : last_exit);
	return 0;
}

/* ---- preference ---- */

int64_t
dr_pod_slot_last_used(const dr_pod_slot_meta *m)
{
	return m->last_end > m->last_start ? m->last_end : m->last_start;
}

typedef struct {
	const dr_pod_slot_meta *metas;
	const char *owner;
} order_ctx;

/* -1 if slot a should be tried before slot b. */
static int
compare_slots(const order_ctx *c, size_t a, size_t b)
{
	const dr_pod_slot_meta *ma = &c->metas[a], *mb = &c->metas[b];
	bool owner = c->owner && *c->owner;
	bool oa = owner && dr_streq(ma->owner, c->owner);
	bool ob = owner && dr_streq(mb->owner, c->owner);
	if (oa != ob)
		return oa ? -1 : 1;
	int64_t ua = dr_pod_slot_last_used(ma), ub = dr_pod_slot_last_used(mb);
	if (ua != ub) {
		if (oa) /* this owner's: most recent first */
			return ua > ub ? -1 : 1;
		return ua < ub ? -1 : 1; /* the others: least recently used first */
	}
	return a < b ? -1 : a > b ? 1 : 0;
}

void
dr_pod_slot_order(const dr_pod_slot_meta *metas, size_t n, const char *owner, size_t *order)
{
	order_ctx c = { metas, owner };
	for (size_t i = 0; i < n; i++)
		order[i] = i;
	/* Insertion sort: pools are small, and it is stable and obviously correct. */
	for (size_t i = 1; i < n; i++) {
		size_t v = order[i];
		size_t j = i;
		while (j > 0 && compare_slots(&c, v, order[j - 1]) < 0) {
			order[j] = order[j - 1];
			j--;
		}
		order[j] = v;
	}
}

/* ---- on disk ---- */

char *
dr_pod_slot_dir(const char *pool, int k)
{
	return dr_xasprintf("%s/" DR_POD_SLOT_PREFIX "%d", pool, k);
}

int
dr_pod_slot_read_meta(const char *dir, dr_pod_slot_meta *m, dr_err **err)
{
	*m = (dr_pod_slot_meta)DR_POD_SLOT_META_INIT;
	_cleanup_free_ char *path = dr_xasprintf("%s/" DR_POD_SLOT_META, dir);
	_cleanup_free_ char *text = NULL;
	_cleanup_err_ dr_err *rerr = NULL;
	if (dr_read_file(path, MAX_META_BYTES, &text, NULL, &rerr) < 0) {
		if (rerr->errnum == ENOENT)
			return 0;
		return dr_fail(err, DR_EXIT_CONFIG, "%s", rerr->msg);
	}
	if (dr_pod_slot_meta_decode(text, m, err) < 0)
		return dr_err_prefix(err, "%s", path);
	return 0;
}

int
dr_pod_slot_write_meta(const char *dir, const dr_pod_slot_meta *m, dr_err **err)
{
	_cleanup_free_ char *path = dr_xasprintf("%s/" DR_POD_SLOT_META, dir);
	_cleanup_free_ char *text = dr_pod_slot_meta_encode(m);
	return dr_write_atomic(path, text, strlen(text), 0644, err);
}

int
dr_pod_slot_trylock(const char *dir, int *fd, dr_err **err)
{
	_cleanup_free_ char *path = dr_xasprintf("%s/" DR_POD_SLOT_LOCK, dir);
	_cleanup_close_ int lfd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (lfd < 0)
		return dr_fail_errno(err, DR_EXIT_FAIL, errno, "open %s", path);
	for (;;) {
		if (flock(lfd, LOCK_EX | LOCK_NB) == 0)
			break;
		if (errno == EINTR)
			continue;
		if (errno == EWOULDBLOCK)
			return 0;
		return dr_fail_errno(err, DR_EXIT_FAIL, errno, "lock %s", path);
	}
	*fd = TAKE_FD(lfd);
	return 1;
}

int
dr_pod_slot_probe(const char *dir)
{
	_cleanup_free_ char *path = dr_xasprintf("%s/" DR_POD_SLOT_LOCK, dir);
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return errno == ENOENT ? -1 : -2;
	for (;;) {
		if (flock(fd, LOCK_SH | LOCK_NB) == 0) {
			flock(fd, LOCK_UN);
			return 0;
		}
		if (errno == EINTR)
			continue;
		return errno == EWOULDBLOCK ? 1 : -2;
	}
}
