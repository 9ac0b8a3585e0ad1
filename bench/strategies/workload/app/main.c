/* The benchmark's program: prints its build's version with checksums of it, so a run shows
 * that the image holds this job's build. */
#include <stdio.h>
#include <string.h>
#include "bench.h"
#include "version.h"

int main(void)
{
	uint8_t d[32];
	char b64[64];
	sha256(VERSION, strlen(VERSION), d);
	base64(d, 12, b64);
	printf("deskrun bench %s crc32=%08x sha256=%s\n", VERSION, crc32(VERSION, strlen(VERSION)), b64);
	return 0;
}
