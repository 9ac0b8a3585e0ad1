/* yaml.c: JSON <-> YAML on libyaml (see yaml.h). */
#include "lib/common.h"
#include "lib/yaml.h"

#include <strings.h>
#include <yaml.h>

#define MAX_DEPTH 64

static const char *const ambiguous_words[] = {
	"~",  "null", "y",   "yes", "n", "no", "true", "false", "on", "off",
	"<<", ".inf", ".nan", "-.inf", "+.inf", NULL,
};

bool
dr_yaml_needs_quotes(const char *s)
{
	if (!*s)
		return true;
	for (size_t i = 0; ambiguous_words[i]; i++)
		if (strcasecmp(s, ambiguous_words[i]) == 0)
			return true;
	char c = s[0];
	if (c >= '0' && c <= '9')
		return true;
	if ((c == '+' || c == '-' || c == '.') && ((s[1] >= '0' && s[1] <= '9') || s[1] == '.'))
		return true;
	if (c == '=')
		return true;
	return false;
}

/* ---- emitter ---- */

static int
write_handler(void *data, unsigned char *buffer, size_t size)
{
	return dr_buf_append(data, buffer, size) == 0;
}

static int
emit_scalar(yaml_emitter_t *e, const char *s, yaml_scalar_style_t style)
{
	yaml_event_t ev;
	/* Both implicit flags: whatever style libyaml settles on needs no explicit tag. The
	 * strings a reader could mistake are sent double-quoted by emit_string. */
	if (!yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)s, (int)strlen(s), 1, 1,
	                                  style))
		return -1;
	return yaml_emitter_emit(e, &ev) ? 0 : -1;
}

static int
emit_string(yaml_emitter_t *e, const char *s)
{
	yaml_scalar_style_t style = YAML_ANY_SCALAR_STYLE;
	if (strchr(s, '\n'))
		style = YAML_LITERAL_SCALAR_STYLE;
	else if (dr_yaml_needs_quotes(s))
		style = YAML_DOUBLE_QUOTED_SCALAR_STYLE;
	return emit_scalar(e, s, style);
}

static int
emit_value(yaml_emitter_t *e, json_t *v, int depth)
{
	yaml_event_t ev;
	char num[64];
	if (depth > MAX_DEPTH)
		return -1;
	switch (json_typeof(v)) {
	case JSON_OBJECT: {
		if (!yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE) ||
		    !yaml_emitter_emit(e, &ev))
			return -1;
		const char *key;
		json_t *val;
		json_object_foreach(v, key, val) {
			if (emit_string(e, key) < 0 || emit_value(e, val, depth + 1) < 0)
				return -1;
		}
		if (!yaml_mapping_end_event_initialize(&ev) || !yaml_emitter_emit(e, &ev))
			return -1;
		return 0;
	}
	case JSON_ARRAY: {
		if (!yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1,
		                                          YAML_BLOCK_SEQUENCE_STYLE) ||
		    !yaml_emitter_emit(e, &ev))
			return -1;
		size_t i;
		json_t *val;
		json_array_foreach(v, i, val) {
			if (emit_value(e, val, depth + 1) < 0)
				return -1;
		}
		if (!yaml_sequence_end_event_initialize(&ev) || !yaml_emitter_emit(e, &ev))
			return -1;
		return 0;
	}
	case JSON_STRING:
		return emit_string(e, json_string_value(v));
	case JSON_INTEGER:
		snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return emit_scalar(e, num, YAML_PLAIN_SCALAR_STYLE);
	case JSON_REAL:
		snprintf(num, sizeof(num), "%.17g", json_real_value(v));
		return emit_scalar(e, num, YAML_PLAIN_SCALAR_STYLE);
	case JSON_TRUE:
		return emit_scalar(e, "true", YAML_PLAIN_SCALAR_STYLE);
	case JSON_FALSE:
		return emit_scalar(e, "false", YAML_PLAIN_SCALAR_STYLE);
	case JSON_NULL:
		return emit_scalar(e, "null", YAML_PLAIN_SCALAR_STYLE);
	}
	return -1;
}

