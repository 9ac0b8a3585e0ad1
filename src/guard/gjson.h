/* gjson.h: request JSON decoded the way the daemon's Go encoding/json decodes it, then made
 * canonical. Keys are matched to the daemon's struct fields with Go's folding (ASCII case,
 * plus KELVIN SIGN for k and LONG S for s); two keys that fold to one field are an error (Go
 * would merge them); a key that matches no known field is denied; every value is type-checked
 * against the field's Go type; the result carries the exact field names, so what the guard
 * checked is what the daemon decodes. */
#ifndef DESKRUN_GUARD_GJSON_H
#define DESKRUN_GUARD_GJSON_H

#include "lib/common.h"

typedef enum gd_kind {
	GK_BOOL,
	GK_INT,
	GK_UINT,
	GK_STR,
	GK_STRV,         /* []string */
	GK_STRSLICE,     /* strslice.StrSlice: a string or []string */
	GK_MAP_STR,      /* map[string]string */
	GK_MAP_EMPTY,    /* map[string]struct{} */
	GK_OBJ,          /* a struct (sub) */
	GK_ARR_OBJ,      /* []struct (sub) */
	GK_MAP_OBJ,      /* map[string]struct (sub) */
	GK_MAP_ARR_OBJ,  /* map[string][]struct (sub) */
	GK_ARR_STRV,     /* [][]string */
	GK_UINT_PAIR,    /* [2]uint */
	GK_INT_MAP,      /* map[string]int (unused placeholder for forward compatibility) */
} gd_kind;

typedef struct gd_schema gd_schema;

typedef struct gd_field {
	const char *name;
	gd_kind kind;
	const gd_schema *sub;
} gd_field;

struct gd_schema {
	const char *name;
	const gd_field *fields; /* ends with { NULL } */
};

extern const gd_schema gd_schema_create;        /* POST /containers/create */
extern const gd_schema gd_schema_config;        /* container Config (commit body) */
extern const gd_schema gd_schema_exec;          /* POST /containers/{id}/exec */
extern const gd_schema gd_schema_exec_start;    /* POST /exec/{id}/start */
extern const gd_schema gd_schema_update;        /* POST /containers/{id}/update */
extern const gd_schema gd_schema_network_create;
extern const gd_schema gd_schema_network_connect;
extern const gd_schema gd_schema_network_disconnect;
extern const gd_schema gd_schema_volume_create;

/* Fold a key the way Go matches it to an ASCII field name: ASCII letters lowercased, U+212A
 * to 'k', U+017F to 's'; other bytes unchanged. Owned. */
char *gd_fold_key(const char *key);

/* Decode body (len bytes) and canonicalize it against schema. On success *out is a new object.
 * On failure returns -1 with *status (400 malformed or duplicate, 403 unknown field) and *why
 * (owned, names the field path). */
int gd_canon_decode(const char *body, size_t len, const gd_schema *schema, json_t **out,
                    int *status, char **why);

/* Parse a JSON text that must be an object, rejecting duplicate keys. NULL with *why. */
json_t *gd_json_object(const char *text, size_t len, char **why);

/* Compact serialization (owned); the _line variant ends with a newline. */
char *gd_json_dump(const json_t *j);
char *gd_json_dump_line(const json_t *j);

#endif
