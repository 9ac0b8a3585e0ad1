/* test_pod_slot.c: the pure parts of the cache pool: which slot a lease prefers (this owner's
 * warmest, then least recently used), the slot metadata's JSON codec, RFC 3339 times, sizes,
 * and finding the mounts a killed daemon left under a directory. */
#include "tests/unit/test.h"

#include "pod/fsops.h"
#include "pod/slot.h"

static dr_pod_slot_meta
meta(const char *owner, int64_t start, int64_t end)
{
	dr_pod_slot_meta m = DR_POD_SLOT_META_INIT;
	m.owner = owner ? dr_xstrdup(owner) : NULL;
	m.last_start = start;
	m.last_end = end;
	return m;
}

static void
clear_all(dr_pod_slot_meta *m, size_t n)
{
	for (size_t i = 0; i < n; i++)
		dr_pod_slot_meta_clear(&m[i]);
}

static void
order_prefers_owner_then_lru(void **state)
{
	(void)state;
	dr_pod_slot_meta m[5] = {
		meta("b", 100, 200), /* b's, old */
		meta("a", 300, 400), /* a's, older */
		meta(NULL, 0, 0),    /* never used */
		meta("a", 500, 600), /* a's, newest */
		meta("c", 50, 0),    /* c's, crashed (no end): used at 50 */
	};
	size_t order[5];
	dr_pod_slot_order(m, 5, "a", order);
	/* a's slots newest first (3, 1), then the rest least recently used first: the never used
	 * one (2), c's at 50 (4), b's at 200 (0). */
	size_t want[5] = { 3, 1, 2, 4, 0 };
	for (size_t i = 0; i < 5; i++)
		assert_int_equal(order[i], want[i]);

	/* A new owner gets plain LRU. */
	dr_pod_slot_order(m, 5, "z", order);
	size_t lru[5] = { 2, 4, 0, 1, 3 };
	for (size_t i = 0; i < 5; i++)
		assert_int_equal(order[i], lru[i]);
	/* So does no owner at all: a missing owner never matches slots without one. */
	dr_pod_slot_order(m, 5, NULL, order);
	for (size_t i = 0; i < 5; i++)
		assert_int_equal(order[i], lru[i]);
	dr_pod_slot_order(m, 5, "", order);
	for (size_t i = 0; i < 5; i++)
		assert_int_equal(order[i], lru[i]);
	clear_all(m, 5);
}

static void
order_ties_by_slot_number(void **state)
{
	(void)state;
	dr_pod_slot_meta m[4] = { meta(NULL, 0, 0), meta(NULL, 0, 0), meta("a", 10, 20),
		                  meta("a", 10, 20) };
	size_t order[4];
	dr_pod_slot_order(m, 4, "a", order);
	size_t want[4] = { 2, 3, 0, 1 };
	for (size_t i = 0; i < 4; i++)
		assert_int_equal(order[i], want[i]);
	/* Last use is the later of start and end: a lease that ended late beats one that started
	 * late but crashed early (end 0). */
	dr_pod_slot_meta n[2] = { meta("a", 100, 0), meta("a", 50, 150) };
	size_t o2[2];
	dr_pod_slot_order(n, 2, "a", o2);
	assert_int_equal(o2[0], 1);
	assert_int_equal(o2[1], 0);
	assert_int_equal(dr_pod_slot_last_used(&n[0]), 100);
	assert_int_equal(dr_pod_slot_last_used(&n[1]), 150);
	clear_all(m, 4);
	clear_all(n, 2);
}

