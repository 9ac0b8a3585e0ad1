/* pem.c: base64 and the PEM private-key check (see pem.h). */
#include "lib/common.h"
#include "lib/pem.h"

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *
dr_base64_encode(const void *p, size_t n)
{
	const uint8_t *in = p;
	char *out = dr_xmalloc(4 * ((n + 2) / 3) + 1);
	size_t o = 0;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)in[i + 1] << 8;
		if (i + 2 < n)
			v |= in[i + 2];
		out[o++] = b64[(v >> 18) & 63];
		out[o++] = b64[(v >> 12) & 63];
		out[o++] = i + 1 < n ? b64[(v >> 6) & 63] : '=';
		out[o++] = i + 2 < n ? b64[v & 63] : '=';
	}
	out[o] = '\0';
	return out;
}

static int
b64_value(char c)
{
	const char *p = c ? strchr(b64, c) : NULL;
	return p ? (int)(p - b64) : -1;
}

int
dr_base64_decode(const char *s, size_t len, uint8_t **out, size_t *out_len)
{
	_cleanup_free_ uint8_t *buf = dr_xmalloc(len / 4 * 3 + 3);
	size_t o = 0, pad = 0;
	uint32_t acc = 0;
	int nbits = 0, nchars = 0;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (c == ' ' || c == '\n' || c == '\r' || c == '\t')
			continue;
		if (c == '=') {
			pad++;
			nchars++;
			continue;
		}
		if (pad)
			return -1; /* data after padding */
		int v = b64_value(c);
		if (v < 0)
			return -1;
		acc = (acc << 6) | (uint32_t)v;
		nbits += 6;
		nchars++;
		if (nbits >= 8) {
			nbits -= 8;
			buf[o++] = (uint8_t)(acc >> nbits);
			acc &= (1u << nbits) - 1;
		}
	}
	if (nchars % 4 != 0 || pad > 2)
		return -1;
	*out = TAKE_PTR(buf);
	*out_len = o;
	return 0;
}

/* Read a DER tag + length at p; return the content offset or -1. */
static long
der_header(const uint8_t *p, size_t n, uint8_t *tag, size_t *len)
{
	if (n < 2)
		return -1;
	*tag = p[0];
	if (p[1] < 0x80) {
		*len = p[1];
		return 2;
	}
	size_t nb = p[1] & 0x7f;
	if (nb == 0 || nb > 4 || n < 2 + nb)
		return -1;
	size_t l = 0;
	for (size_t i = 0; i < nb; i++)
		l = (l << 8) | p[2 + i];
	*len = l;
	return (long)(2 + nb);
}

int
dr_pem_private_key_check(const char *pem, const char **why)
{
	static const char *const types[] = { "RSA PRIVATE KEY", "PRIVATE KEY", NULL };
	const char *begin = strstr(pem, "-----BEGIN ");
	if (!begin) {
		*why = "no \"-----BEGIN RSA PRIVATE KEY-----\" line";
		return -1;
	}
	const char *type = begin + strlen("-----BEGIN ");
	const char *type_end = strstr(type, "-----");
	if (!type_end) {
		*why = "the BEGIN line is malformed";
		return -1;
	}
	size_t tlen = (size_t)(type_end - type);
	bool known = false;
	for (size_t i = 0; types[i]; i++)
		if (tlen == strlen(types[i]) && memcmp(type, types[i], tlen) == 0)
			known = true;
	if (!known) {
		*why = "not a private key (expected RSA PRIVATE KEY or PRIVATE KEY)";
		return -1;
	}
	const char *body = type_end + 5;
	_cleanup_free_ char *end_line = dr_xasprintf("-----END %.*s-----", (int)tlen, type);
	const char *end = strstr(body, end_line);
	if (!end) {
		*why = "no matching END line";
		return -1;
	}
	_cleanup_free_ uint8_t *der = NULL;
	size_t der_len = 0;
	if (dr_base64_decode(body, (size_t)(end - body), &der, &der_len) < 0) {
		*why = "the key body is not valid base64";
		return -1;
	}
	uint8_t tag;
	size_t len;
	long off = der_header(der, der_len, &tag, &len);
	if (off < 0 || tag != 0x30 || (size_t)off + len != der_len) {
		*why = "the key body is not a DER SEQUENCE";
		return -1;
	}
	size_t ilen;
	long ioff = der_header(der + off, der_len - (size_t)off, &tag, &ilen);
	if (ioff < 0 || tag != 0x02 || ilen != 1 || der[off + ioff] != 0) {
		*why = "the key's DER structure has no version 0";
		return -1;
	}
	return 0;
}
