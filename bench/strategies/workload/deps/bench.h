#ifndef BENCH_H
#define BENCH_H
#include <stddef.h>
#include <stdint.h>
void sha256(const void *data, size_t len, uint8_t out[32]);
uint32_t crc32(const void *data, size_t len);
size_t base64(const void *data, size_t len, char *out); /* out: 4 * ((len + 2) / 3) + 1 */
#endif
