/* suggest.c: closest-match suggestions for typos (see suggest.h). */
#include "lib/common.h"
#include "lib/suggest.h"

size_t
dr_edit_distance(const char *a, const char *b)
{
	/* Optimal string alignment: Levenshtein plus adjacent transpositions ("prnue"). */
	size_t la = strlen(a), lb = strlen(b), w = lb + 1;
	_cleanup_free_ size_t *d = dr_xcalloc((la + 1) * w, sizeof(size_t));
	for (size_t i = 0; i <= la; i++)
		d[i * w] = i;
	for (size_t j = 0; j <= lb; j++)
		d[j] = j;
	for (size_t i = 1; i <= la; i++)
		for (size_t j = 1; j <= lb; j++) {
			size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
			size_t best = d[(i - 1) * w + j - 1] + cost;
			if (d[(i - 1) * w + j] + 1 < best)
				best = d[(i - 1) * w + j] + 1;
			if (d[i * w + j - 1] + 1 < best)
				best = d[i * w + j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
			    d[(i - 2) * w + j - 2] + 1 < best)
				best = d[(i - 2) * w + j - 2] + 1;
			d[i * w + j] = best;
		}
	return d[la * w + lb];
}

const char *
dr_suggest(const char *word, const char *const *candidates)
{
	if (!word || !*word)
		return NULL;
	size_t len = strlen(word);
	size_t limit = len / 3 > 1 ? len / 3 : 1;
	const char *best = NULL, *prefixed = NULL;
	size_t best_d = SIZE_MAX, n_prefixed = 0;
	for (size_t i = 0; candidates[i]; i++) {
		size_t d = dr_edit_distance(word, candidates[i]);
		if (d < best_d) {
			best_d = d;
			best = candidates[i];
		}
		if (len >= 2 && dr_startswith(candidates[i], word)) {
			prefixed = candidates[i];
			n_prefixed++;
		}
	}
	if (best && best_d > 0 && best_d <= limit)
		return best;
	if (n_prefixed == 1)
		return prefixed;
	return NULL;
}
