/* yaml.h: JSON <-> YAML on libyaml. The emitter is deterministic: mapping keys in jansson's
 * insertion order, block style, strings quoted whenever a YAML 1.1 or 1.2 reader could take
 * them for something else ("true", "0.14.2", "1Gi", "~"), multi-line strings as literal
 * blocks. The parser reads the YAML 1.2 core schema into jansson values. */
#ifndef DESKRUN_YAML_H
#define DESKRUN_YAML_H

#include "lib/buf.h"
#include "lib/common.h"

/* Append one document ("---\n" + body) for `doc` to out. */
int dr_yaml_emit_document(dr_buf *out, json_t *doc, dr_err **err);
/* The body alone, no "---" (for YAML embedded in a ConfigMap). Owned by the caller. */
char *dr_yaml_dump(json_t *doc);

/* Parse every document of a YAML stream into a JSON array (one item per document). Anchors
 * and aliases are refused; duplicate keys are refused. */
json_t *dr_yaml_parse(const char *text, size_t len, dr_err **err);

/* True if a plain scalar `s` would not read back as the string s. */
bool dr_yaml_needs_quotes(const char *s);

#endif
