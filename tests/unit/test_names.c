/* test_names.c: object names and the DNS checks. */
#include "test.h"

#include "lib/names.h"

static void
chart_names(void **state)
{
	(void)state;
	_cleanup_free_ char *ss = dr_name_scale_set("web", 0);
	_cleanup_free_ char *ss2 = dr_name_scale_set("web", 2);
	assert_string_equal(ss, "web");
	assert_string_equal(ss2, "web-2");
	_cleanup_free_ char *full = dr_name_fullname(ss2);
	assert_string_equal(full, "web-2-gha-rs");
	_cleanup_free_ char *secret = dr_name_github_secret(full);
	_cleanup_free_ char *np = dr_name_no_permission(full);
	_cleanup_free_ char *km = dr_name_kube_mode(full);
	_cleanup_free_ char *mgr = dr_name_manager(full);
	_cleanup_free_ char *hook = dr_name_hook_extension(ss2);
	assert_string_equal(secret, "web-2-gha-rs-github-secret");
	assert_string_equal(np, "web-2-gha-rs-no-permission");
	assert_string_equal(km, "web-2-gha-rs-kube-mode");
	assert_string_equal(mgr, "web-2-gha-rs-manager");
	assert_string_equal(hook, "web-2-hook-extension");
}

static void
fullname_cut(void **state)
{
	(void)state;
	/* The chart cuts <name>-gha-rs to 63 characters and drops a trailing '-'. */
	char name[64];
	memset(name, 'a', 56);
	name[56] = '\0';
	_cleanup_free_ char *e = dr_name_fullname(name);
	assert_int_equal(strlen(e), 63);
	assert_true(dr_endswith(e, "a-gha-rs"));
	memset(name, 'a', 57);
	name[57] = '\0';
	_cleanup_free_ char *f = dr_name_fullname(name);
	assert_int_equal(strlen(f), 63);
	assert_true(dr_endswith(f, "a-gha-r"));
	memset(name, 'a', 58);
	name[58] = '\0';
	_cleanup_free_ char *g = dr_name_fullname(name);
	assert_int_equal(strlen(g), 62); /* "...-gha-" cut to 63 then trailing '-' dropped */
	assert_true(dr_endswith(g, "a-gha"));
}

static void
max_len(void **state)
{
	(void)state;
	assert_int_equal(dr_name_max_len(1), 45);
	assert_int_equal(dr_name_max_len(2), 43);
	assert_int_equal(dr_name_max_len(9), 43);
	assert_int_equal(dr_name_max_len(10), 42);
	assert_int_equal(dr_name_max_len(100), 41);
}

static void
dns(void **state)
{
	(void)state;
	assert_true(dr_is_dns_label("a"));
	assert_true(dr_is_dns_label("arc-runners"));
	assert_true(dr_is_dns_label("0a9"));
	assert_false(dr_is_dns_label(""));
	assert_false(dr_is_dns_label("A"));
	assert_false(dr_is_dns_label("a."));
	assert_false(dr_is_dns_label("a_b"));
	char l[65];
	memset(l, 'a', 64);
	l[64] = '\0';
	assert_false(dr_is_dns_label(l));
	l[63] = '\0';
	assert_true(dr_is_dns_label(l));
	assert_true(dr_is_dns_subdomain("fast.ssd-1"));
	assert_false(dr_is_dns_subdomain("fast..ssd"));
	assert_false(dr_is_dns_subdomain(".fast"));
	assert_false(dr_is_dns_subdomain("Fast"));
}

int
main(void)
{
	test_init();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(chart_names),
		cmocka_unit_test(fullname_cut),
		cmocka_unit_test(max_len),
		cmocka_unit_test(dns),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
