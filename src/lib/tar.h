/* tar.h: a minimal ustar writer, for images deskrun builds itself (the helper image is a
 * tar stream with one static binary, fed to `docker import` on stdin). Pure. */
#ifndef DESKRUN_TAR_H
#define DESKRUN_TAR_H

#include "lib/buf.h"

/* Append a directory entry ("tmp/") or a regular file; mode like 0755. */
int dr_tar_dir(dr_buf *out, const char *name, unsigned mode);
int dr_tar_file(dr_buf *out, const char *name, unsigned mode, const void *data, size_t len);
/* The two zero blocks that end an archive. */
int dr_tar_end(dr_buf *out);

#endif
