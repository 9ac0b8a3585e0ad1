/* dockerfile.c: the image references of a Dockerfile, statically (see dockerfile.h). Written
 * from BuildKit's documented Dockerfile syntax (parser directives, line continuations, shell
 * word expansion of FROM, stage names, COPY --from, RUN --mount from=, ONBUILD, heredocs). */
#include "lib/common.h"
#include "guard/dockerfile.h"
#include "lib/buf.h"

#include <ctype.h>

#define MAX_DEPTH 8

typedef struct vlist { /* candidate values; NULL is "unset" */
	char **v;
	size_t n;
} vlist;

typedef struct scan {
	char *const *args;
	bool ovf;
	gd_df_ref_fn fn;
	void *u;
	char *buf;
	size_t blen;
	char esc;
	bool heredocs;
	/* global ARGs: name, raw default (NULL: none) */
	char **gname, **gdef;
	size_t ng;
	char **stages; /* lowercased stage names, in order */
	size_t nst;
	bool seen_from;
	unsigned line;
	const char *why;
} scan;

static void
vl_add(vlist *l, const char *s, size_t n)
{
	l->v = dr_xrealloc(l->v, (l->n + 1) * sizeof(char *));
	l->v[l->n++] = s ? dr_xstrndup(s, n) : NULL;
}

