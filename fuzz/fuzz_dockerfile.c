/* fuzz_dockerfile.c: libFuzzer target for the guard's Dockerfile scanner
 * (src/guard/dockerfile.c). The first byte picks the build-arg values given (none, or
 * A=..., B=... from a small set) and whether the list overflowed; the rest is the Dockerfile.
 * Every reference is checked to be a NUL-terminated string no longer than the input's
 * expansion bound, and a reference holding "x/" is refused (the refusal must come back as the
 * scan's answer). Built by scripts/fuzz.sh. */
#include "lib/common.h"
#include "guard/dockerfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
on_ref(void *u, const char *ref, const char *what, unsigned line, char *buf, size_t blen)
{
	size_t *n = u;
	(*n)++;
	if (!what || !*what || line == 0)
		__builtin_trap();
	if (strstr(ref, "x/")) {
		snprintf(buf, blen, "refused %.40s", ref);
		return 1;
	}
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	static char a1[] = "A=x/1", a2[] = "A=${B}", a3[] = "B=", a4[] = "B=tiny:1";
	char *sets[4][4] = { { NULL }, { a1, NULL }, { a1, a2, a3, NULL }, { a2, a3, a4, NULL } };
	char *const *args = sets[data[0] & 3];
	bool ovf = data[0] & 4;
	size_t n = 0;
	char buf[256];
	const char *why = gd_df_scan((const char *)data + 1, size - 1, args, ovf, on_ref, &n, buf,
	                             sizeof(buf));
	if (why && why != buf)
		__builtin_trap();
	return 0;
}
