/* test_doctor.c: the judgements of `deskrun doctor` (src/lib/doctor.c) and typo suggestions
 * (src/lib/suggest.c): versions, the controller's major.minor, host limits, storage drivers,
 * pods, Secrets, token scopes, the JWT signing input, and the table/JSON forms. */
#include "test.h"

#include "lib/doctor.h"
#include "lib/pem.h"
#include "lib/suggest.h"

static void
versions(void **state)
{
	(void)state;
	int v[3];
	assert_int_equal(dr_version_parse("v1.32.2", v), 0);
	assert_int_equal(v[0] * 10000 + v[1] * 100 + v[2], 13202);
	assert_int_equal(dr_version_parse("kind v0.24.0 go1.22.6 linux/amd64", v), 0);
	assert_int_equal(v[1], 24);
	assert_int_equal(dr_version_parse("v3.16.2+g13654a5", v), 0);
	assert_int_equal(v[0] * 100 + v[1], 316);
	assert_int_equal(dr_version_parse("27.3.1", v), 0);
	assert_int_equal(v[0], 27);
	assert_int_equal(dr_version_parse("k3s version v1.32.2+k3s1 (abcdef12)", v), 0);
	assert_int_equal(v[1], 32);
	assert_int_equal(dr_version_parse("no version here", v), -1);
	assert_int_equal(dr_version_parse("7", v), -1);
	int a[3] = { 1, 29, 0 }, b[3] = { 1, 28, 9 };
	assert_int_equal(dr_version_cmp(a, b), 1);
	assert_int_equal(dr_version_cmp(b, a), -1);
	assert_int_equal(dr_version_cmp(a, a), 0);
}

static void
tools_and_controller(void **state)
{
	(void)state;
	_cleanup_finding_ dr_finding f = { 0 };
	dr_doctor_tool("helm", NULL, true, "kind clusters", &f);
	assert_int_equal(f.status, DR_CHECK_FAIL);
	assert_non_null(strstr(f.fix, "helm.sh"));
	dr_doctor_tool("kind", NULL, false, "kind clusters", &f);
	assert_int_equal(f.status, DR_CHECK_OK);
	dr_doctor_tool("kubectl", "v1.28.9", true, "up", &f);
	assert_int_equal(f.status, DR_CHECK_FAIL);
	assert_non_null(strstr(f.saw, "older than 1.29"));
	dr_doctor_tool("kubectl", "v1.28.9", false, "up", &f);
	assert_int_equal(f.status, DR_CHECK_WARN);
	dr_doctor_tool("docker", "27.3.1", true, "kind", &f);
	assert_int_equal(f.status, DR_CHECK_OK);
	dr_doctor_controller_version(NULL, "0.14.2", &f);
	assert_int_equal(f.status, DR_CHECK_FAIL);
	dr_doctor_controller_version("0.13.1", "0.14.2", &f);
	assert_int_equal(f.status, DR_CHECK_FAIL);
	assert_non_null(strstr(f.saw, "deletes scale sets"));
	dr_doctor_controller_version("0.14.0", "0.14.2", &f);
	assert_int_equal(f.status, DR_CHECK_WARN);
	dr_doctor_controller_version("0.14.2 (failed)", "0.14.2", &f);
	assert_int_equal(f.status, DR_CHECK_WARN);
	dr_doctor_controller_version("0.14.2", "0.14.2", &f);
	assert_int_equal(f.status, DR_CHECK_OK);
	assert_null(f.fix);
}

