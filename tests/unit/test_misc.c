/* test_misc.c: buffers, quantities, SHA-256, base64 and the PEM check. */
#include "test.h"

#include "lib/buf.h"
#include "lib/pem.h"
#include "lib/quantity.h"
#include "lib/sha256.h"

static void
buf_cap(void **state)
{
	(void)state;
	_cleanup_buf_ dr_buf b = DR_BUF_INIT(8);
	assert_int_equal(dr_buf_puts(&b, "12345"), 0);
	assert_int_equal(dr_buf_puts(&b, "678"), 0);
	assert_int_equal(dr_buf_puts(&b, "9"), -1);
	assert_int_equal(errno, E2BIG);
	assert_string_equal(dr_buf_str(&b), "12345678");
	assert_int_equal(b.len, 8);
	_cleanup_buf_ dr_buf u = DR_BUF_INIT(0);
	for (int i = 0; i < 1000; i++)
		assert_int_equal(dr_buf_printf(&u, "%d,", i), 0);
	assert_true(dr_endswith(dr_buf_str(&u), "998,999,"));
	char *s = dr_buf_steal(&u);
	assert_null(u.data);
	free(s);
}

static void
quantity_bytes(void **state)
{
	(void)state;
	uint64_t v;
	assert_int_equal(dr_quantity_bytes("1Gi", &v), 0);
	assert_true(v == 1073741824ull);
	assert_int_equal(dr_quantity_bytes("500M", &v), 0);
	assert_true(v == 500000000ull);
	assert_int_equal(dr_quantity_bytes("1.5Ki", &v), 0);
	assert_true(v == 1536);
	assert_int_equal(dr_quantity_bytes("2e3", &v), 0);
	assert_true(v == 2000);
	assert_int_equal(dr_quantity_bytes("100m", &v), 0);
	assert_true(v == 1); /* rounds up */
	assert_int_equal(dr_quantity_bytes("-1", &v), -1);
	assert_int_equal(dr_quantity_bytes("99Ei", &v), -1);
	assert_false(dr_quantity_valid("-1", false));
	assert_true(dr_quantity_valid("-1", true));
}

static void
sha256_vectors(void **state)
{
	(void)state;
	char hex[65];
	dr_sha256_hex("", 0, hex);
	assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	dr_sha256_hex("abc", 3, hex);
	assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	dr_sha256_hex(two, strlen(two), hex);
	assert_string_equal(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	/* A million 'a's, fed in uneven pieces. */
	dr_sha256 c;
	dr_sha256_init(&c);
	char block[997];
	memset(block, 'a', sizeof(block));
	size_t left = 1000000;
	while (left) {
		size_t n = left < sizeof(block) ? left : sizeof(block);
		dr_sha256_update(&c, block, n);
		left -= n;
	}
	uint8_t d[32];
	dr_sha256_final(&c, d);
	assert_int_equal(d[0], 0xcd);
	assert_int_equal(d[1], 0xc7);
	assert_int_equal(d[31], 0xd0);
}

static void
base64(void **state)
{
	(void)state;
	static const struct {
		const char *in, *out;
	} v[] = { { "", "" },         { "f", "Zg==" },       { "fo", "Zm8=" },
		  { "foo", "Zm9v" },  { "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" },
		  { "foobar", "Zm9vYmFy" } };
	for (size_t i = 0; i < DR_ARRAY_LEN(v); i++) {
		_cleanup_free_ char *e = dr_base64_encode(v[i].in, strlen(v[i].in));
		assert_string_equal(e, v[i].out);
		_cleanup_free_ uint8_t *d = NULL;
		size_t n = 0;
		assert_int_equal(dr_base64_decode(e, strlen(e), &d, &n), 0);
		assert_int_equal(n, strlen(v[i].in));
		assert_memory_equal(d, v[i].in, n);
	}
	uint8_t *d = NULL;
	size_t n;
	assert_int_equal(dr_base64_decode("Zm9", 3, &d, &n), -1);
	assert_int_equal(dr_base64_decode("Zm=v", 4, &d, &n), -1);
	assert_int_equal(dr_base64_decode("Z!9v", 4, &d, &n), -1);
	assert_int_equal(dr_base64_decode("Zm9v\nYmFy", 9, &d, &n), 0);
	assert_int_equal(n, 6);
	free(d);
}

static void
pem_check(void **state)
{
	(void)state;
	_cleanup_free_ char *rsa = test_read_data("tests/data/app-key.pem");
	const char *why = NULL;
	assert_int_equal(dr_pem_private_key_check(rsa, &why), 0);
	_cleanup_free_ char *swapped = dr_xstrdup(rsa);
	char *end = strstr(swapped, "-----END RSA");
	memcpy(end, "-----END DSA", 12);
	assert_int_equal(dr_pem_private_key_check(swapped, &why), -1);
	assert_string_equal(why, "no matching END line");
	_cleanup_free_ char *bad = dr_xstrdup(rsa);
	bad[40] = '*';
	assert_int_equal(dr_pem_private_key_check(bad, &why), -1);
	assert_string_equal(why, "the key body is not valid base64");
	assert_int_equal(dr_pem_private_key_check("-----BEGIN RSA PRIVATE KEY-----\nMAA=\n"
	                                          "-----END RSA PRIVATE KEY-----\n",
	                                          &why),
	                 -1);
	assert_string_equal(why, "the key's DER structure has no version 0");
	assert_int_equal(dr_pem_private_key_check("-----BEGIN RSA PRIVATE KEY-----\nAgEA\n"
	                                          "-----END RSA PRIVATE KEY-----\n",
	                                          &why),
	                 -1);
	assert_string_equal(why, "the key body is not a DER SEQUENCE");
}

static void
strv(void **state)
{
	(void)state;
	char **v = NULL;
	dr_strv_push(&v, "a");
	dr_strv_push(&v, "b");
	assert_int_equal(dr_strv_len(v), 2);
	assert_true(dr_strv_contains(v, "b"));
	assert_false(dr_strv_contains(v, "c"));
	char **c = dr_strv_copy(v);
	assert_string_equal(c[1], "b");
	dr_strv_free(v);
	dr_strv_free(c);
}

static void
errors(void **state)
{
	(void)state;
	dr_err *e = NULL;
	assert_int_equal(dr_fail_errno(&e, DR_EXIT_FAIL, ENOENT, "open %s", "/x"), -1);
	assert_string_equal(e->msg, "open /x: No such file or directory");
	assert_int_equal(e->errnum, ENOENT);
	/* The first error wins; later ones do not overwrite it. */
	dr_fail(&e, DR_EXIT_USAGE, "second");
	assert_int_equal(e->code, DR_EXIT_FAIL);
	dr_err_prefix(&e, "load config %d", 3);
	assert_string_equal(e->msg, "load config 3: open /x: No such file or directory");
	dr_err_free(e);
}

int
main(void)
{
	test_init();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(buf_cap),  cmocka_unit_test(quantity_bytes),
		cmocka_unit_test(sha256_vectors), cmocka_unit_test(base64),
		cmocka_unit_test(pem_check), cmocka_unit_test(strv),
		cmocka_unit_test(errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