static int
emit_stream(dr_buf *out, json_t *doc, bool explicit_start)
{
	yaml_emitter_t e;
	yaml_event_t ev;
	int rc = -1;
	if (!yaml_emitter_initialize(&e))
		return -1;
	yaml_emitter_set_output(&e, write_handler, out);
	yaml_emitter_set_unicode(&e, 1);
	yaml_emitter_set_width(&e, -1);
	yaml_emitter_set_indent(&e, 2);
	if (!yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING) ||
	    !yaml_emitter_emit(&e, &ev))
		goto out;
	if (!yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, !explicit_start) ||
	    !yaml_emitter_emit(&e, &ev))
		goto out;
	if (emit_value(&e, doc, 0) < 0)
		goto out;
	if (!yaml_document_end_event_initialize(&ev, 1) || !yaml_emitter_emit(&e, &ev))
		goto out;
	if (!yaml_stream_end_event_initialize(&ev) || !yaml_emitter_emit(&e, &ev))
		goto out;
	rc = 0;
out:
	yaml_emitter_delete(&e);
	return rc;
}

int
dr_yaml_emit_document(dr_buf *out, json_t *doc, dr_err **err)
{
	if (emit_stream(out, doc, true) < 0)
		return dr_fail(err, DR_EXIT_FAIL, "cannot emit YAML");
	return 0;
}

char *
dr_yaml_dump(json_t *doc)
{
	_cleanup_buf_ dr_buf b = DR_BUF_INIT(0);
	if (emit_stream(&b, doc, false) < 0)
		DR_BUG("YAML emitter failed on a well-formed document");
	return dr_buf_steal(&b);
}

/* ---- parser ---- */

typedef struct parse_ctx {
	yaml_parser_t p;
	dr_err **err;
} parse_ctx;

static int
parse_fail(parse_ctx *c, const char *what, const yaml_mark_t *m)
{
	return dr_fail(c->err, DR_EXIT_USAGE, "YAML line %zu column %zu: %s", m->line + 1,
	               m->column + 1, what);
}

static bool
match_re_int(const char *s)
{
	const char *p = s;
	if (*p == '-' || *p == '+')
		p++;
	if (dr_startswith(p, "0x") || dr_startswith(p, "0o")) {
		bool hex = p[1] == 'x';
		p += 2;
		if (!*p)
			return false;
		for (; *p; p++) {
			bool ok = hex ? ((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f') ||
			                 (*p >= 'A' && *p <= 'F'))
			              : (*p >= '0' && *p <= '7');
			if (!ok)
				return false;
		}
		return true;
	}
	if (!*p)
		return false;
	for (; *p; p++)
		if (*p < '0' || *p > '9')
			return false;
	return true;
}

static bool
match_re_float(const char *s)
{
	const char *p = s;
	if (*p == '-' || *p == '+')
		p++;
	size_t digits = 0;
	while (*p >= '0' && *p <= '9') {
		p++;
		digits++;
	}
	if (*p == '.') {
		p++;
		while (*p >= '0' && *p <= '9') {
			p++;
			digits++;
		}
	}
	if (!digits)
		return false;
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '-' || *p == '+')
			p++;
		if (!(*p >= '0' && *p <= '9'))
			return false;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	return *p == '\0';
}

/* Resolve a plain scalar by the YAML 1.2 core schema. */
static json_t *
resolve_plain(const char *s)
{
	if (!*s || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 || strcmp(s, "Null") == 0 ||
	    strcmp(s, "NULL") == 0)
		return json_null();
	if (strcmp(s, "true") == 0 || strcmp(s, "True") == 0 || strcmp(s, "TRUE") == 0)
		return json_true();
	if (strcmp(s, "false") == 0 || strcmp(s, "False") == 0 || strcmp(s, "FALSE") == 0)
		return json_false();
	if (match_re_int(s)) {
		errno = 0;
		const char *p = s;
		int base = 10;
		bool neg = false;
		if (*p == '-' || *p == '+') {
			neg = *p == '-';
			p++;
		}
		if (dr_startswith(p, "0x")) {
			base = 16;
			p += 2;
		} else if (dr_startswith(p, "0o")) {
			base = 8;
			p += 2;
		}
		char *end = NULL;
		long long v = strtoll(p, &end, base);
		if (errno == 0 && end && *end == '\0')
			return json_integer(neg ? -v : v);
		return json_string(s);
	}
	if (match_re_float(s))
		return json_real(strtod(s, NULL));
	return json_string(s);
}

static int parse_node(parse_ctx *c, yaml_event_t *ev, json_t **out, int depth);

static int
next_event(parse_ctx *c, yaml_event_t *ev)
{
	if (!yaml_parser_parse(&c->p, ev))
		return parse_fail(c, c->p.problem ? c->p.problem : "syntax error", &c->p.problem_mark);
	return 0;
}

