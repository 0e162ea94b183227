/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The serval-sr authors
 */

/*
 * app/neigh.c, the single-writer neighbour table: single-threaded function
 * tests, then a 2-lcore run where the main lcore inserts, rewrites and
 * forgets entries while a worker lcore looks them up. The reader must never
 * see a torn MAC, a MAC of another address, or an entry going back in time.
 */

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <rte_byteorder.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_launch.h>
#include <rte_lcore.h>

#include "neigh.h"

#define N_ADDR 2000
#define RUN_MS 1500

static bool two_lcores;

static rte_be32_t
addr(unsigned int i)
{
	return rte_cpu_to_be_32(0x0a000000 + i + 1);
}

/* A MAC that names its address and a 15-bit version, with check bytes. */
static void
mac_of(unsigned int i, uint16_t v, struct rte_ether_addr *m)
{
	uint8_t vh = v >> 8, vl = v & 0xff;

	m->addr_bytes[0] = vh << 1; /* unicast */
	m->addr_bytes[1] = i >> 8;
	m->addr_bytes[2] = i & 0xff;
	m->addr_bytes[3] = vl;
	m->addr_bytes[4] = vl ^ vh ^ 0x5a;
	m->addr_bytes[5] = (uint8_t)~(i + vl + vh);
}

static int
mac_check(unsigned int i, const struct rte_ether_addr *m, uint16_t *v)
{
	uint8_t vh = m->addr_bytes[0] >> 1, vl = m->addr_bytes[3];

	*v = (uint16_t)vh << 8 | vl;
	return (m->addr_bytes[0] & 1) == 0 && m->addr_bytes[1] == (i >> 8) &&
		m->addr_bytes[2] == (i & 0xff) && m->addr_bytes[4] == (vl ^ vh ^ 0x5a) &&
		m->addr_bytes[5] == (uint8_t)~(i + vl + vh);
}

static void
test_functions(void **state)
{
	struct ssr_neigh *t = ssr_neigh_create(SOCKET_ID_ANY, 4);
	struct rte_ether_addr m, got;
	unsigned int i;
	int s, s2;

	(void)state;
	assert_non_null(t);
	assert_int_equal(t->queue_len, 4);
	assert_false(ssr_neigh_lookup(t, addr(1), &got));
	assert_int_equal(ssr_neigh_find(t, addr(1)), -ENOENT);
	assert_int_equal(ssr_neigh_get(t, 0, 0), -EINVAL);

	s = ssr_neigh_get(t, addr(1), 3);
	assert_true(s >= 0);
	assert_int_equal(ssr_neigh_get(t, addr(1), 0), s);   /* same slot */
	assert_int_equal(ssr_neigh_find(t, addr(1)), s);
	assert_int_equal(t->ctl[s].port, 3);
	assert_false(ssr_neigh_lookup(t, addr(1), &got));   /* unresolved */
	mac_of(1, 7, &m);
	ssr_neigh_set(t, s, &m);
	assert_true(ssr_neigh_lookup(t, addr(1), &got));
	assert_memory_equal(&got, &m, sizeof(m));
	ssr_neigh_set(t, s, NULL);                           /* forgotten */
	assert_false(ssr_neigh_lookup(t, addr(1), &got));
	assert_int_equal(ssr_neigh_find(t, addr(1)), s);     /* key kept */

	/* fill to the limit: 3/4 of the slots, then ENOSPC */
	for (i = 2; i <= SSR_NEIGH_MAX; i++) {
		s2 = ssr_neigh_get(t, addr(i), 0);
		assert_true(s2 >= 0);
		mac_of(i, 1, &m);
		ssr_neigh_set(t, s2, &m);
	}
	assert_int_equal(t->n_used, SSR_NEIGH_MAX);
	assert_int_equal(ssr_neigh_get(t, addr(SSR_NEIGH_MAX + 1), 0), -ENOSPC);
	for (i = 2; i <= SSR_NEIGH_MAX; i++) {
		uint16_t v;

		assert_true(ssr_neigh_lookup(t, addr(i), &got));
		assert_true(mac_check(i, &got, &v));
		assert_int_equal(v, 1);
	}
	/* absent keys still miss in a full table (probing ends) */
	assert_false(ssr_neigh_lookup(t, addr(SSR_NEIGH_MAX + 5), &got));
	ssr_neigh_free(t);
	ssr_neigh_free(NULL);
}

