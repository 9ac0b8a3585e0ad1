/* test_spawn.c: children from an argv vector, with real processes: stdin, captured output,
 * exit codes, signals, deadlines, missing programs, the environment allow-list. */
#include "test.h"

#include "sys/spawn.h"

static void
output_and_stdin(void **state)
{
	(void)state;
	dr_err *err_ = NULL;
	char *argv[] = { (char *)"cat", NULL };
	dr_spawn_opts o = { .argv = argv, .stdin_data = "hello\nworld\n", .stdin_len = 12,
		            .timeout_ms = 10000 };
	_cleanup_spawn_ dr_spawn_result r = { 0 };
	assert_succeeds(dr_spawn(&o, &r, &err_));
	assert_int_equal(r.status, 0);
	assert_string_equal(r.out, "hello\nworld\n");
	assert_succeeds(dr_spawn_check(&o, &r, &err_));
}

static void
binary_output(void **state)
{
	(void)state;
	dr_err *err_ = NULL;
	char *argv[] = { (char *)"printf", (char *)"a\\000b\\000", NULL };
	dr_spawn_opts o = { .argv = argv, .timeout_ms = 10000 };
	_cleanup_spawn_ dr_spawn_result r = { 0 };
	assert_succeeds(dr_spawn(&o, &r, &err_));
	assert_int_equal(r.out_len, 4);
	assert_memory_equal(r.out, "a\0b\0", 4);
}

static void
big_stdin(void **state)
{
	(void)state;
	dr_err *err_ = NULL;
	size_t n = 8u << 20; /* more than any pipe buffer: written while output is read */
	_cleanup_free_ char *data = dr_xmalloc(n);
	memset(data, 'x', n);
	char *argv[] = { (char *)"wc", (char *)"-c", NULL };
	dr_spawn_opts o = { .argv = argv, .stdin_data = data, .stdin_len = n, .timeout_ms = 20000 };
	_cleanup_spawn_ dr_spawn_result r = { 0 };
	assert_succeeds(dr_spawn(&o, &r, &err_));
	assert_int_equal(atol(r.out), (long)n);
}

static void
failures(void **state)
{
	(void)state;
	dr_err *err_ = NULL;
	char *argv[] = { (char *)"sh", (char *)"-c",
		         (char *)"echo one >&2; echo two >&2; echo three >&2; echo four >&2; exit 3",
		         NULL };
	dr_spawn_opts o = { .argv = argv, .timeout_ms = 10000 };
	_cleanup_spawn_ dr_spawn_result r = { 0 };
	assert_succeeds(dr_spawn(&o, &r, &err_));
	assert_int_equal(r.status, 3);
	assert_fails(dr_spawn_check(&o, &r, &err_), DR_EXIT_FAIL,
	             "'sh -c 'echo one >&2; echo two >&2; echo three >&2; echo four >&2; exit 3'' "
	             "failed (exit 3): two | three | four");
	char *killed[] = { (char *)"sh", (char *)"-c", (char *)"kill -9 $$", NULL };
	o.argv = killed;
	_cleanup_spawn_ dr_spawn_result k = { 0 };
	assert_succeeds(dr_spawn(&o, &k, &err_));
	assert_int_equal(k.status, 128 + 9);
}

static void
deadline(void **state)
{
	(void)state;
	dr_err *err_ = NULL;
	char *argv[] = { (char *)"sleep", (char *)"30", NULL };
	dr_spawn_opts o = { .argv = argv, .timeout_ms = 300 };
	_cleanup_spawn_ dr_spawn_result r = { 0 };
	assert_succeeds(dr_spawn(&o, &r, &err_));
	assert_true(r.timed_out);
	assert_int_equal(r.status, 128 + 15);
	assert_true(r.elapsed_ms < 5000);
	assert_fails(dr_spawn_check(&o, &r, &err_), DR_EXIT_TIMEOUT, "'sleep 30' did not finish within 0 s");
	/* A child that ignores SIGTERM is killed after the grace period. */
	char *stubborn[] = { (char *)"sh", (char *)"-c", (char *)"trap '' TERM; sleep 30", NULL };
	o.argv = stubborn;
	_cleanup_spawn_ dr_spawn_result s = { 0 };
	assert_succeeds(dr_spawn(&o, &s, &err_));
	assert_true(s.timed_out);
	assert_true(s.elapsed_ms < 10000);
}

static void
not_installed(void **state)
{
	(void)state;
	dr_err *err_ = NULL;
	char *argv[] = { (char *)"deskrun-no-such-tool", NULL };
	dr_spawn_opts o = { .argv = argv, .install_hint = "install it from https://example.org" };
	_cleanup_spawn_ dr_spawn_result r = { 0 };
	assert_fails(dr_spawn(&o, &r, &err_), DR_EXIT_NOT_FOUND,
	             "deskrun-no-such-tool is not installed (not found on PATH): install it from "
	             "https://example.org");
}

static void
environment(void **state)
{
	(void)state;
	dr_err *err_ = NULL;
	setenv("GITHUB_TOKEN", "ghp_mustnotleak", 1);
	setenv("KUBECONFIG", "/tmp/kc", 1);
	char *argv[] = { (char *)"env", NULL };
	dr_spawn_opts o = { .argv = argv, .timeout_ms = 10000 };
	_cleanup_spawn_ dr_spawn_result r = { 0 };
	assert_succeeds(dr_spawn(&o, &r, &err_));
	assert_null(strstr(r.out, "ghp_mustnotleak"));
	assert_non_null(strstr(r.out, "KUBECONFIG=/tmp/kc\n"));
	assert_non_null(strstr(r.out, "PATH="));
	/* No descriptor of ours leaks into the child either. */
	char *fds[] = { (char *)"sh", (char *)"-c", (char *)"ls /proc/self/fd | wc -l", NULL };
	o.argv = fds;
	_cleanup_spawn_ dr_spawn_result f = { 0 };
	assert_succeeds(dr_spawn(&o, &f, &err_));
	assert_true(atoi(f.out) <= 5); /* 0, 1, 2, the ls directory fd, and wc's pipe */
}

static void
argv_text(void **state)
{
	(void)state;
	char *argv[] = { (char *)"kubectl", (char *)"get", (char *)"a b", (char *)"it's",
		         (char *)"--x=1", NULL };
	_cleanup_free_ char *t = dr_argv_text(argv);
	assert_string_equal(t, "kubectl get 'a b' 'it'\\''s' --x=1");
}

int
main(void)
{
	test_init();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(output_and_stdin), cmocka_unit_test(binary_output),
		cmocka_unit_test(big_stdin),
		cmocka_unit_test(failures),         cmocka_unit_test(deadline),
		cmocka_unit_test(not_installed),    cmocka_unit_test(environment),
		cmocka_unit_test(argv_text),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
