/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The serval-sr authors
 */

/* serviceID text form: parse and print, valid and invalid inputs. */

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "sal.h"
#include "sal_test_util.h"

static void
parse_ok(const char *s, const uint8_t *want, size_t want_len, uint16_t want_bits)
{
	struct sal_service_id id, zero;
	uint16_t bits = 999;
	char err[SAL_ERRLEN] = "";
	int r;

	memset(&zero, 0, sizeof(zero));
	r = sal_service_id_parse(s, &id, &bits, err, sizeof(err));
	if (r != 0)
		fail_msg("\"%s\" refused: %s", s, err);
	assert_memory_equal(id.b, want, want_len);
	/* zero-filled on the right */
	assert_memory_equal(id.b + want_len, zero.b, 32 - want_len);
	assert_int_equal(bits, want_bits);
}

static void
parse_bad(const char *s, const char *why)
{
	struct sal_service_id id;
	uint16_t bits = 7;
	char err[SAL_ERRLEN] = "";

	memset(&id, 0x5a, sizeof(id));
	assert_int_equal(sal_service_id_parse(s, &id, &bits, err, sizeof(err)), -EINVAL);
	if (strstr(err, why) == NULL)
		fail_msg("\"%s\": message \"%s\" lacks \"%s\"", s, err, why);
	/* outputs untouched on failure */
	assert_int_equal(bits, 7);
	assert_int_equal(id.b[0], 0x5a);
	assert_int_equal(id.b[31], 0x5a);
}