static void
host(void **state)
{
	(void)state;
	_cleanup_finding_ dr_finding f = { 0 };
	dr_doctor_inotify(8192, 128, &f);
	assert_int_equal(f.status, DR_CHECK_WARN);
	dr_doctor_inotify(524288, 512, &f);
	assert_int_equal(f.status, DR_CHECK_OK);
	dr_doctor_inotify(-1, 512, &f);
	assert_int_equal(f.status, DR_CHECK_WARN);
	dr_doctor_cgroup(2, "cpuset cpu io memory pids\n", false, &f);
	assert_int_equal(f.status, DR_CHECK_OK);
	dr_doctor_cgroup(2, "cpuset io cpuacct\n", true, &f); /* "cpuacct" is not "cpu" */
	assert_int_equal(f.status, DR_CHECK_FAIL);
	assert_non_null(strstr(f.saw, "cpu memory pids"));
	assert_non_null(strstr(f.fix, "Delegate=yes"));
	dr_doctor_cgroup(1, NULL, false, &f);
	assert_int_equal(f.status, DR_CHECK_WARN);
	dr_doctor_cgroup(0, NULL, false, &f);
	assert_int_equal(f.status, DR_CHECK_FAIL);
	dr_doctor_disk("/c", 100ULL << 30, 0xEF53, &f);
	assert_int_equal(f.status, DR_CHECK_OK);
	dr_doctor_disk("/c", 10ULL << 30, 0xEF53, &f);
	assert_int_equal(f.status, DR_CHECK_WARN);
	dr_doctor_disk("/c", 1ULL << 30, 0xEF53, &f);
	assert_int_equal(f.status, DR_CHECK_FAIL);
	dr_doctor_disk("/c", 100ULL << 30, DR_FSTYPE_OVERLAY, &f);
	assert_int_equal(f.status, DR_CHECK_FAIL);
	assert_non_null(strstr(f.saw, "operation not permitted"));
	dr_doctor_disk("/c", 100ULL << 30, DR_FSTYPE_TMPFS, &f);
	assert_int_equal(f.status, DR_CHECK_WARN);
	dr_doctor_storage_driver("overlay2", "extfs", &f);
	assert_int_equal(f.status, DR_CHECK_OK);
	dr_doctor_storage_driver("overlay2", "overlayfs", &f);
	assert_int_equal(f.status, DR_CHECK_FAIL);
	dr_doctor_storage_driver("btrfs", "btrfs", &f);
	assert_int_equal(f.status, DR_CHECK_OK);
	dr_doctor_storage_driver("vfs", NULL, &f);
	assert_int_equal(f.status, DR_CHECK_WARN);
}

