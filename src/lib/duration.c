/* duration.c: Go-style durations (see duration.h). */
#include "lib/common.h"
#include "lib/buf.h"
#include "lib/duration.h"

int
dr_duration_parse(const char *flag, const char *s, long *ms, dr_err **err)
{
	const char *p = s;
	long total = 0;
	if (!*p)
		goto bad;
	while (*p) {
		if (*p < '0' || *p > '9')
			goto bad;
		long v = 0;
		while (*p >= '0' && *p <= '9') {
			v = v * 10 + (*p - '0');
			if (v > 100000000L)
				goto bad;
			p++;
		}
		long unit;
		if (dr_startswith(p, "ms")) {
			unit = 1;
			p += 2;
		} else if (*p == 's') {
			unit = 1000;
			p++;
		} else if (*p == 'm') {
			unit = 60000;
			p++;
		} else if (*p == 'h') {
			unit = 3600000;
			p++;
		} else if (*p == '\0' && p != s && total == 0) {
			unit = 1000; /* bare number: seconds */
		} else {
			goto bad;
		}
		total += v * unit;
		if (total > 7L * 24 * 3600000)
			goto bad;
	}
	*ms = total;
	return 0;
bad:
	return dr_fail(err, DR_EXIT_USAGE,
	               "%s \"%s\": not a duration: use e.g. 90s, 5m or 1h30m (at most 7 days)", flag,
	               s);
}

char *
dr_duration_text(long ms)
{
	_cleanup_buf_ dr_buf b = DR_BUF_INIT(0);
	long s = ms / 1000;
	if (s >= 3600) {
		dr_buf_printf(&b, "%ldh", s / 3600);
		s %= 3600;
	}
	if (s >= 60) {
		dr_buf_printf(&b, "%ldm", s / 60);
		s %= 60;
	}
	if (s || !b.len)
		dr_buf_printf(&b, "%lds", s);
	return dr_buf_steal(&b);
}