static void
vl_free(vlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

#define FAIL(s, ...) (snprintf((s)->buf, (s)->blen, __VA_ARGS__), (s)->why = (s)->buf, -1)

/* results := results x pieces (each result followed by each piece). NULL pieces count as "". */
static int
cross(scan *s, vlist *res, const vlist *pieces)
{
	if (res->n * pieces->n > GD_DF_MAX_EXPANSIONS)
		return FAIL(s, "Dockerfile line %u: an image reference takes more than %u values (build "
		               "args): it cannot be checked", s->line, GD_DF_MAX_EXPANSIONS);
	vlist out = { 0 };
	for (size_t i = 0; i < res->n; i++)
		for (size_t j = 0; j < pieces->n; j++) {
			const char *p = pieces->v[j] ? pieces->v[j] : "";
			_cleanup_free_ char *c = dr_xasprintf("%s%s", res->v[i], p);
			vl_add(&out, c, strlen(c));
		}
	vl_free(res);
	*res = out;
	return 0;
}

static int
append_lit(scan *s, vlist *res, const char *p, size_t n)
{
	vlist one = { 0 };
	vl_add(&one, p, n);
	int r = cross(s, res, &one);
	vl_free(&one);
	return r;
}

static int expand(scan *s, const char *w, size_t wl, bool vars, int depth, vlist *out);

static bool
is_builtin(const char *name)
{
	static const char *const b[] = { "TARGETPLATFORM", "TARGETOS", "TARGETARCH", "TARGETVARIANT",
		                         "BUILDPLATFORM", "BUILDOS", "BUILDARCH", "BUILDVARIANT" };
	for (size_t i = 0; i < DR_ARRAY_LEN(b); i++)
		if (strcmp(name, b[i]) == 0)
			return true;
	return false;
}

/* The values a global ARG may have in a FROM: each build-arg value seen for it, and its
 * default (or unset). An undeclared name is unset (BuildKit expands FROM with the global ARGs
 * only). */
static int
candidates(scan *s, const char *name, int depth, vlist *out)
{
	ssize_t gi = -1;
	for (size_t i = 0; i < s->ng; i++)
		if (strcmp(s->gname[i], name) == 0)
			gi = (ssize_t)i; /* a later ARG of the same name wins */
	if (gi < 0) {
		if (is_builtin(name))
			return FAIL(s, "Dockerfile line %u: $%s in an image reference cannot be resolved "
			               "statically", s->line, name);
		vl_add(out, NULL, 0);
		return 0;
	}
	size_t nl = strlen(name);
	for (size_t i = 0; s->args && s->args[i]; i++)
		if (strncmp(s->args[i], name, nl) == 0 && s->args[i][nl] == '=')
			vl_add(out, s->args[i] + nl + 1, strlen(s->args[i] + nl + 1));
	if (s->ovf)
		return FAIL(s, "Dockerfile line %u: too many build-arg values to check $%s", s->line,
		            name);
	const char *def = s->gdef[gi];
	if (!def) {
		vl_add(out, NULL, 0);
		return 0;
	}
	vlist d = { 0 };
	if (expand(s, def, strlen(def), true, depth + 1, &d) < 0)
		return vl_free(&d), -1;
	for (size_t j = 0; j < d.n; j++)
		vl_add(out, d.v[j], strlen(d.v[j]));
	vl_free(&d);
	return 0;
}

static bool
name_char(char c, bool first)
{
	return c == '_' || isalpha((unsigned char)c) || (!first && isdigit((unsigned char)c));
}

/* One $VAR or ${...} at w[*i] (w[*i] == '$'): the values it may take into out. */
static int
expand_var(scan *s, const char *w, size_t wl, size_t *i, int depth, vlist *out)
{
	size_t p = *i + 1;
	if (p < wl && w[p] == '{') {
		size_t q = p + 1, ns = q;
		while (q < wl && name_char(w[q], q == ns))
			q++;
		if (q == ns || q >= wl)
			return FAIL(s, "Dockerfile line %u: malformed ${...} in an image reference", s->line);
		_cleanup_free_ char *name = dr_xstrndup(w + ns, q - ns);
		/* the operator and its word, up to the matching brace */
		size_t os = q, depthb = 1, e = q;
		for (; e < wl; e++) {
			if (w[e] == '{')
				depthb++;
			else if (w[e] == '}' && --depthb == 0)
				break;
		}
		if (e >= wl)
			return FAIL(s, "Dockerfile line %u: unterminated ${ in an image reference", s->line);
		vlist vals = { 0 };
		if (candidates(s, name, depth, &vals) < 0)
			return vl_free(&vals), -1;
		int op = 0; /* 0 plain, 1 ":-", 2 "-", 3 ":+", 4 "+" */
		size_t ws = os;
		if (os == e)
			op = 0;
		else if (w[os] == ':' && os + 1 < e && w[os + 1] == '-')
			op = 1, ws = os + 2;
		else if (w[os] == '-')
			op = 2, ws = os + 1;
		else if (w[os] == ':' && os + 1 < e && w[os + 1] == '+')
			op = 3, ws = os + 2;
		else if (w[os] == '+')
			op = 4, ws = os + 1;
		else {
			vl_free(&vals);
			return FAIL(s, "Dockerfile line %u: ${%s%c...} in an image reference cannot be "
			               "resolved statically", s->line, name, w[os]);
		}
		vlist word = { 0 };
		if (op && expand(s, w + ws, e - ws, true, depth + 1, &word) < 0) {
			vl_free(&vals);
			vl_free(&word);
			return -1;
		}
		for (size_t k = 0; k < vals.n; k++) {
			const char *v = vals.v[k];
			bool set = v != NULL, nonempty = v && *v, useword;
			switch (op) {
			case 0: useword = false; break;
			case 1: useword = !nonempty; break;
			case 2: useword = !set; break;
			case 3: useword = nonempty; break;
			default: useword = set; break;
			}
			if (useword)
				for (size_t j = 0; j < word.n; j++)
					vl_add(out, word.v[j], strlen(word.v[j]));
			else if (op >= 3)
				vl_add(out, "", 0);
			else
				vl_add(out, v ? v : "", v ? strlen(v) : 0);
		}
		vl_free(&vals);
		vl_free(&word);
		*i = e + 1;
		return 0;
	}
	if (p < wl && name_char(w[p], true)) {
		size_t q = p;
		while (q < wl && name_char(w[q], q == p))
			q++;
		_cleanup_free_ char *name = dr_xstrndup(w + p, q - p);
		vlist vals = { 0 };
		if (candidates(s, name, depth, &vals) < 0)
			return vl_free(&vals), -1;
		for (size_t k = 0; k < vals.n; k++)
			vl_add(out, vals.v[k] ? vals.v[k] : "", vals.v[k] ? strlen(vals.v[k]) : 0);
		vl_free(&vals);
		*i = q;
		return 0;
	}
	vl_add(out, "$", 1); /* a lone $ stays */
	*i = p;
	return 0;
}

/* Shell-word expansion as BuildKit's lexer does it for FROM: quotes removed (single quotes
 * literal), the escape character makes the next character literal, variables expanded
 * (vars false: any variable is unresolvable). Every value the word may take into out. */
static int
expand(scan *s, const char *w, size_t wl, bool vars, int depth, vlist *out)
{
	if (depth > MAX_DEPTH)
		return FAIL(s, "Dockerfile line %u: build args nest too deep to check", s->line);
	vlist res = { 0 };
	vl_add(&res, "", 0);
	bool dq = false;
	for (size_t i = 0; i < wl;) {
		char ch = w[i];
		int r = 0;
		if (ch == s->esc && i + 1 < wl) {
			r = append_lit(s, &res, w + i + 1, 1);
			i += 2;
		} else if (ch == '\'' && !dq) {
			const char *e = memchr(w + i + 1, '\'', wl - i - 1);
			size_t n = e ? (size_t)(e - (w + i + 1)) : wl - i - 1;
			r = append_lit(s, &res, w + i + 1, n);
			i += n + 2;
		} else if (ch == '"') {
			dq = !dq;
			i++;
		} else if (ch == '$') {
			if (!vars) {
				vl_free(&res);
				return FAIL(s, "Dockerfile line %u: a variable in --from cannot be resolved "
				               "statically: name the stage or image", s->line);
			}
			vlist piece = { 0 };
			r = expand_var(s, w, wl, &i, depth, &piece);
			if (r == 0)
				r = cross(s, &res, &piece);
			vl_free(&piece);
		} else {
			size_t n = 1;
			while (i + n < wl && w[i + n] != s->esc && w[i + n] != '\'' && w[i + n] != '"' &&
			       w[i + n] != '$')
				n++;
			r = append_lit(s, &res, w + i, n);
			i += n;
		}
		if (r < 0) {
			vl_free(&res);
			return -1;
		}
	}
	for (size_t i = 0; i < res.n; i++)
		vl_add(out, res.v[i], strlen(res.v[i]));
	vl_free(&res);
	return 0;
}

/* The next whitespace-separated word of a line (quotes and escapes keep spaces inside). */
static bool
next_word(const scan *s, const char **p, const char *end, const char **ws, size_t *wl)
{
	const char *q = *p;
	while (q < end && isspace((unsigned char)*q))
		q++;
	if (q >= end)
		return false;
	const char *st = q;
	char quote = 0;
	for (; q < end; q++) {
		if (quote) {
			if (*q == quote)
				quote = 0;
			else if (*q == s->esc && quote == '"' && q + 1 < end)
				q++;
		} else if (*q == '"' || *q == '\'') {
			quote = *q;
		} else if (*q == s->esc && q + 1 < end) {
			q++;
		} else if (isspace((unsigned char)*q)) {
			break;
		}
	}
	*ws = st;
	*wl = (size_t)(q - st);
	*p = q;
	return true;
}

static bool
is_stage(const scan *s, const char *name)
{
	for (size_t i = 0; i < s->nst; i++)
		if (strcasecmp(s->stages[i], name) == 0)
			return true;
	return false;
}

static bool
all_digits(const char *v)
{
	if (!*v)
		return false;
	for (; *v; v++)
		if (!isdigit((unsigned char)*v))
			return false;
	return true;
}

static int
report(scan *s, const char *ref, const char *what)
{
	if (s->fn(s->u, ref, what, s->line, s->buf, s->blen) != 0) {
		s->why = s->buf;
		return -1;
	}
	return 0;
}

/* A --from value (COPY/ADD --from=, RUN --mount ...,from=): a stage (by name or index) or an
 * image; no variables. */
static int
from_ref(scan *s, const char *v, size_t vl, const char *what)
{
	vlist x = { 0 };
	if (expand(s, v, vl, false, 0, &x) < 0)
		return vl_free(&x), -1;
	int r = 0;
	for (size_t i = 0; i < x.n && r == 0; i++)
		if (*x.v[i] && !all_digits(x.v[i]) && !is_stage(s, x.v[i]))
			r = report(s, x.v[i], what);
	vl_free(&x);
	return r;
}

/* RUN --mount=K=V,K=V...: the from= of a mount (CSV; a field may be quoted). */
static int
mount_from(scan *s, const char *v, size_t vl, const char *what)
{
	vlist x = { 0 };
	if (expand(s, v, vl, false, 0, &x) < 0) /* the flag's own quotes */
		return vl_free(&x), -1;
	int r = 0;
	for (size_t i = 0; i < x.n && r == 0; i++) {
		const char *p = x.v[i];
		while (*p && r == 0) {
			const char *e = p;
			char quote = 0;
			while (*e && (quote || *e != ',')) {
				if (*e == '"')
					quote = quote ? 0 : '"';
				e++;
			}
			const char *eq = memchr(p, '=', (size_t)(e - p));
			if (eq && (size_t)(eq - p) == 4 && strncasecmp(p, "from", 4) == 0)
				r = from_ref(s, eq + 1, (size_t)(e - eq - 1), what);
			p = *e ? e + 1 : e;
		}
	}
	vl_free(&x);
	return r;
}

static int instruction(scan *s, const char *l, const char *end, bool onbuild);

static int
do_from(scan *s, const char *p, const char *end)
{
	const char *w;
	size_t wl;
	do {
		if (!next_word(s, &p, end, &w, &wl))
			return 0; /* FROM without an image: the frontend refuses it */
	} while (wl > 2 && w[0] == '-' && w[1] == '-'); /* --platform=... */
	vlist x = { 0 };
	if (expand(s, w, wl, true, 0, &x) < 0)
		return vl_free(&x), -1;
	int r = 0;
	for (size_t i = 0; i < x.n && r == 0; i++)
		if (strcmp(x.v[i], "scratch") != 0 && !is_stage(s, x.v[i]))
			r = report(s, x.v[i], "FROM");
	vl_free(&x);
	if (r)
		return r;
	const char *as, *nm;
	size_t asl, nml;
	if (next_word(s, &p, end, &as, &asl) && asl == 2 && strncasecmp(as, "as", 2) == 0 &&
	    next_word(s, &p, end, &nm, &nml)) {
		s->stages = dr_xrealloc(s->stages, (s->nst + 1) * sizeof(char *));
		char *n = dr_xstrndup(nm, nml);
		for (char *c = n; *c; c++)
			*c = (char)tolower((unsigned char)*c);
		s->stages[s->nst++] = n;
	}
	s->seen_from = true;
	return 0;
}

static void
do_arg(scan *s, const char *p, const char *end)
{
	if (s->seen_from)
		return; /* a stage's ARG is not seen by FROM; --from takes no variables */
	const char *w;
	size_t wl;
	while (next_word(s, &p, end, &w, &wl)) {
		const char *eq = memchr(w, '=', wl);
		size_t nl = eq ? (size_t)(eq - w) : wl;
		s->gname = dr_xrealloc(s->gname, (s->ng + 1) * sizeof(char *));
		s->gdef = dr_xrealloc(s->gdef, (s->ng + 1) * sizeof(char *));
		s->gname[s->ng] = dr_xstrndup(w, nl);
		s->gdef[s->ng] = eq ? dr_xstrndup(eq + 1, wl - nl - 1) : NULL;
		s->ng++;
	}
}

static int
instruction(scan *s, const char *l, const char *end, bool onbuild)
{
	const char *p = l, *kw;
	size_t kl;
	if (!next_word(s, &p, end, &kw, &kl))
		return 0;
	_cleanup_free_ char *k = dr_xstrndup(kw, kl);
	for (char *c = k; *c; c++)
		*c = (char)toupper((unsigned char)*c);
	if (strcmp(k, "FROM") == 0)
		return onbuild ? 0 : do_from(s, p, end);
	if (strcmp(k, "ARG") == 0) {
		if (!onbuild)
			do_arg(s, p, end);
		return 0;
	}
	if (strcmp(k, "ONBUILD") == 0)
		return onbuild ? 0 : instruction(s, p, end, true);
	bool copy = strcmp(k, "COPY") == 0 || strcmp(k, "ADD") == 0, run = strcmp(k, "RUN") == 0;
	if (!copy && !run)
		return 0;
	const char *w;
	size_t wl;
	while (next_word(s, &p, end, &w, &wl) && wl > 2 && w[0] == '-' && w[1] == '-') {
		if (copy && wl > 7 && strncasecmp(w, "--from=", 7) == 0) {
			if (from_ref(s, w + 7, wl - 7, onbuild ? "ONBUILD COPY --from" : "COPY --from") < 0)
				return -1;
		} else if (run && wl > 8 && strncasecmp(w, "--mount=", 8) == 0) {
			if (mount_from(s, w + 8, wl - 8,
			               onbuild ? "ONBUILD RUN --mount from=" : "RUN --mount from=") < 0)
				return -1;
		}
	}
	return 0;
}

/* The heredoc words of a RUN/COPY/ADD line, in order: <<WORD, <<-WORD, <<"WORD", <<'WORD'. */
static size_t
heredocs(const char *l, const char *end, char words[][64], bool *strip, size_t max)
{
	size_t n = 0;
	for (const char *p = l; p + 2 < end && n < max; p++) {
		if (p[0] != '<' || p[1] != '<' || p[2] == '<')
			continue;
		const char *q = p + 2;
		bool dash = q < end && *q == '-';
		if (dash)
			q++;
		char quote = q < end && (*q == '"' || *q == '\'') ? *q : 0;
		if (quote)
			q++;
		const char *ws = q;
		while (q < end && name_char(*q, false) && (size_t)(q - ws) < 63)
			q++;
		if (q == ws || (quote && (q >= end || *q != quote)))
			continue;
		memcpy(words[n], ws, (size_t)(q - ws));
		words[n][q - ws] = 0;
		strip[n++] = dash;
		p = q;
	}
	return n;
}

static bool
blank_or_comment(const char *l, const char *end)
{
	while (l < end && isspace((unsigned char)*l))
		l++;
	return l == end || *l == '#';
}

/* One reading of the whole file (heredocs skipped or not). */
static int
scan_lines(scan *s, const char *data, size_t len)
{
	const char *p = data, *end = data + len;
	unsigned ln = 0;
	dr_buf logical = DR_BUF_INIT(0);
	unsigned start = 0;
	int r = 0;
	while (p < end && r == 0) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end, *next = nl ? nl + 1 : end;
		ln++;
		if (le > p && le[-1] == '\r')
			le--;
		if (!logical.len && blank_or_comment(p, le)) {
			p = next;
			continue;
		}
		if (logical.len && blank_or_comment(p, le)) { /* dropped inside a continuation */
			p = next;
			continue;
		}
		if (!logical.len)
			start = ln;
		const char *te = le;
		while (te > p && isspace((unsigned char)te[-1]))
			te--;
		bool cont = te > p && te[-1] == s->esc;
		dr_buf_append(&logical, p, (size_t)((cont ? te - 1 : le) - p));
		if (cont) {
			dr_buf_append(&logical, " ", 1);
			p = next;
			continue;
		}
		p = next;
		s->line = start;
		const char *ls = logical.data, *lend = logical.data + logical.len;
		r = instruction(s, ls, lend, false);
		if (r == 0 && s->heredocs) {
			const char *q = ls, *kw;
			size_t kl;
			if (next_word(s, &q, lend, &kw, &kl) &&
			    ((kl == 3 && (strncasecmp(kw, "RUN", 3) == 0 || strncasecmp(kw, "ADD", 3) == 0)) ||
			     (kl == 4 && strncasecmp(kw, "COPY", 4) == 0))) {
				char words[8][64];
				bool strip[8];
				size_t nh = heredocs(q, lend, words, strip, 8);
				for (size_t h = 0; h < nh && p < end; h++) {
					while (p < end) { /* the body, up to its terminator line */
						const char *n2 = memchr(p, '\n', (size_t)(end - p));
						const char *e2 = n2 ? n2 : end, *b = p;
						ln++;
						if (e2 > b && e2[-1] == '\r')
							e2--;
						if (strip[h])
							while (b < e2 && *b == '\t')
								b++;
						p = n2 ? n2 + 1 : end;
						if ((size_t)(e2 - b) == strlen(words[h]) &&
						    memcmp(b, words[h], (size_t)(e2 - b)) == 0)
							break;
					}
				}
			}
		}
		logical.len = 0;
	}
	if (r == 0 && logical.len) {
		s->line = start;
		r = instruction(s, logical.data, logical.data + logical.len, false);
	}
	dr_buf_reset(&logical);
	return r;
}