static void
pods_and_secrets(void **state)
{
	(void)state;
	_cleanup_finding_ dr_finding f = { 0 };
	_cleanup_free_ char *crash = NULL;
	_cleanup_json_ json_t *ok = json_pack("{s:{s:s}, s:{s:s}}", "metadata", "name", "p",
	                                      "status", "phase", "Running");
	dr_doctor_pod(ok, 1765045255, &f, &crash);
	assert_int_equal(f.status, DR_CHECK_OK);
	assert_null(crash);
	_cleanup_json_ json_t *cl = json_loads(
		"{\"metadata\":{\"name\":\"p\"},\"status\":{\"phase\":\"Running\",\"containerStatuses\":"
		"[{\"name\":\"runner\",\"state\":{\"running\":{}}},{\"name\":\"dind\",\"restartCount\":3,"
		"\"state\":{\"waiting\":{\"reason\":\"CrashLoopBackOff\"}},\"lastState\":{\"terminated\":"
		"{\"exitCode\":2,\"reason\":\"Error\"}}}]}}",
		0, NULL);
	dr_doctor_pod(cl, 1765045255, &f, &crash);
	assert_int_equal(f.status, DR_CHECK_FAIL);
	assert_string_equal(crash, "dind");
	assert_non_null(strstr(f.saw, "3 restarts, last exit 2 Error"));
	free(crash);
	crash = NULL;
	/* Between back-offs (found on the real kubelet): exited again, or just restarted. */
	_cleanup_json_ json_t *again = json_loads(
		"{\"metadata\":{\"name\":\"p\"},\"status\":{\"phase\":\"Running\",\"containerStatuses\":"
		"[{\"name\":\"dind\",\"restartCount\":2,\"state\":{\"terminated\":{\"exitCode\":3,"
		"\"reason\":\"Error\"}},\"lastState\":{\"terminated\":{\"exitCode\":3}}}]}}",
		0, NULL);
	dr_doctor_pod(again, 1765045255, &f, &crash);
	assert_int_equal(f.status, DR_CHECK_FAIL);
	assert_string_equal(f.saw, "pod p container dind: restarting after crashes (2 restarts, last "
	                           "exit 3 Error; exited again, to be restarted)");
	assert_string_equal(crash, "dind");
	free(crash);
	crash = NULL;
	/* 2025-12-06T18:20:55Z is 1765045255: restarted 30 s before now, then 10 minutes before */
	_cleanup_json_ json_t *restarted = json_loads(
		"{\"metadata\":{\"name\":\"p\"},\"status\":{\"phase\":\"Running\",\"containerStatuses\":"
		"[{\"name\":\"dind\",\"restartCount\":1,\"state\":{\"running\":{\"startedAt\":"
		"\"2025-12-06T18:20:25Z\"}},\"lastState\":{\"terminated\":{\"exitCode\":1,"
		"\"reason\":\"Error\"}}}]}}",
		0, NULL);
	dr_doctor_pod(restarted, 1765045255, &f, &crash);
	assert_int_equal(f.status, DR_CHECK_FAIL);
	assert_string_equal(f.saw, "pod p container dind: restarting after crashes (1 restarts, last "
	                           "exit 1 Error; running again)");
	free(crash);
	crash = NULL;
	dr_doctor_pod(restarted, 1765045255 + 600, &f, &crash);
	assert_int_equal(f.status, DR_CHECK_OK); /* running steadily since: an old crash */
	assert_null(crash);
	_cleanup_json_ json_t *pend = json_loads(
		"{\"metadata\":{\"name\":\"p\"},\"status\":{\"phase\":\"Pending\",\"conditions\":[{"
		"\"type\":\"PodScheduled\",\"status\":\"False\",\"reason\":\"Unschedulable\",\"message\":"
		"\"0/3 nodes are available:\\n 3 Insufficient cpu.\"}]}}",
		0, NULL);
	dr_doctor_pod(pend, 1765045255, &f, &crash);
	assert_int_equal(f.status, DR_CHECK_FAIL);
	assert_null(strchr(f.saw, '\n')); /* one line */
	assert_non_null(strstr(f.saw, "Insufficient cpu"));

	dr_doctor_secret(NULL, "s", DR_AUTH_PAT, &f);
	assert_int_equal(f.status, DR_CHECK_FAIL);
	_cleanup_json_ json_t *app = json_pack("{s:{s:s, s:s}}", "data", "github_app_id", "MTIz",
	                                       "github_app_private_key", "");
	dr_doctor_secret(app, "s", DR_AUTH_APP, &f);
	assert_int_equal(f.status, DR_CHECK_FAIL);
	assert_non_null(strstr(f.saw, "github_app_installation_id, github_app_private_key"));
	_cleanup_json_ json_t *pat = json_pack("{s:{s:s}}", "data", "github_token", "dA==");
	dr_doctor_secret(pat, "s", DR_AUTH_PAT, &f);
	assert_int_equal(f.status, DR_CHECK_OK);
}

