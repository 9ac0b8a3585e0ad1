/* sha256.h: SHA-256 (FIPS 180-4), for the AutoscalingRunnerSet's values-hash annotation and
 * change detection. */
#ifndef DESKRUN_SHA256_H
#define DESKRUN_SHA256_H

#include <stddef.h>
#include <stdint.h>

typedef struct dr_sha256 {
	uint32_t h[8];
	uint64_t len;
	uint8_t buf[64];
	size_t used;
} dr_sha256;

void dr_sha256_init(dr_sha256 *c);
void dr_sha256_update(dr_sha256 *c, const void *p, size_t n);
void dr_sha256_final(dr_sha256 *c, uint8_t out[32]);
/* Lowercase hex digest of n bytes into out (65 bytes with the NUL). */
void dr_sha256_hex(const void *p, size_t n, char out[65]);

#endif
