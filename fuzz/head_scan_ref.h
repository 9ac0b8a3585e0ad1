/* head_scan_ref.h: the guard's first head scanner, one byte at a time, kept as the oracle
 * for the table-driven one in src/guard/http.c: fuzz_http_request.c and the unit tests check
 * that both give the same length or the same error for every input. */
#ifndef DESKRUN_FUZZ_HEAD_SCAN_REF_H
#define DESKRUN_FUZZ_HEAD_SCAN_REF_H

#include <ctype.h>
#include <stdbool.h>
#include <string.h>
#include <sys/types.h>

#include "guard/http.h"

static bool
ref_is_tchar(unsigned char c)
{
	return isalnum(c) || (c && strchr("!#$%&'*+-.^_`|~", c));
}

static ssize_t
ref_head_scan(const char *data, size_t len, const char **why)
{
	size_t line_start = 0;
	bool first = true;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)data[i];
		if (i >= GD_HEAD_MAX) {
			*why = "request head too large";
			return -1;
		}
		if (c == '\n') {
			if (i == 0 || data[i - 1] != '\r') {
				*why = "bare LF in the message head";
				return -1;
			}
			size_t ll = i - 1 - line_start; /* line length without CRLF */
			if (ll == 0) {
				if (first) {
					*why = "empty line before the message";
					return -1;
				}
				return (ssize_t)(i + 1);
			}
			if (!first) {
				const char *l = data + line_start;
				if (l[0] == ' ' || l[0] == '\t') {
					*why = "obsolete line folding in a header";
					return -1;
				}
				size_t k = 0;
				while (k < ll && ref_is_tchar((unsigned char)l[k]))
					k++;
				if (k == 0 || k >= ll || l[k] != ':') {
					*why = "malformed header line";
					return -1;
				}
				for (size_t j = k + 1; j < ll; j++) {
					unsigned char v = (unsigned char)l[j];
					if ((v < 0x20 && v != '\t') || v == 0x7f) {
						*why = "control character in a header value";
						return -1;
					}
				}
			} else {
				for (size_t j = line_start; j < i - 1; j++) {
					unsigned char v = (unsigned char)data[j];
					if (v <= 0x20 && v != ' ') {
						*why = "control character in the start line";
						return -1;
					}
				}
			}
			first = false;
			line_start = i + 1;
		} else if (c == '\r') {
			if (i + 1 < len && data[i + 1] != '\n') {
				*why = "bare CR in the message head";
				return -1;
			}
		} else if (c == 0) {
			*why = "NUL in the message head";
			return -1;
		}
	}
	if (len >= GD_HEAD_MAX) {
		*why = "request head too large";
		return -1;
	}
	return 0;
}

#endif