static void
github(void **state)
{
	(void)state;
	_cleanup_finding_ dr_finding f = { 0 };
	dr_doctor_pat_scopes("repo, workflow", "https://github.com/acme/web", &f);
	assert_int_equal(f.status, DR_CHECK_OK);
	dr_doctor_pat_scopes("public_repo", "https://github.com/acme/web", &f);
	assert_int_equal(f.status, DR_CHECK_FAIL); /* public_repo is not repo */
	dr_doctor_pat_scopes("repo", "https://github.com/acme", &f);
	assert_int_equal(f.status, DR_CHECK_FAIL);
	dr_doctor_pat_scopes("admin:org,repo", "https://github.com/acme/", &f);
	assert_int_equal(f.status, DR_CHECK_OK);
	dr_doctor_pat_scopes("repo", "https://ghe.example.com/enterprises/big", &f);
	assert_int_equal(f.status, DR_CHECK_FAIL);
	assert_non_null(strstr(f.saw, "manage_runners:enterprise"));
	dr_doctor_pat_scopes(NULL, "https://github.com/acme/web", &f);
	assert_int_equal(f.status, DR_CHECK_WARN);
	_cleanup_free_ char *a = dr_github_api_url("https://github.com/acme/web");
	assert_string_equal(a, "https://api.github.com");
	_cleanup_free_ char *b = dr_github_api_url("https://ghe.example.com/acme/web");
	assert_string_equal(b, "https://ghe.example.com/api/v3");
	_cleanup_free_ char *u = dr_base64url("\xfb\xff", 2);
	assert_string_equal(u, "-_8");
	_cleanup_free_ char *in = dr_jwt_signing_input("123", 1000);
	const char *dot = strchr(in, '.');
	assert_non_null(dot);
	assert_string_equal(dot + 1, "eyJpYXQiOjk0MCwiZXhwIjoxNTQwLCJpc3MiOjEyM30"); /* {"iat":940,"exp":1540,"iss":123} */
	_cleanup_free_ char *in2 = dr_jwt_signing_input("Iv1.abc", 1000);
	uint8_t *raw = NULL;
	size_t n = 0;
	_cleanup_free_ char *std = dr_xstrdup(strchr(in2, '.') + 1);
	for (char *c = std; *c; c++)
		*c = *c == '-' ? '+' : *c == '_' ? '/' : *c;
	_cleanup_free_ char *padded = dr_xasprintf("%s%s", std, strlen(std) % 4 == 2 ? "==" : strlen(std) % 4 == 3 ? "=" : "");
	assert_int_equal(dr_base64_decode(padded, strlen(padded), &raw, &n), 0);
	assert_memory_equal(raw, "{\"iat\":940,\"exp\":1540,\"iss\":\"Iv1.abc\"}", n);
	free(raw);
}

static void
table_and_json(void **state)
{
	(void)state;
	_cleanup_json_ json_t *c = json_array();
	dr_check_add(c, "host", "inotify", DR_CHECK_OK, "fine", "never shown");
	dr_check_add(c, "tools", "helm", DR_CHECK_FAIL, "missing", "install it");
	dr_check_detail(c, "line 1\nline 2");
	_cleanup_free_ char *t = dr_checks_table(c, false, false);
	assert_string_equal(t, "ok    host/inotify  fine\n"
	                       "fail  tools/helm    missing\n"
	                       "                    fix: install it\n"
	                       "                    | line 1\n"
	                       "                    | line 2\n"
	                       "1 ok, 0 warn, 1 fail\n");
	_cleanup_free_ char *q = dr_checks_table(c, true, false);
	assert_null(strstr(q, "inotify"));
	_cleanup_free_ char *col = dr_checks_table(c, false, true);
	assert_non_null(strstr(col, "\033[31mfail\033[0m"));
	_cleanup_json_ json_t *doc = dr_checks_document(c);
	assert_int_equal(json_integer_value(json_object_get(doc, "schema")), 1);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(doc, "summary"), "fail")), 1);
	assert_true(json_is_null(json_object_get(json_array_get(c, 0), "fix")));
}

static void
suggestions(void **state)
{
	(void)state;
	static const char *const cmds[] = { "add", "cache", "doctor", "down", "status", "up", NULL };
	assert_string_equal(dr_suggest("stauts", cmds), "status");
	assert_string_equal(dr_suggest("docter", cmds), "doctor");
	assert_string_equal(dr_suggest("statu", cmds), "status");
	assert_string_equal(dr_suggest("doc", cmds), "doctor"); /* the one prefix */
	assert_null(dr_suggest("frobnicate", cmds));
	assert_null(dr_suggest("d", cmds));
	assert_null(dr_suggest("", cmds));
	assert_int_equal(dr_edit_distance("prnue", "prune"), 1);
	assert_int_equal(dr_edit_distance("kitten", "sitting"), 3);
	static const char *const modes[] = { "kubernetes", "dind", "docker-socket", "dind-daemonset", NULL };
	assert_string_equal(dr_suggest("dind-deamonset", modes), "dind-daemonset");
	assert_string_equal(dr_suggest("kubernets", modes), "kubernetes");
}

int
main(void)
{
	test_init();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(versions),       cmocka_unit_test(tools_and_controller),
		cmocka_unit_test(host),           cmocka_unit_test(pods_and_secrets),
		cmocka_unit_test(github),         cmocka_unit_test(table_and_json),
		cmocka_unit_test(suggestions),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
