/* test_yaml.c: the YAML emitter (quoting, layout, determinism) and parser. */
#include "test.h"

#include "lib/yaml.h"

static void
quoting_rules(void **state)
{
	(void)state;
	static const char *const quote[] = { "",     "true", "False", "yes", "NO",  "on",  "Off",
		                             "y",    "n",    "null",  "~",   "0",   "123", "0.14.2",
		                             "1Gi",  "-1",   "+5",    ".5",  ".inf", "-.Inf", "<<",
		                             "=",    NULL };
	static const char *const plain[] = { "dind", "docker:dind", "/var/run", "a-b", "-r",
		                             "--host=unix:///x", "arc-runners", "$job", NULL };
	for (size_t i = 0; quote[i]; i++)
		if (!dr_yaml_needs_quotes(quote[i]))
			fail_msg("\"%s\" should be quoted", quote[i]);
	for (size_t i = 0; plain[i]; i++)
		if (dr_yaml_needs_quotes(plain[i]))
			fail_msg("\"%s\" should stay plain", plain[i]);
}

static void
emit_layout(void **state)
{
	(void)state;
	json_error_t je;
	_cleanup_json_ json_t *doc = json_loads(
		"{\"kind\":\"X\",\"num\":3,\"b\":true,\"z\":null,\"v\":\"0.14.2\",\"e\":{},\"a\":[],"
		"\"l\":[\"-r\",{\"k\":\"v\",\"m\":[1]}],\"t\":\"line1\\nline2\\n\"}",
		0, &je);
	assert_non_null(doc);
	_cleanup_free_ char *out = dr_yaml_dump(doc);
	assert_string_equal(out, "kind: X\n"
	                         "num: 3\n"
	                         "b: true\n"
	                         "z: null\n"
	                         "v: \"0.14.2\"\n"
	                         "e: {}\n"
	                         "a: []\n"
	                         "l:\n"
	                         "- -r\n"
	                         "- k: v\n"
	                         "  m:\n"
	                         "  - 1\n"
	                         "t: |\n"
	                         "  line1\n"
	                         "  line2\n");
	_cleanup_buf_ dr_buf b = DR_BUF_INIT(0);
	dr_err *err_ = NULL;
	assert_succeeds(dr_yaml_emit_document(&b, doc, &err_));
	assert_true(dr_startswith(dr_buf_str(&b), "---\nkind: X\n"));
}

static void
round_trip(void **state)
{
	(void)state;
	static const char *const strings[] = {
		"true", "0.14.2", "yes", "", "1Gi", "a: b", "multi\nline\n", "#x", "- x", "null",
		"~", "@x", "'q'", "\"dq\"", "tab\there", " lead", "trail ", "üñï", "$(DOCKER_GROUP_GID)",
		"no-final-newline\nx", "{a}", "[b]", "*c", "&d", "!e", "%f", "|g", ">h", "key:",
		"-", "?", ":", "- ", "#", "@", "`x",
		NULL,
	};
	_cleanup_json_ json_t *doc = json_object();
	json_t *arr = json_array();
	for (size_t i = 0; strings[i]; i++) {
		json_array_append_new(arr, json_string(strings[i]));
		json_object_set_new(doc, strings[i], json_string(strings[i]));
	}
	json_object_set_new(doc, "list", arr);
	json_object_set_new(doc, "int", json_integer(-42));
	json_object_set_new(doc, "big", json_integer(9007199254740993LL));
	json_object_set_new(doc, "f", json_false());
	_cleanup_buf_ dr_buf b = DR_BUF_INIT(0);
	dr_err *err_ = NULL;
	assert_succeeds(dr_yaml_emit_document(&b, doc, &err_));
	assert_succeeds(dr_yaml_emit_document(&b, arr, &err_));
	_cleanup_json_ json_t *docs = dr_yaml_parse(b.data, b.len, &err_);
	if (!docs)
		fail_msg("parse: %s", err_->msg);
	assert_int_equal(json_array_size(docs), 2);
	assert_true(json_equal(json_array_get(docs, 0), doc));
	assert_true(json_equal(json_array_get(docs, 1), arr));
	/* Determinism: the same document emits the same bytes. */
	_cleanup_free_ char *a1 = dr_yaml_dump(doc);
	_cleanup_free_ char *a2 = dr_yaml_dump(doc);
	assert_string_equal(a1, a2);
}

