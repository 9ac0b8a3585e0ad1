/* fuzz_http_request.c: libFuzzer target for the guard's request framing: the head scanner
 * (checked against the byte-at-a-time reference in head_scan_ref.h),
 * http-parser framing of the head and body (fed in pieces, alternating seen and spliced
 * payload, as the relay does), target splitting, version stripping and routing. Built by
 * scripts/fuzz.sh. */
#include "lib/common.h"
#include "guard/guard.h"
#include "guard/http.h"

#include "head_scan_ref.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	const char *why = NULL;
	/* the table-driven scanner and the byte-at-a-time one agree on everything */
	const char *why_ref = NULL;
	ssize_t a = gd_head_scan(in, size, &why), b = ref_head_scan(in, size, &why_ref);
	if (a != b || (a < 0 && strcmp(why, why_ref) != 0))
		__builtin_trap();
	why = NULL;
	size_t off = 0;
	for (int msg = 0; msg < 4 && off < size; msg++) {
		ssize_t hl = gd_head_scan(in + off, size - off, &why);
		if (hl <= 0)
			return 0;
		gd_framer f;
		if (gd_framer_begin(&f, false, false, in + off, (size_t)hl, &why) < 0) {
			gd_framer_clear(&f);
			return 0;
		}
		gd_req r = { .method = f.head.method, .head = &f.head };
		if (gd_split_target(f.head.target, &r.path, &r.query, &why) == 0) {
			gd_policy pol = { .min_api_minor = 41, .max_body = 1 << 20 };
			gd_ctx c = { .tenant = "t", .policy = &pol };
			gd_decision d;
			memset(&d, 0, sizeof(d));
			if (gd_strip_version(&r, &c, &d) == 0) {
				gd_route rt;
				gd_route_match(r.method, r.path, &rt);
				gd_route_clear(&rt);
			}
			gd_decision_clear(&d);
			char *enc = gd_query_encode(&r.query);
			free(enc);
		}
		free(r.path);
		free(r.version);
		gd_query_clear(&r.query);
		off += (size_t)hl;
		dr_buf cap = DR_BUF_INIT(1 << 16);
		f.capture = msg & 1 ? &cap : NULL;
		int spins = 0;
		while (!f.complete && off < size && spins++ < 10000) {
			uint64_t pl = gd_framer_payload(&f);
			if (pl && !f.capture && pl != UINT64_MAX) {
				size_t k = pl < size - off ? (size_t)pl : size - off;
				if (gd_framer_skip(&f, k, &why) < 0)
					break;
				off += k;
				continue;
			}
			size_t piece = 1 + (size - off) / 2;
			ssize_t k = gd_framer_feed(&f, in + off, piece, &why);
			if (k < 0)
				break;
			if (k == 0 && !f.complete)
				break;
			off += (size_t)k;
		}
		bool done = f.complete && !f.head.upgrade;
		dr_buf_reset(&cap);
		gd_framer_clear(&f);
		if (!done)
			return 0;
	}
	return 0;
}
