/* dockerfile.h: the image references a Dockerfile makes BuildKit read, found statically, for
 * the guard's check that a build never reads another tenant's local image (BuildKit's moby
 * worker resolves FROM, COPY --from and RUN --mount from= against the daemon's local image
 * store before it pulls). Pure: bytes in, callbacks out, no I/O.
 *
 * Read as BuildKit's Dockerfile frontend reads it: line continuations (the escape character
 * at the end of a line; comment and blank lines inside a continuation are dropped; read once
 * with \ and once with `, since which one an `# escape` directive selects depends on where a
 * frontend version looks for directives), every `# syntax=` line reported wherever it is, a
 * UTF-8 BOM dropped, instructions case-insensitive, stages named by
 * FROM ... AS NAME (case-insensitive), global ARGs (before the first FROM) expanded in FROM
 * with $VAR, ${VAR}, ${VAR:-word}, ${VAR-word}, ${VAR:+word}, ${VAR+word}, quotes and escapes.
 * A build-arg may replace an ARG's default: every value the tenant gave that name in any
 * build (gd_df_scan's args, "NAME=VALUE" entries) is a candidate, and so is the default, so
 * every image a FROM could name is checked. Heredocs (Dockerfile 1.4 and later) are read both
 * ways: skipped as the newer frontends do, and as lines, as Docker 20.10's built-in frontend
 * does, so neither reading hides an instruction.
 *
 * Fail-closed: what cannot be resolved statically is refused (a variable in COPY --from or
 * RUN --mount from=, other ${VAR...} forms, a platform built-in in a FROM image, more than
 * GD_DF_MAX_EXPANSIONS values for one reference, a file over GD_DF_MAX bytes, a NUL). */
#ifndef DESKRUN_GUARD_DOCKERFILE_H
#define DESKRUN_GUARD_DOCKERFILE_H

#include <stdbool.h>
#include <stddef.h>

#define GD_DF_MAX (256u * 1024)      /* a Dockerfile the guard reads (BuildKit's is 10 MiB...) */
#define GD_DF_MAX_EXPANSIONS 64u     /* values one image reference may take */

/* One reference: what is "FROM", "COPY --from", "RUN --mount from=", "ONBUILD ..." or
 * "# syntax"; line is the physical line (1-based) its instruction starts on. Return 0 to go
 * on, or nonzero after writing the reason into buf (one line). */
typedef int (*gd_df_ref_fn)(void *u, const char *ref, const char *what, unsigned line, char *buf,
                            size_t blen);

/* Scan data (len bytes). args: "NAME=VALUE" build-arg values seen (NULL-terminated, may be
 * NULL); args_overflow: the list was capped (a build-arg in a FROM is then unresolvable).
 * Returns NULL when every reference passed fn, else the reason (in buf). */
const char *gd_df_scan(const char *data, size_t len, char *const *args, bool args_overflow,
                       gd_df_ref_fn fn, void *u, char *buf, size_t blen);

#endif
