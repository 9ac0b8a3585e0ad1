/* tar.c: a minimal ustar writer (see tar.h). Owner root:root, mtime 0, so the same input gives
 * the same bytes. */
#include "lib/common.h"
#include "lib/tar.h"

static int
header(dr_buf *out, const char *name, unsigned mode, size_t size, char type)
{
	unsigned char h[512];
	memset(h, 0, sizeof(h));
	if (strlen(name) > 99)
		return -1;
	memcpy(h, name, strlen(name));
	snprintf((char *)h + 100, 8, "%07o", mode & 07777);
	snprintf((char *)h + 108, 8, "%07o", 0u);
	snprintf((char *)h + 116, 8, "%07o", 0u);
	snprintf((char *)h + 124, 12, "%011zo", size);
	snprintf((char *)h + 136, 12, "%011o", 0u);
	h[156] = (unsigned char)type;
	memcpy(h + 257, "ustar", 6);
	memcpy(h + 263, "00", 2);
	memcpy(h + 265, "root", 4);
	memcpy(h + 297, "root", 4);
	memset(h + 148, ' ', 8);
	unsigned sum = 0;
	for (size_t i = 0; i < sizeof(h); i++)
		sum += h[i];
	snprintf((char *)h + 148, 8, "%06o", sum);
	h[155] = ' ';
	return dr_buf_append(out, h, sizeof(h));
}

int
dr_tar_dir(dr_buf *out, const char *name, unsigned mode)
{
	return header(out, name, mode, 0, '5');
}

int
dr_tar_file(dr_buf *out, const char *name, unsigned mode, const void *data, size_t len)
{
	static const char zeros[512];
	if (header(out, name, mode, len, '0') < 0 || dr_buf_append(out, data, len) < 0)
		return -1;
	size_t pad = (512 - len % 512) % 512;
	return dr_buf_append(out, zeros, pad);
}

int
dr_tar_end(dr_buf *out)
{
	static const char zeros[1024];
	return dr_buf_append(out, zeros, sizeof(zeros));
}
