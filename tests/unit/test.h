/* test.h: what every cmocka unit test includes. */
#ifndef DESKRUN_TEST_H
#define DESKRUN_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "lib/common.h"

static void *
test_json_alloc(size_t n)
{
	return dr_xmalloc(n);
}

/* jansson allocates through deskrun's aborting allocator, as in the binary. */
static inline void
test_init(void)
{
	json_set_alloc_funcs(test_json_alloc, free);
}

/* Assert that a call failed with exactly this exit code and message, then free the error. */
#define assert_fails(call, ecode, emsg)                                                      \
	do {                                                                                 \
		dr_err *e_ = NULL;                                                           \
		int rc_ = (call) < 0 ? -1 : 0;                                               \
		e_ = *(&err_);                                                               \
		err_ = NULL;                                                                 \
		assert_int_equal(rc_, -1);                                                   \
		assert_non_null(e_);                                                         \
		assert_string_equal(e_->msg, (emsg));                                        \
		assert_int_equal(e_->code, (ecode));                                         \
		dr_err_free(e_);                                                             \
	} while (0)

#define assert_succeeds(call)                                                                \
	do {                                                                                 \
		int rc_ = (call);                                                            \
		if (err_)                                                                    \
			fail_msg("unexpected error: %s", err_->msg);                         \
		assert_int_equal(rc_, 0);                                                    \
	} while (0)

/* Read a file of the source tree (tests/data/...); owned by the caller. */
static inline char *
test_read_data(const char *rel)
{
	const char *root = getenv("DESKRUN_SOURCE_ROOT");
	_cleanup_free_ char *path = dr_xasprintf("%s/%s", root ? root : ".", rel);
	FILE *f = fopen(path, "r");
	if (!f)
		fail_msg("cannot open %s", path);
	char *buf = dr_xcalloc(1, 1 << 20);
	size_t n = fread(buf, 1, (1 << 20) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

#endif