static int
parse_node(parse_ctx *c, yaml_event_t *ev, json_t **out, int depth)
{
	if (depth > MAX_DEPTH)
		return parse_fail(c, "nested too deeply", &ev->start_mark);
	switch (ev->type) {
	case YAML_ALIAS_EVENT:
		return parse_fail(c, "aliases are not supported", &ev->start_mark);
	case YAML_SCALAR_EVENT: {
		const char *v = (const char *)ev->data.scalar.value;
		const char *tag = (const char *)ev->data.scalar.tag;
		if (ev->data.scalar.length != strlen(v))
			return parse_fail(c, "NUL byte in a scalar", &ev->start_mark);
		if (tag && strcmp(tag, YAML_STR_TAG) == 0)
			*out = json_string(v);
		else if (ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && !tag)
			*out = resolve_plain(v);
		else
			*out = json_string(v);
		if (!*out)
			return parse_fail(c, "scalar is not valid UTF-8", &ev->start_mark);
		return 0;
	}
	case YAML_SEQUENCE_START_EVENT: {
		_cleanup_json_ json_t *a = json_array();
		for (;;) {
			yaml_event_t item;
			if (next_event(c, &item) < 0)
				return -1;
			if (item.type == YAML_SEQUENCE_END_EVENT) {
				yaml_event_delete(&item);
				break;
			}
			json_t *v = NULL;
			int r = parse_node(c, &item, &v, depth + 1);
			yaml_event_delete(&item);
			if (r < 0)
				return -1;
			json_array_append_new(a, v);
		}
		*out = TAKE_PTR(a);
		return 0;
	}
	case YAML_MAPPING_START_EVENT: {
		_cleanup_json_ json_t *o = json_object();
		for (;;) {
			yaml_event_t kev;
			if (next_event(c, &kev) < 0)
				return -1;
			if (kev.type == YAML_MAPPING_END_EVENT) {
				yaml_event_delete(&kev);
				break;
			}
			if (kev.type != YAML_SCALAR_EVENT) {
				int r = parse_fail(c, "only scalar mapping keys are supported",
				                   &kev.start_mark);
				yaml_event_delete(&kev);
				return r;
			}
			_cleanup_free_ char *key = dr_xstrdup((const char *)kev.data.scalar.value);
			yaml_mark_t mark = kev.start_mark;
			bool nul = kev.data.scalar.length != strlen(key);
			yaml_event_delete(&kev);
			if (nul)
				return parse_fail(c, "NUL byte in a key", &mark);
			if (json_object_get(o, key))
				return parse_fail(c, "duplicate mapping key", &mark);
			yaml_event_t vev;
			if (next_event(c, &vev) < 0)
				return -1;
			json_t *v = NULL;
			int r = parse_node(c, &vev, &v, depth + 1);
			yaml_event_delete(&vev);
			if (r < 0)
				return -1;
			if (json_object_set_new(o, key, v) < 0)
				return parse_fail(c, "mapping key is not valid UTF-8", &mark);
		}
		*out = TAKE_PTR(o);
		return 0;
	}
	case YAML_NO_EVENT:
	case YAML_STREAM_START_EVENT:
	case YAML_STREAM_END_EVENT:
	case YAML_DOCUMENT_START_EVENT:
	case YAML_DOCUMENT_END_EVENT:
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		break;
	}
	return parse_fail(c, "unexpected event", &ev->start_mark);
}

json_t *
dr_yaml_parse(const char *text, size_t len, dr_err **err)
{
	parse_ctx c = { .err = err };
	if (!yaml_parser_initialize(&c.p)) {
		dr_fail(err, DR_EXIT_FAIL, "cannot initialise the YAML parser");
		return NULL;
	}
	yaml_parser_set_input_string(&c.p, (const unsigned char *)text, len);
	_cleanup_json_ json_t *docs = json_array();
	int rc = -1;
	for (;;) {
		yaml_event_t ev;
		if (next_event(&c, &ev) < 0)
			goto out;
		yaml_event_type_t t = ev.type;
		if (t == YAML_STREAM_END_EVENT) {
			yaml_event_delete(&ev);
			break;
		}
		if (t == YAML_DOCUMENT_START_EVENT) {
			yaml_event_delete(&ev);
			yaml_event_t root;
			if (next_event(&c, &root) < 0)
				goto out;
			json_t *v = NULL;
			int r = parse_node(&c, &root, &v, 0);
			yaml_event_delete(&root);
			if (r < 0)
				goto out;
			json_array_append_new(docs, v);
			continue;
		}
		yaml_event_delete(&ev);
	}
	rc = 0;
out:
	yaml_parser_delete(&c.p);
	return rc == 0 ? TAKE_PTR(docs) : NULL;
}
