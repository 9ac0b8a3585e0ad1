/* quantity.c: Kubernetes quantity syntax (see quantity.h). */
#include "lib/common.h"
#include "lib/quantity.h"

#include <math.h>

static const char *const suffixes[] = { "Ki", "Mi", "Gi", "Ti", "Pi", "Ei", "n", "u", "m",
	                                "k",  "M",  "G",  "T",  "P",  "E",  "", NULL };

/* Split s into number and suffix; return the suffix start or NULL if the number is invalid. */
static const char *
scan_number(const char *s, bool allow_negative)
{
	const char *p = s;
	if (*p == '+' || *p == '-') {
		if (*p == '-' && !allow_negative)
			return NULL;
		p++;
	}
	size_t int_digits = 0, frac_digits = 0;
	while (*p >= '0' && *p <= '9') {
		p++;
		int_digits++;
	}
	if (*p == '.') {
		p++;
		while (*p >= '0' && *p <= '9') {
			p++;
			frac_digits++;
		}
	}
	if (int_digits + frac_digits == 0)
		return NULL;
	return p;
}

static bool
valid_exponent(const char *p)
{
	if (*p != 'e' && *p != 'E')
		return false;
	p++;
	if (*p == '+' || *p == '-')
		p++;
	if (!*p)
		return false;
	for (; *p; p++)
		if (*p < '0' || *p > '9')
			return false;
	return true;
}

bool
dr_quantity_valid(const char *s, bool allow_negative)
{
	if (!s || !*s)
		return false;
	const char *suf = scan_number(s, allow_negative);
	if (!suf)
		return false;
	for (size_t i = 0; suffixes[i]; i++)
		if (strcmp(suf, suffixes[i]) == 0)
			return true;
	return valid_exponent(suf);
}

int
dr_quantity_bytes(const char *s, uint64_t *out)
{
	if (!dr_quantity_valid(s, false))
		return -1;
	const char *suf = scan_number(s, false);
	/* Parse only the number part: strtod would swallow an exponent suffix. */
	_cleanup_free_ char *num = dr_xstrndup(s, (size_t)(suf - s));
	char *end = NULL;
	double v = strtod(num, &end);
	if (*end)
		return -1;
	double mult = 1;
	static const struct {
		const char *s;
		double m;
	} table[] = {
		{ "Ki", 1024.0 },
		{ "Mi", 1048576.0 },
		{ "Gi", 1073741824.0 },
		{ "Ti", 1099511627776.0 },
		{ "Pi", 1125899906842624.0 },
		{ "Ei", 1152921504606846976.0 },
		{ "n", 1e-9 },
		{ "u", 1e-6 },
		{ "m", 1e-3 },
		{ "k", 1e3 },
		{ "M", 1e6 },
		{ "G", 1e9 },
		{ "T", 1e12 },
		{ "P", 1e15 },
		{ "E", 1e18 },
		{ "", 1 },
	};
	bool found = false;
	for (size_t i = 0; i < DR_ARRAY_LEN(table); i++)
		if (strcmp(suf, table[i].s) == 0) {
			mult = table[i].m;
			found = true;
			break;
		}
	if (!found)
		mult = pow(10.0, strtod(suf + 1, NULL));
	double r = ceil(v * mult);
	if (!(r >= 0) || r >= 18446744073709551615.0)
		return -1;
	*out = (uint64_t)r;
	return 0;
}