static void
parse_types(void **state)
{
	(void)state;
	dr_err *err_ = NULL;
	const char *y = "i: 12\nneg: -3\nhex: 0x1F\noct: 0o17\nf: 1.5\ne: 1e3\nt: true\n"
	                "F: False\nn: ~\nempty:\ns: '12'\nd: \"true\"\nw: yes\nstr: !!str 7\n";
	_cleanup_json_ json_t *docs = dr_yaml_parse(y, strlen(y), &err_);
	assert_non_null(docs);
	json_t *d = json_array_get(docs, 0);
	assert_int_equal(json_integer_value(json_object_get(d, "i")), 12);
	assert_int_equal(json_integer_value(json_object_get(d, "neg")), -3);
	assert_int_equal(json_integer_value(json_object_get(d, "hex")), 31);
	assert_int_equal(json_integer_value(json_object_get(d, "oct")), 15);
	assert_true(json_real_value(json_object_get(d, "f")) == 1.5);
	assert_true(json_real_value(json_object_get(d, "e")) == 1000.0);
	assert_true(json_is_true(json_object_get(d, "t")));
	assert_true(json_is_false(json_object_get(d, "F")));
	assert_true(json_is_null(json_object_get(d, "n")));
	assert_true(json_is_null(json_object_get(d, "empty")));
	assert_string_equal(json_string_value(json_object_get(d, "s")), "12");
	assert_string_equal(json_string_value(json_object_get(d, "d")), "true");
	/* YAML 1.2 core schema: "yes" is a string. */
	assert_string_equal(json_string_value(json_object_get(d, "w")), "yes");
	assert_string_equal(json_string_value(json_object_get(d, "str")), "7");
}

static void
parse_errors(void **state)
{
	(void)state;
	dr_err *err_ = NULL;
	assert_null(dr_yaml_parse("a: 1\nb: 2\na: 3\n", 15, &err_));
	assert_string_equal(err_->msg, "YAML line 3 column 1: duplicate mapping key");
	dr_err_free(err_);
	err_ = NULL;
	const char *alias = "a: &x 1\nb: *x\n";
	assert_null(dr_yaml_parse(alias, strlen(alias), &err_));
	assert_string_equal(err_->msg, "YAML line 2 column 4: aliases are not supported");
	dr_err_free(err_);
	err_ = NULL;
	const char *bad = "a: [1, 2\n";
	assert_null(dr_yaml_parse(bad, strlen(bad), &err_));
	assert_true(dr_startswith(err_->msg, "YAML line 2"));
	dr_err_free(err_);
	err_ = NULL;
	const char *complex_key = "? [a]\n: 1\n";
	assert_null(dr_yaml_parse(complex_key, strlen(complex_key), &err_));
	assert_string_equal(err_->msg, "YAML line 1 column 3: only scalar mapping keys are supported");
	dr_err_free(err_);
	err_ = NULL;
	/* Deep nesting is refused instead of exhausting the stack. */
	_cleanup_buf_ dr_buf deep = DR_BUF_INIT(0);
	for (int i = 0; i < 200; i++)
		dr_buf_puts(&deep, "[");
	assert_null(dr_yaml_parse(deep.data, deep.len, &err_));
	assert_non_null(strstr(err_->msg, "nested too deeply"));
	dr_err_free(err_);
}

int
main(void)
{
	test_init();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(quoting_rules), cmocka_unit_test(emit_layout),
		cmocka_unit_test(round_trip),    cmocka_unit_test(parse_types),
		cmocka_unit_test(parse_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