/* Every "# syntax=VALUE" line, wherever it is (a frontend that finds one runs that image;
 * where BuildKit stops looking for parser directives has changed between versions, and a
 * shebang line may come first): each is checked. */
static int
syntax_lines(scan *s, const char *data, size_t len)
{
	const char *p = data, *end = data + len;
	unsigned ln = 0;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end, *q = p;
		p = nl ? nl + 1 : end;
		ln++;
		while (q < le && isspace((unsigned char)*q))
			q++;
		if (q == le || *q != '#')
			continue;
		q++;
		while (q < le && isspace((unsigned char)*q))
			q++;
		if (le - q < 6 || strncasecmp(q, "syntax", 6) != 0)
			continue;
		q += 6;
		while (q < le && isspace((unsigned char)*q))
			q++;
		if (q == le || *q != '=')
			continue;
		q++;
		while (q < le && isspace((unsigned char)*q))
			q++;
		const char *ve = le;
		while (ve > q && isspace((unsigned char)ve[-1]))
			ve--;
		_cleanup_free_ char *v = dr_xstrndup(q, (size_t)(ve - q));
		s->line = ln;
		if (report(s, v, "# syntax") < 0)
			return -1;
	}
	return 0;
}

static void
scan_reset(scan *s)
{
	for (size_t i = 0; i < s->ng; i++) {
		free(s->gname[i]);
		free(s->gdef[i]);
	}
	free(s->gname);
	free(s->gdef);
	for (size_t i = 0; i < s->nst; i++)
		free(s->stages[i]);
	free(s->stages);
	s->gname = s->gdef = s->stages = NULL;
	s->ng = s->nst = 0;
	s->seen_from = false;
}

