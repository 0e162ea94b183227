/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The serval-sr authors
 */

/*
 * app/stats.c: names from the X-macro lists, summing, the invariant check
 * and the printed form the integration tests parse. No EAL.
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "stats.h"

static void
test_names(void **state)
{
	unsigned int i, j;

	(void)state;
	assert_string_equal(ssr_counter_name(SSR_CNT_RX), "rx");
	assert_string_equal(ssr_counter_name(SSR_CNT_SAL_RESOLVED), "sal_resolved");
	assert_string_equal(ssr_drop_name(SSR_DROP_TTL_EXPIRED), "ttl_expired");
	assert_string_equal(ssr_drop_desc(SSR_DROP_TTL_EXPIRED), "TTL expired in transit");
	assert_string_equal(ssr_counter_name(SSR_CNT_MAX), "?");
	assert_string_equal(ssr_drop_name(SSR_DROP_MAX), "?");
	/* names are unique and lower case */
	for (i = 0; i < SSR_DROP_MAX; i++) {
		const char *n = ssr_drop_name(i);

		assert_true(strlen(n) > 0);
		for (j = 0; n[j] != '\0'; j++)
			assert_true((n[j] >= 'a' && n[j] <= 'z') || n[j] == '_' ||
					(n[j] >= '0' && n[j] <= '9'));
		for (j = 0; j < i; j++)
			assert_string_not_equal(n, ssr_drop_name(j));
	}
	for (i = 0; i < SSR_CNT_MAX; i++)
		for (j = 0; j < i; j++)
			assert_string_not_equal(ssr_counter_name(i), ssr_counter_name(j));
}

static void
test_sum_and_balance(void **state)
{
	struct ssr_stats a, b, sum;

	(void)state;
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	memset(&sum, 0, sizeof(sum));
	/* worker: 10 in, 6 out, 2 dropped, 2 to control */
	ssr_count(&a, SSR_CNT_RX, 10);
	ssr_count(&a, SSR_CNT_TX, 6);
	ssr_drop(&a, SSR_DROP_TTL_EXPIRED, 1);
	ssr_drop_sal(&a, SAL_DROP_SAL_BAD_CSUM);
	ssr_count(&a, SSR_CNT_TO_CONTROL, 2);
	/* control: took 2, answered one (hand-off), consumed one, built one */
	ssr_count(&b, SSR_CNT_FROM_WORKERS, 2);
	ssr_count(&b, SSR_CNT_CONSUMED, 1);
	ssr_count(&b, SSR_CNT_GENERATED, 1);
	ssr_count(&b, SSR_CNT_HANDOFF_OUT, 2);
	ssr_stats_add(&sum, &a);
	ssr_stats_add(&sum, &b);
	assert_int_equal(sum.cnt[SSR_CNT_RX], 10);
	assert_int_equal(ssr_stats_dropped(&sum), 2);
	assert_int_equal(sum.drop[SSR_DROP_SAL_MALFORMED], 1);
	assert_int_equal(sum.sal_reason[SAL_DROP_SAL_BAD_CSUM], 1);
	/* the two handed-off packets are still in a worker's inbox */
	assert_false(ssr_stats_balanced(&sum));
	ssr_count(&a, SSR_CNT_HANDOFF_IN, 2);
	ssr_count(&a, SSR_CNT_TX, 2);
	memset(&sum, 0, sizeof(sum));
	ssr_stats_add(&sum, &a);
	ssr_stats_add(&sum, &b);
	/* 10 + 1 == 8 + 1 + 2 */
	assert_true(ssr_stats_balanced(&sum));
	assert_int_equal(ssr_stats_read(&a, SSR_CNT_TX), 8);
}

static void
test_print(void **state)
{
	struct ssr_stats s;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	(void)state;
	memset(&s, 0, sizeof(s));
	ssr_count(&s, SSR_CNT_RX, 3);
	ssr_drop(&s, SSR_DROP_NO_ROUTE, 3);
	f = open_memstream(&buf, &len);
	assert_non_null(f);
	ssr_stats_print(f, "total", &s);
	fclose(f);
	assert_string_equal(buf,
		"total:\n"
		"  rx: 3\n"
		"  tx: 0\n"
		"  dropped: 3\n"
		"  drop.no_route: 3  # no route (no connected subnet, no gateway)\n");
	free(buf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_sum_and_balance),
		cmocka_unit_test(test_print),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
