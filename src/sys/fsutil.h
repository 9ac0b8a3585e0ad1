/* fsutil.h: files the careful way: capped reads, atomic writes (temp file + fsync + rename +
 * fsync of the directory), directories created with explicit modes. */
#ifndef DESKRUN_FSUTIL_H
#define DESKRUN_FSUTIL_H

#include <sys/types.h>

#include "lib/common.h"

/* Read at most max bytes; more is an error. On failure err->errnum is the errno (ENOENT for a
 * missing file). *out is NUL-terminated and owned by the caller. */
int dr_read_file(const char *path, size_t max, char **out, size_t *len, dr_err **err);
int dr_read_fd(int fd, const char *what, size_t max, char **out, size_t *len, dr_err **err);

/* mkdir -p; directories it creates get `mode`. */
int dr_mkdir_p(const char *path, mode_t mode, dr_err **err);

/* Replace path atomically with data, mode `mode`; the directory must exist. */
int dr_write_atomic(const char *path, const void *data, size_t len, mode_t mode, dr_err **err);

/* Directory part of a path ("." if none); owned by the caller. */
char *dr_dirname(const char *path);

/* Write all of n bytes, retrying on EINTR and short writes. */
int dr_write_all(int fd, const void *p, size_t n);

#endif