static void
meta_roundtrip(void **state)
{
	(void)state;
	dr_err *err_ = NULL;
	dr_pod_slot_meta m = DR_POD_SLOT_META_INIT;
	m.owner = dr_xstrdup("ci-2");
	m.holder = dr_xstrdup("ci-2-abcde/1");
	m.leases = 7;
	m.last_start = 1767322800; /* 2026-01-02T03:00:00Z */
	m.last_end = 1767322861;
	m.last_exit = 143;
	m.size_bytes = 123456789;
	m.size_at = 1767322862;
	_cleanup_free_ char *text = dr_pod_slot_meta_encode(&m);
	assert_string_equal(text, "{\n"
	                          "  \"version\": 1,\n"
	                          "  \"owner\": \"ci-2\",\n"
	                          "  \"holder\": \"ci-2-abcde/1\",\n"
	                          "  \"leases\": 7,\n"
	                          "  \"last_lease_start\": \"2026-01-02T03:00:00Z\",\n"
	                          "  \"last_lease_end\": \"2026-01-02T03:01:01Z\",\n"
	                          "  \"last_exit\": 143,\n"
	                          "  \"size_bytes\": 123456789,\n"
	                          "  \"size_measured\": \"2026-01-02T03:01:02Z\"\n"
	                          "}\n");
	_cleanup_slot_meta_ dr_pod_slot_meta back = DR_POD_SLOT_META_INIT;
	assert_succeeds(dr_pod_slot_meta_decode(text, &back, &err_));
	assert_string_equal(back.owner, "ci-2");
	assert_string_equal(back.holder, "ci-2-abcde/1");
	assert_int_equal(back.leases, 7);
	assert_int_equal(back.last_start, m.last_start);
	assert_int_equal(back.last_end, m.last_end);
	assert_int_equal(back.last_exit, 143);
	assert_int_equal(back.size_bytes, 123456789);
	assert_int_equal(back.size_at, m.size_at);
	dr_pod_slot_meta_clear(&m);

	/* A fresh slot: nulls, and nulls decode to the defaults. */
	_cleanup_free_ char *fresh = dr_pod_slot_meta_encode(&m);
	assert_non_null(strstr(fresh, "\"owner\": null"));
	assert_non_null(strstr(fresh, "\"last_lease_end\": null"));
	assert_non_null(strstr(fresh, "\"size_bytes\": null"));
	_cleanup_slot_meta_ dr_pod_slot_meta f = DR_POD_SLOT_META_INIT;
	assert_succeeds(dr_pod_slot_meta_decode(fresh, &f, &err_));
	assert_null(f.owner);
	assert_int_equal(f.last_end, 0);
	assert_int_equal(f.size_bytes, -1);
	assert_int_equal(f.last_exit, -1);
}

static void
meta_decode_tolerant_and_strict(void **state)
{
	(void)state;
	dr_err *err_ = NULL;
	/* Missing fields take defaults; unknown ones (a newer deskrun's) are ignored. */
	_cleanup_slot_meta_ dr_pod_slot_meta m = DR_POD_SLOT_META_INIT;
	assert_succeeds(dr_pod_slot_meta_decode(
		"{\"version\": 2, \"owner\": \"x\", \"leases\": 3, \"future\": [1]}", &m, &err_));
	assert_int_equal(m.version, 2);
	assert_string_equal(m.owner, "x");
	assert_int_equal(m.leases, 3);
	assert_int_equal(m.last_start, 0);
	assert_int_equal(m.size_bytes, -1);
	/* Wrong types and broken text are corrupt files (exit 3), and leave the defaults. */
	dr_pod_slot_meta bad = DR_POD_SLOT_META_INIT;
	assert_fails(dr_pod_slot_meta_decode("{\"leases\": \"many\"}", &bad, &err_),
	             DR_EXIT_CONFIG, "\"leases\" is not a whole number >= 0");
	assert_null(bad.owner);
	assert_fails(dr_pod_slot_meta_decode("{\"owner\": 5}", &bad, &err_), DR_EXIT_CONFIG,
	             "\"owner\" is not a string");
	assert_fails(dr_pod_slot_meta_decode("{\"owner\": \"o\", \"last_lease_start\": \"yesterday\"}",
	                                     &bad, &err_),
	             DR_EXIT_CONFIG, "\"last_lease_start\" is not an RFC 3339 time");
	assert_null(bad.owner);
	assert_fails(dr_pod_slot_meta_decode("[1, 2]", &bad, &err_), DR_EXIT_CONFIG,
	             "not a JSON object");
	dr_err *e = NULL;
	assert_int_equal(dr_pod_slot_meta_decode("{\"owner\": ", &bad, &e), -1);
	assert_int_equal(e->code, DR_EXIT_CONFIG);
	dr_err_free(e);
}