const char *
gd_df_scan(const char *data, size_t len, char *const *args, bool args_overflow, gd_df_ref_fn fn,
           void *u, char *buf, size_t blen)
{
	if (len > GD_DF_MAX) {
		snprintf(buf, blen, "the Dockerfile is larger than %u KiB: the guard cannot check it",
		         GD_DF_MAX / 1024);
		return buf;
	}
	if (memchr(data, 0, len)) {
		snprintf(buf, blen, "the Dockerfile holds a NUL byte");
		return buf;
	}
	scan s = { .args = args, .ovf = args_overflow, .fn = fn, .u = u, .buf = buf, .blen = blen };
	if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0) { /* BuildKit drops a UTF-8 BOM */
		data += 3;
		len -= 3;
	}
	if (syntax_lines(&s, data, len) < 0)
		return s.why;
	/* Four readings, every image any of them finds checked: Docker 20.10's built-in
	 * frontend has no heredocs (every line an instruction), the Dockerfile 1.4+ frontends
	 * skip their bodies; and the escape character is \ or, with an `# escape` directive
	 * that a frontend honours (where it looks for directives has changed between versions),
	 * `: which one decides where a continuation ends, so both are read. */
	static const char escapes[] = { '\\', '`' };
	for (int pass = 0; pass < 4 && !s.why; pass++) {
		s.heredocs = pass & 1;
		s.esc = escapes[pass >> 1];
		scan_lines(&s, data, len);
		scan_reset(&s);
	}
	return s.why;
}