static void
test_parse_valid(void **state)
{
	static const uint8_t all[32] = {
		0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0x01, 0x23, 0x45, 0x67,
		0x89, 0xab, 0xcd, 0xef, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
		0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
	};

	(void)state;
	/* the upstream captures' serviceID 16385 */
	parse_ok("00004001", (const uint8_t[]){ 0x00, 0x00, 0x40, 0x01 }, 4, 256);
	/* odd digit count: the last digit is a high nibble */
	parse_ok("abc", (const uint8_t[]){ 0xab, 0xc0 }, 2, 256);
	parse_ok("0", (const uint8_t[]){ 0x00 }, 1, 256);
	parse_ok("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		all, 32, 256);
	parse_ok("0123456789ABCDEF0123456789abcdef0123456789AbCdEf0123456789abcdef",
		all, 32, 256);
	/* prefix forms */
	parse_ok("00004001/32", (const uint8_t[]){ 0x00, 0x00, 0x40, 0x01 }, 4, 32);
	parse_ok("00004001/256", (const uint8_t[]){ 0x00, 0x00, 0x40, 0x01 }, 4, 256);
	parse_ok("0000400/31", (const uint8_t[]){ 0x00, 0x00, 0x40 }, 3, 31);
	parse_ok("0/0", (const uint8_t[]){ 0x00 }, 1, 0);
	parse_ok("ff/8", (const uint8_t[]){ 0xff }, 1, 8);
	parse_ok("8/1", (const uint8_t[]){ 0x80 }, 1, 1);
	parse_ok("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef/256",
		all, 32, 256);
}

static void
test_parse_invalid(void **state)
{
	struct sal_service_id id;
	char err[SAL_ERRLEN];
	uint16_t bits;

	(void)state;
	parse_bad("", "needs 1..64 hex digits");
	parse_bad("/16", "needs 1..64 hex digits");
	parse_bad("0x4001", "'x' at position 2 is not a hex digit");
	parse_bad(" 4001", "0x20 at position 1");
	parse_bad("4001 ", "0x20 at position 5");
	parse_bad("40g1", "'g' at position 3");
	parse_bad("4001\n", "0x0a at position 5");
	parse_bad("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0",
		"more than 64 hex digits");
	parse_bad("4001/", "must be followed by a prefix length");
	parse_bad("4001/257", "prefix length 257 is outside 0..256");
	parse_bad("4001/999", "prefix length 999 is outside 0..256");
	parse_bad("4001/0016", "prefix length must be 0..256");
	parse_bad("4001/-1", "decimal number 0..256, found '-'");
	parse_bad("4001/+8", "found '+'");
	parse_bad("4001/16 ", "found 0x20");
	parse_bad("4001/1/2", "found '/'");
	parse_bad("4001/0x10", "found 'x'");
	/* bits beyond the prefix are refused, never masked */
	parse_bad("00004001/16", "bit 17 is set beyond the prefix length 16");
	parse_bad("00004001/31", "bit 31 is set beyond the prefix length 31");
	parse_bad("1/0", "bit 3 is set beyond the prefix length 0");
	parse_bad("ff/7", "bit 7 is set beyond the prefix length 7");
	parse_bad("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef/254",
		"bit 254 is set beyond the prefix length 254");

	/* a prefix where none is allowed */
	assert_int_equal(sal_service_id_parse("4001", &id, NULL, err, sizeof(err)), 0);
	assert_int_equal(sal_service_id_parse("4001/16", &id, NULL, err, sizeof(err)),
		-EINVAL);
	assert_non_null(strstr(err, "a prefix length is not allowed here"));
	/* NULL arguments, no error buffer, a tiny one */
	assert_int_equal(sal_service_id_parse(NULL, &id, &bits, err, sizeof(err)), -EINVAL);
	assert_int_equal(sal_service_id_parse("1", NULL, &bits, err, sizeof(err)), -EINVAL);
	assert_int_equal(sal_service_id_parse("xyz", &id, &bits, NULL, 0), -EINVAL);
	memset(err, 'Q', sizeof(err));
	assert_int_equal(sal_service_id_parse("xyz", &id, &bits, err, 8), -EINVAL);
	assert_int_equal(strlen(err), 7);
	assert_int_equal(err[8], 'Q');
	/* the message names the input, cut to a sane length */
	assert_int_equal(sal_service_id_parse("4001/zz", &id, &bits, err, sizeof(err)),
		-EINVAL);
	assert_non_null(strstr(err, "\"4001/zz\""));
}

static void
test_format(void **state)
{
	struct sal_service_id id;
	char buf[SAL_SERVICE_ID_STRLEN];

	(void)state;
	memset(&id, 0, sizeof(id));
	id.b[2] = 0x40;
	id.b[3] = 0x01;
	id.b[31] = 0xAB;
	assert_int_equal(sal_service_id_format(&id, -1, buf, sizeof(buf)), 64);
	assert_string_equal(buf,
		"00004001000000000000000000000000000000000000000000000000000000ab");
	assert_int_equal(sal_service_id_format(&id, 256, buf, sizeof(buf)), 68);
	assert_string_equal(buf + 64, "/256");
	assert_int_equal(sal_service_id_format(&id, 0, buf, sizeof(buf)), 66);
	assert_string_equal(buf + 64, "/0");
	/* exact sizes, one short */
	assert_int_equal(sal_service_id_format(&id, -1, buf, 65), 64);
	assert_int_equal(sal_service_id_format(&id, -1, buf, 64), -ENOSPC);
	assert_string_equal(buf, "");
	assert_int_equal(sal_service_id_format(&id, 32, buf, 68), 67);
	assert_string_equal(buf + 64, "/32");
	assert_int_equal(sal_service_id_format(&id, 32, buf, 67), -ENOSPC);
	assert_int_equal(sal_service_id_format(&id, 257, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(sal_service_id_format(&id, -2, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(sal_service_id_format(NULL, -1, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(sal_service_id_format(&id, -1, NULL, sizeof(buf)), -EINVAL);
}

/* print then parse gives the same serviceID and prefix (masked ids). */
static void
test_roundtrip(void **state)
{
	struct test_rng rng;
	uint32_t i;

	(void)state;
	test_rng_seed(&rng, 256);
	for (i = 0; i < 2000; i++) {
		struct sal_service_id id, back;
		char buf[SAL_SERVICE_ID_STRLEN], err[SAL_ERRLEN];
		int bits = (int)test_rng_below(&rng, 258) - 1;
		uint16_t got = 0;
		int b;

		test_rng_bytes(&rng, id.b, sizeof(id.b));
		for (b = bits < 0 ? 256 : bits; b < 256; b++)
			id.b[b / 8] &= (uint8_t)~(0x80 >> (b % 8));
		assert_true(sal_service_id_format(&id, bits, buf, sizeof(buf)) > 0);
		if (sal_service_id_parse(buf, &back, &got, err, sizeof(err)) != 0)
			fail_msg("\"%s\": %s", buf, err);
		assert_memory_equal(&back, &id, sizeof(id));
		assert_int_equal(got, bits < 0 ? 256 : bits);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_valid),
		cmocka_unit_test(test_parse_invalid),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_roundtrip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