static void
times(void **state)
{
	(void)state;
	_cleanup_free_ char *t = dr_pod_time_text(0);
	assert_null(t);
	_cleanup_free_ char *u = dr_pod_time_text(951782400); /* a leap day */
	assert_string_equal(u, "2000-02-29T00:00:00Z");
	int64_t ms = 0;
	assert_int_equal(dr_pod_time_parse_ms("2000-02-29T00:00:00Z", &ms), 0);
	assert_int_equal(ms, 951782400000LL);
	/* Docker's nanosecond times: milliseconds kept, the rest dropped. */
	assert_int_equal(dr_pod_time_parse_ms("2000-02-29T00:00:01.123456789Z", &ms), 0);
	assert_int_equal(ms, 951782401123LL);
	assert_int_equal(dr_pod_time_parse_ms("2000-02-29T02:00:00.5+02:00", &ms), 0);
	assert_int_equal(ms, 951782400500LL);
	assert_int_equal(dr_pod_time_parse_ms("2000-02-28T19:00:00-05:00", &ms), 0);
	assert_int_equal(ms, 951782400000LL);
	/* Go's zero time means never. */
	assert_int_equal(dr_pod_time_parse_ms("0001-01-01T00:00:00Z", &ms), 0);
	assert_int_equal(ms, 0);
	const char *bad[] = { "", "2000-02-29", "2000-02-29T00:00:00", "2000-13-01T00:00:00Z",
		              "2000-02-29T00:00:00.Z", "2000-02-29T00:00:00Zjunk",
		              "2000-02-29T24:00:00Z", "2000-02-29T00:00:00+0200", NULL };
	for (size_t i = 0; bad[i]; i++)
		assert_int_equal(dr_pod_time_parse_ms(bad[i], &ms), -1);
	assert_int_equal(dr_pod_time_parse_ms(NULL, &ms), -1);
}

static void
sizes(void **state)
{
	(void)state;
	struct {
		uint64_t b;
		const char *want;
	} cases[] = {
		{ 0, "0 B" },         { 1023, "1023 B" },          { 1024, "1.0 KiB" },
		{ 1536, "1.5 KiB" },  { 10u << 20, "10 MiB" },     { 20ull << 30, "20 GiB" },
		{ (3ull << 40) / 2, "1.5 TiB" },
	};
	for (size_t i = 0; i < DR_ARRAY_LEN(cases); i++) {
		_cleanup_free_ char *s = dr_pod_size_text(cases[i].b);
		assert_string_equal(s, cases[i].want);
	}
}

static void
mounts_under(void **state)
{
	(void)state;
	const char *info =
		"22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/vda rw\n"
		"90 22 8:1 /p/slot-0/docker /p/slot-0/docker rw shared:1 - ext4 /dev/vda rw\n"
		"91 90 0:50 / /p/slot-0/docker/overlay2/abc/merged rw - overlay overlay rw\n"
		"92 22 0:51 / /p/slot-0/exec/netns/x rw - nsfs nsfs rw\n"
		"93 22 0:52 / /p/slot-0/docker/containers/c1/mounts/shm rw - tmpfs shm rw\n"
		"94 22 0:53 / /p/slot-00/docker rw - tmpfs t rw\n"
		"95 22 0:54 / /p/slot-0/docker/with\\040space rw - tmpfs t rw\n"
		"96 22 0:55 / /p/slot-0 rw - tmpfs t rw\n";
	_cleanup_strv_ char **v = dr_pod_mounts_under(info, "/p/slot-0/docker", false);
	assert_int_equal(dr_strv_len(v), 3);
	/* Deepest first, escapes decoded, the directory itself and look-alikes left out. */
	assert_string_equal(v[0], "/p/slot-0/docker/containers/c1/mounts/shm");
	assert_string_equal(v[1], "/p/slot-0/docker/overlay2/abc/merged");
	assert_string_equal(v[2], "/p/slot-0/docker/with space");
	_cleanup_strv_ char **w = dr_pod_mounts_under(info, "/p/slot-0/docker/", true);
	assert_int_equal(dr_strv_len(w), 4);
	assert_string_equal(w[3], "/p/slot-0/docker");
	_cleanup_strv_ char **x = dr_pod_mounts_under(info, "/p/slot-0", false);
	assert_int_equal(dr_strv_len(x), 5); /* not /p/slot-0 itself, not /p/slot-00 */
	_cleanup_strv_ char **root = dr_pod_mounts_under(info, "/", true);
	assert_int_equal(dr_strv_len(root), 0); /* never everything */
	_cleanup_strv_ char **none = dr_pod_mounts_under("", "/p", true);
	assert_int_equal(dr_strv_len(none), 0);
}

static void
slot_dir(void **state)
{
	(void)state;
	_cleanup_free_ char *d = dr_pod_slot_dir("/var/lib/deskrun/cache/pool/ci", 3);
	assert_string_equal(d, "/var/lib/deskrun/cache/pool/ci/slot-3");
}

int
main(void)
{
	test_init();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(order_prefers_owner_then_lru),
		cmocka_unit_test(order_ties_by_slot_number),
		cmocka_unit_test(meta_roundtrip),
		cmocka_unit_test(meta_decode_tolerant_and_strict),
		cmocka_unit_test(times),
		cmocka_unit_test(sizes),
		cmocka_unit_test(mounts_under),
		cmocka_unit_test(slot_dir),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