struct rw {
	struct ssr_neigh *t;
	volatile int stop;
	uint64_t lookups;
	uint64_t hits;
	uint64_t bad;      /* torn or foreign MAC */
	uint64_t backward; /* an older version after a newer one */
};

static int
reader(void *arg)
{
	struct rw *rw = arg;
	uint16_t last[N_ADDR + 1];
	unsigned int i = 1;

	memset(last, 0, sizeof(last));
	/* relaxed: a test flag; the writer's stores are ordered by the table */
	while (!__atomic_load_n(&rw->stop, __ATOMIC_RELAXED)) {
		struct rte_ether_addr got;
		uint16_t v;

		rw->lookups++;
		if (ssr_neigh_lookup(rw->t, addr(i), &got)) {
			rw->hits++;
			if (!mac_check(i, &got, &v))
				rw->bad++;
			else if (v < last[i])
				rw->backward++;
			else
				last[i] = v;
		}
		i = i % N_ADDR + 1;
	}
	return 0;
}

static void
test_one_writer_one_reader(void **state)
{
	struct rw rw = { 0 };
	unsigned int lcore = rte_get_next_lcore(rte_lcore_id(), 1, 0);
	uint64_t end, writes = 0;
	unsigned int round;

	(void)state;
	if (!two_lcores) {
		print_message("skipped: needs 2 lcores\n");
		skip();
	}
	rw.t = ssr_neigh_create(SOCKET_ID_ANY, 0);
	assert_non_null(rw.t);
	assert_int_equal(rte_eal_remote_launch(reader, &rw, lcore), 0);
	end = rte_get_timer_cycles() + rte_get_timer_hz() * RUN_MS / 1000;
	/* versions only grow; every 7th round forgets entries for a while */
	for (round = 1; rte_get_timer_cycles() < end && round < 0x7fff; round++) {
		unsigned int i;

		for (i = 1; i <= N_ADDR; i++) {
			struct rte_ether_addr m;
			int s = ssr_neigh_get(rw.t, addr(i), 0);

			assert_true(s >= 0);
			if (round % 7 == 0 && i % 3 == 0) {
				ssr_neigh_set(rw.t, s, NULL);
			} else {
				mac_of(i, round, &m);
				ssr_neigh_set(rw.t, s, &m);
			}
			writes++;
		}
	}
	__atomic_store_n(&rw.stop, 1, __ATOMIC_RELAXED);
	rte_eal_wait_lcore(lcore);
	print_message("%" PRIu64 " writes, %" PRIu64 " lookups, %" PRIu64 " hits\n",
			writes, rw.lookups, rw.hits);
	assert_true(rw.lookups > 0);
	assert_true(rw.hits > 0);
	assert_int_equal(rw.bad, 0);
	assert_int_equal(rw.backward, 0);
	ssr_neigh_free(rw.t);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_functions),
		cmocka_unit_test(test_one_writer_one_reader),
	};
	int ret;

	ret = rte_eal_init(argc, argv);
	if (ret < 0) {
		fprintf(stderr, "EAL init failed\n");
		return 1;
	}
	two_lcores = rte_lcore_count() >= 2;
	if (!two_lcores) {
		fprintf(stderr, "SKIP: fewer than 2 lcores\n");
		rte_eal_cleanup();
		return 77;
	}
	ret = cmocka_run_group_tests(tests, NULL, NULL);
	rte_eal_cleanup();
	return ret;
}
