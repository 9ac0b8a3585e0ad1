/* suggest.h: "did you mean ...?" for typos of commands, flags and modes. Pure. */
#ifndef DESKRUN_SUGGEST_H
#define DESKRUN_SUGGEST_H

#include "lib/common.h"

/* Edit distance between a and b: insert, delete, substitute and swap two adjacent characters
 * cost 1 each (optimal string alignment). */
size_t dr_edit_distance(const char *a, const char *b);
/* The closest of `candidates` (NULL-terminated) to `word` when it is close enough to be a
 * typo: distance at most max(1, len/3), or word a prefix of exactly one candidate (at least 2
 * characters). NULL otherwise. The result is borrowed from candidates. */
const char *dr_suggest(const char *word, const char *const *candidates);

#endif
