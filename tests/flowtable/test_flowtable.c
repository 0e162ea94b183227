/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The serval-sr authors
 */

/*
 * Unit tests of lib/flowtable with no EAL: invalid arguments first, then
 * function (insert/lookup/delete, stale generations, aging with a clock the
 * test controls, migration, SYN index, full table, RCU-deferred reuse),
 * then a randomised run against a brute-force model of the table.
 */

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <rte_errno.h>
#include <rte_rcu_qsbr.h>

#include "flowtable.h"

#define T_SYN 10
#define T_EST 1000
#define T_CLOSE 20

static struct flowtable_conf
conf_make(uint32_t max_flows, uint32_t n_workers)
{
	struct flowtable_conf c;

	memset(&c, 0, sizeof(c));
	c.name = "test";
	c.max_flows = max_flows;
	c.n_workers = n_workers;
	c.socket_id = -1;
	c.timeout[FLOWTABLE_STATE_SYN_SEEN] = T_SYN;
	c.timeout[FLOWTABLE_STATE_ESTABLISHED] = T_EST;
	c.timeout[FLOWTABLE_STATE_CLOSING] = T_CLOSE;
	return c;
}

static struct flowtable *
ft_make(uint32_t max_flows, uint32_t n_workers)
{
	struct flowtable_conf c = conf_make(max_flows, n_workers);
	struct flowtable *ft = flowtable_create(&c);

	assert_non_null(ft);
	return ft;
}

static struct flowtable_syn_key
key_make(uint32_t ip, uint32_t fid, uint64_t nonce)
{
	struct flowtable_syn_key k;

	k.client_ip = ip;
	k.client_flowid = fid;
	memcpy(k.nonce, &nonce, sizeof(k.nonce));
	return k;
}

/* Lookup of one flowID; returns 1 on a hit. */
static int
lookup1(struct flowtable *ft, unsigned int worker, uint32_t rfid, uint32_t len,
	uint64_t now, struct flowtable_result *r)
{
	return (int)flowtable_lookup_bulk(ft, worker, &rfid, &len, 1, r, now);
}

static void
test_create_invalid(void **state)
{
	struct flowtable_conf c;

	(void)state;
	rte_errno = 0;
	assert_null(flowtable_create(NULL));
	assert_int_equal(rte_errno, EINVAL);

	c = conf_make(0, 1);
	rte_errno = 0;
	assert_null(flowtable_create(&c));
	assert_int_equal(rte_errno, EINVAL);

	c = conf_make(16, 0);
	rte_errno = 0;
	assert_null(flowtable_create(&c));
	assert_int_equal(rte_errno, EINVAL);

	c = conf_make(1024, FLOWTABLE_MAX_WORKERS + 1);
	rte_errno = 0;
	assert_null(flowtable_create(&c));
	assert_int_equal(rte_errno, EINVAL);

	c = conf_make(16, 1);
	c.flags = 0x80000000u;
	rte_errno = 0;
	assert_null(flowtable_create(&c));
	assert_int_equal(rte_errno, EINVAL);

	c = conf_make(16, 1);
	c.timeout[FLOWTABLE_STATE_CLOSING] = 0;
	rte_errno = 0;
	assert_null(flowtable_create(&c));
	assert_int_equal(rte_errno, EINVAL);

	/* 2^28 slots leave 32 - 28 - 1 = 3 generation bits: too few */
	c = conf_make(1u << 28, 1);
	rte_errno = 0;
	assert_null(flowtable_create(&c));
	assert_int_equal(rte_errno, EINVAL);

	/* 2^25 slots over 4 workers: 2 + 23 + 1 leaves 6 bits, accepted in
	 * principle; use a smaller one to keep the test light */
	c = conf_make(1u << 12, 4);
	{
		struct flowtable *ft = flowtable_create(&c);

		assert_non_null(ft);
		assert_true(flowtable_memory(ft) >= (size_t)(1u << 12) * 96);
		flowtable_free(ft);
	}
	flowtable_free(NULL);
}

static void
test_calls_invalid(void **state)
{
	struct flowtable *ft = ft_make(64, 2);
	struct flowtable_syn_key k = key_make(0x0a000001, 7, 1);
	struct flowtable_result r[2];
	struct flowtable_flow_info info;
	struct flowtable_stats st;
	uint32_t rfid, ids[FLOWTABLE_BURST_MAX + 1];
	uint8_t nonce[FLOWTABLE_NONCE_LEN] = {1};

	(void)state;
	memset(ids, 0, sizeof(ids));
	assert_int_equal(flowtable_insert(NULL, 0, &k, 1, 0, &rfid), -EINVAL);
	assert_int_equal(flowtable_insert(ft, 2, &k, 1, 0, &rfid), -EINVAL);
	assert_int_equal(flowtable_insert(ft, 0, NULL, 1, 0, &rfid), -EINVAL);
	assert_int_equal(flowtable_insert(ft, 0, &k, 1, 0, NULL), -EINVAL);
	k.client_flowid = 0;
	assert_int_equal(flowtable_insert(ft, 0, &k, 1, 0, &rfid), -EINVAL);
	k.client_flowid = 7;
	assert_int_equal(flowtable_insert(ft, 0, &k, 1, 0, &rfid), 0);

	assert_int_equal(flowtable_lookup_bulk(NULL, 0, &rfid, NULL, 1, r, 0), 0);
	assert_int_equal(flowtable_lookup_bulk(ft, 2, &rfid, NULL, 1, r, 0), 0);
	assert_int_equal(flowtable_lookup_bulk(ft, 0, NULL, NULL, 1, r, 0), 0);
	assert_int_equal(flowtable_lookup_bulk(ft, 0, &rfid, NULL, 1, NULL, 0), 0);
	assert_int_equal(flowtable_lookup_bulk(ft, 0, ids, NULL,
		FLOWTABLE_BURST_MAX + 1, r, 0), 0);
	assert_int_equal(flowtable_lookup_bulk(ft, 0, &rfid, NULL, 0, r, 0), 0);
	assert_int_equal(flowtable_find_syn_bulk(NULL, 0, &k, 1, ids), 0);
	assert_int_equal(flowtable_find_syn_bulk(ft, 5, &k, 1, ids), 0);
	assert_int_equal(flowtable_find_syn_bulk(ft, 0, NULL, 1, ids), 0);
	assert_int_equal(flowtable_find_syn_bulk(ft, 0, &k, 1, NULL), 0);

	assert_int_equal(flowtable_set_state(NULL, 0, rfid, FLOWTABLE_STATE_CLOSING), -EINVAL);
	assert_int_equal(flowtable_set_state(ft, 9, rfid, FLOWTABLE_STATE_CLOSING), -EINVAL);
	assert_int_equal(flowtable_set_state(ft, 0, rfid, FLOWTABLE_STATE_FREE), -EINVAL);
	assert_int_equal(flowtable_set_state(ft, 0, rfid, FLOWTABLE_STATE_MAX), -EINVAL);
	assert_int_equal(flowtable_set_state(ft, 0, rfid, (enum flowtable_state)-1), -EINVAL);
	assert_int_equal(flowtable_set_state(ft, 0, rfid + 2, FLOWTABLE_STATE_CLOSING),
		-ENOENT);
	assert_int_equal(flowtable_set_instance_flowid(NULL, 0, rfid, 3), -EINVAL);
	assert_int_equal(flowtable_set_instance_flowid(ft, 0, rfid, 0), -EINVAL);
	assert_int_equal(flowtable_set_instance_flowid(ft, 3, rfid, 1), -EINVAL);
	assert_int_equal(flowtable_set_instance_flowid(ft, 0, 0, 1), -ENOENT);
	assert_int_equal(flowtable_migrate(NULL, 0, rfid, 5, nonce, 0), -EINVAL);
	assert_int_equal(flowtable_migrate(ft, 0, rfid, 5, NULL, 0), -EINVAL);
	assert_int_equal(flowtable_migrate(ft, 0, rfid, 0, nonce, 0), -EINVAL);
	assert_int_equal(flowtable_migrate(ft, 7, rfid, 5, nonce, 0), -EINVAL);
	assert_int_equal(flowtable_migrate(ft, 0, flowtable_rfid_peer(rfid), 5, nonce, 0),
		-EINVAL);
	assert_int_equal(flowtable_migrate(ft, 0, 0, 5, nonce, 0), -ENOENT);
	assert_int_equal(flowtable_delete(NULL, 0, rfid), -EINVAL);
	assert_int_equal(flowtable_delete(ft, 2, rfid), -EINVAL);
	assert_int_equal(flowtable_delete(ft, 0, 0), -ENOENT);
	assert_int_equal(flowtable_expire(NULL, 0, 0, 10), 0);
	assert_int_equal(flowtable_expire(ft, 2, 1000000, 10), 0);
	assert_int_equal(flowtable_get(NULL, rfid, &info), -EINVAL);
	assert_int_equal(flowtable_get(ft, rfid, NULL), -EINVAL);
	assert_int_equal(flowtable_get(ft, 0, &info), -ENOENT);
	assert_int_equal(flowtable_get(ft, 1, &info), -ENOENT);
	assert_int_equal(flowtable_walk(NULL, NULL, NULL), -EINVAL);
	assert_int_equal(flowtable_walk(ft, NULL, NULL), -EINVAL);
	assert_int_equal(flowtable_stats_get(NULL, &st), -EINVAL);
	assert_int_equal(flowtable_stats_get(ft, NULL), -EINVAL);
	assert_int_equal(flowtable_rcu_attach(NULL, NULL), -EINVAL);
	assert_int_equal(flowtable_rcu_attach(ft, NULL), -EINVAL);
	assert_int_equal(flowtable_memory(NULL), 0);

	/* nothing above changed the one flow */
	assert_int_equal(flowtable_stats_get(ft, &st), 0);
	assert_int_equal(st.flows, 1);
	assert_int_equal(flowtable_get(ft, rfid, &info), 0);
	assert_int_equal(info.r.state, FLOWTABLE_STATE_SYN_SEEN);
	assert_int_equal(info.r.client_ip, 0x0a000001);
	assert_int_equal(info.r.instance_flowid, 0);
	flowtable_free(ft);
}

static void
test_insert_lookup_delete(void **state)
{
	struct flowtable *ft = ft_make(1024, 2);
	struct flowtable_syn_key k = key_make(0x0100000a, 0x1234, 0xabcdef);
	struct flowtable_result r[4];
	struct flowtable_flow_info info;
	struct flowtable_stats st;
	uint32_t rfid, ids[4], lens[4] = {100, 200, 300, 400};
	uint64_t hits;

	(void)state;
	assert_int_equal(flowtable_insert(ft, 1, &k, 77, 5, &rfid), 0);
	assert_int_not_equal(rfid, 0);
	assert_int_equal(rfid & FLOWTABLE_RFID_INSTANCE_SIDE, 0);

	ids[0] = rfid;
	ids[1] = flowtable_rfid_peer(rfid);
	ids[2] = rfid + 2;          /* next generation: stale */
	ids[3] = 0;                 /* a SYN's dst_flowid */
	memset(r, 0xee, sizeof(r));
	hits = flowtable_lookup_bulk(ft, 1, ids, lens, 4, r, 6);
	assert_int_equal(hits, 0x3);
	assert_int_equal(r[0].target, 77);
	assert_int_equal(r[0].client_ip, 0x0100000a);
	assert_int_equal(r[0].client_flowid, 0x1234);
	assert_int_equal(r[0].instance_flowid, 0);
	assert_int_equal(r[0].rfid, rfid);
	assert_int_equal(r[0].owner, 1);
	assert_int_equal(r[0].state, FLOWTABLE_STATE_SYN_SEEN);
	assert_int_equal(r[0].from_instance, 0);
	assert_int_equal(r[1].from_instance, 1);
	assert_int_equal(r[1].target, 77);
	assert_int_equal(r[1].rfid, rfid);
	/* a miss leaves its result untouched */
	assert_int_equal(r[2].target, 0xeeeeeeee);
	assert_int_equal(r[3].target, 0xeeeeeeee);

	/* a lookup from the other worker counts into the foreign record */
	assert_int_equal(flowtable_lookup_bulk(ft, 0, ids, lens + 2, 1, r, 9), 1);
	assert_int_equal(flowtable_get(ft, flowtable_rfid_peer(rfid), &info), 0);
	assert_int_equal(info.pkts, 3);
	assert_int_equal(info.bytes, 600);
	assert_int_equal(info.last_seen, 9);
	assert_int_equal(info.r.from_instance, 1);
	assert_memory_equal(info.nonce, k.nonce, FLOWTABLE_NONCE_LEN);

	assert_int_equal(flowtable_set_instance_flowid(ft, 0, ids[1], 0x99), 0);
	assert_int_equal(flowtable_set_instance_flowid(ft, 1, rfid, 0x99), 0);
	assert_int_equal(flowtable_set_instance_flowid(ft, 1, rfid, 0x98), -EEXIST);
	assert_int_equal(lookup1(ft, 1, rfid, 0, 10, r), 1);
	assert_int_equal(r[0].instance_flowid, 0x99);

	assert_int_equal(flowtable_stats_get(ft, &st), 0);
	assert_int_equal(st.flows, 1);
	assert_int_equal(st.inserts, 1);
	assert_int_equal(st.lookups, 6);
	assert_int_equal(st.lookup_misses, 2);
	assert_int_equal(st.foreign_hits, 1);
	assert_int_equal(st.capacity, 1024);

	/* only the owner deletes */
	assert_int_equal(flowtable_delete(ft, 0, rfid), -EXDEV);
	assert_int_equal(lookup1(ft, 0, rfid, 0, 11, r), 1);
	assert_int_equal(flowtable_delete(ft, 1, flowtable_rfid_peer(rfid)), 0);
	assert_int_equal(lookup1(ft, 1, rfid, 0, 12, r), 0);
	assert_int_equal(lookup1(ft, 0, flowtable_rfid_peer(rfid), 0, 12, r), 0);
	assert_int_equal(flowtable_delete(ft, 1, rfid), -ENOENT);
	assert_int_equal(flowtable_get(ft, rfid, &info), -ENOENT);
	assert_int_equal(flowtable_set_state(ft, 1, rfid, FLOWTABLE_STATE_CLOSING), -ENOENT);
	assert_int_equal(flowtable_find_syn_bulk(ft, 1, &k, 1, ids), 0);
	assert_int_equal(flowtable_stats_get(ft, &st), 0);
	assert_int_equal(st.flows, 0);
	assert_int_equal(st.deletes, 1);
	flowtable_free(ft);
}

static void
test_many_flows(void **state)
{
	enum { N = 4096 };
	struct flowtable *ft = ft_make(N, 4);
	static uint32_t rfid[N];
	struct flowtable_result r[FLOWTABLE_BURST_MAX];
	uint32_t i, j, ids[FLOWTABLE_BURST_MAX];

	(void)state;
	for (i = 0; i < N; i++) {
		struct flowtable_syn_key k = key_make(0x0a000000 + i, i + 1, i);

		assert_int_equal(flowtable_insert(ft, i % 4, &k, i * 3, 0, &rfid[i]), 0);
		for (j = 0; j < i; j += 97)
			assert_int_not_equal(rfid[i], rfid[j]);
	}
	for (i = 0; i < N; i += FLOWTABLE_BURST_MAX) {
		for (j = 0; j < FLOWTABLE_BURST_MAX; j++)
			ids[j] = rfid[i + j] | (j & 1);
		assert_int_equal(flowtable_lookup_bulk(ft, 3, ids, NULL,
			FLOWTABLE_BURST_MAX, r, 1), UINT64_MAX);
		for (j = 0; j < FLOWTABLE_BURST_MAX; j++) {
			assert_int_equal(r[j].target, (i + j) * 3);
			assert_int_equal(r[j].client_flowid, i + j + 1);
			assert_int_equal(r[j].owner, (i + j) % 4);
		}
	}
	flowtable_free(ft);
}

static void
test_stale_generation(void **state)
{
	/* one slot per worker: every insert reuses the same slot */
	struct flowtable *ft = ft_make(2, 2);
	struct flowtable_syn_key k = key_make(0x0a000001, 1, 1);
	struct flowtable_result r;
	uint32_t prev = 0, rfid, i;

	(void)state;
	for (i = 0; i < 3000; i++) {
		k.client_flowid = i + 1;
		assert_int_equal(flowtable_insert(ft, 0, &k, i, 0, &rfid), 0);
		assert_int_not_equal(rfid, 0);
		assert_int_not_equal(rfid, prev);
		assert_int_equal(lookup1(ft, 0, rfid, 0, 0, &r), 1);
		assert_int_equal(r.target, i);
		if (prev != 0) {
			/* the previous flow in this very slot */
			assert_int_equal(lookup1(ft, 0, prev, 0, 0, &r), 0);
			assert_int_equal(lookup1(ft, 1, flowtable_rfid_peer(prev), 0, 0, &r), 0);
		}
		assert_int_equal(flowtable_delete(ft, 0, rfid), 0);
		assert_int_equal(lookup1(ft, 0, rfid, 0, 0, &r), 0);
		prev = rfid;
	}
	/* junk flowIDs miss */
	assert_int_equal(lookup1(ft, 0, 0xffffffffu, 0, 0, &r), 0);
	assert_int_equal(lookup1(ft, 0, 0xfffffffeu, 0, 0, &r), 0);
	flowtable_free(ft);
}

static void
test_aging(void **state)
{
	struct flowtable *ft = ft_make(8, 1);
	struct flowtable_syn_key k = key_make(0x0a000001, 1, 1);
	struct flowtable_flow_info info;
	struct flowtable_result r;
	struct flowtable_stats st;
	uint32_t a, b, c, d;

	(void)state;
	assert_int_equal(flowtable_insert(ft, 0, &k, 1, 100, &a), 0);   /* half-open */
	k.client_flowid = 2;
	assert_int_equal(flowtable_insert(ft, 0, &k, 2, 100, &b), 0);
	assert_int_equal(flowtable_set_state(ft, 0, b, FLOWTABLE_STATE_ESTABLISHED), 0);
	k.client_flowid = 3;
	assert_int_equal(flowtable_insert(ft, 0, &k, 3, 100, &c), 0);
	assert_int_equal(flowtable_set_state(ft, 0, c, FLOWTABLE_STATE_ESTABLISHED), 0);
	k.client_flowid = 4;
	assert_int_equal(flowtable_insert(ft, 0, &k, 4, 100, &d), 0);
	assert_int_equal(flowtable_set_state(ft, 0, d, FLOWTABLE_STATE_ESTABLISHED), 0);
	/* d is closed by a FIN: the closing timeout replaces the long one */
	assert_int_equal(flowtable_set_state(ft, 0, d, FLOWTABLE_STATE_CLOSING), 0);
	/* state never moves back */
	assert_int_equal(flowtable_set_state(ft, 0, d, FLOWTABLE_STATE_ESTABLISHED), 0);
	assert_int_equal(lookup1(ft, 0, d, 0, 100, &r), 1);
	assert_int_equal(r.state, FLOWTABLE_STATE_CLOSING);

	/* just before the half-open timeout: nothing goes */
	assert_int_equal(flowtable_expire(ft, 0, 100 + T_SYN - 1, 8), 0);
	assert_int_equal(flowtable_expire(ft, 0, 100 + T_SYN, 8), 1);
	assert_int_equal(lookup1(ft, 0, a, 0, 100 + T_SYN, &r), 0);
	/* flowtable_get reads without refreshing */
	assert_int_equal(flowtable_get(ft, b, &info), 0);
	assert_int_equal(info.last_seen, 100);

	/* traffic refreshes: c is seen at 500, b is not */
	assert_int_equal(lookup1(ft, 0, c, 0, 500, &r), 1);
	assert_int_equal(flowtable_expire(ft, 0, 100 + T_CLOSE, 8), 1);  /* d */
	assert_int_equal(lookup1(ft, 0, d, 0, 100 + T_CLOSE, &r), 0);
	assert_int_equal(flowtable_expire(ft, 0, 100 + T_EST - 1, 8), 0);
	assert_int_equal(flowtable_expire(ft, 0, 100 + T_EST, 8), 1);    /* b */
	assert_int_equal(lookup1(ft, 0, b, 0, 100 + T_EST, &r), 0);
	assert_int_equal(lookup1(ft, 0, c, 0, 100 + T_EST, &r), 1);
	/* an RST after a lookup at 100+T_EST: closes 20 ticks later */
	assert_int_equal(flowtable_set_state(ft, 0, c, FLOWTABLE_STATE_CLOSING), 0);
	assert_int_equal(flowtable_expire(ft, 0, 100 + T_EST + T_CLOSE - 1, 8), 0);
	assert_int_equal(flowtable_expire(ft, 0, 100 + T_EST + T_CLOSE, 8), 1);

	/* a clock behind last-seen never expires anything */
	k.client_flowid = 5;
	assert_int_equal(flowtable_insert(ft, 0, &k, 5, 1000000, &a), 0);
	assert_int_equal(flowtable_expire(ft, 0, 5, 8), 0);

	assert_int_equal(flowtable_stats_get(ft, &st), 0);
	assert_int_equal(st.expired, 4);
	assert_int_equal(st.expired_syn_seen, 1);
	assert_int_equal(st.flows, 1);
	flowtable_free(ft);
}

static void
test_aging_foreign_and_budget(void **state)
{
	struct flowtable *ft = ft_make(64, 2);
	struct flowtable_syn_key k = key_make(0x0a000001, 1, 1);
	struct flowtable_result r;
	uint32_t a, i, n;

	(void)state;
	assert_int_equal(flowtable_insert(ft, 1, &k, 1, 0, &a), 0);
	assert_int_equal(flowtable_set_state(ft, 0, a, FLOWTABLE_STATE_ESTABLISHED), 0);
	/* only worker 0 (not the owner) sees traffic */
	assert_int_equal(lookup1(ft, 0, flowtable_rfid_peer(a), 60, T_EST - 1, &r), 1);
	assert_int_equal(flowtable_expire(ft, 1, T_EST, 32), 0);
	assert_int_equal(flowtable_expire(ft, 0, 10 * T_EST, 32), 0); /* not its slice */
	assert_int_equal(lookup1(ft, 1, a, 0, T_EST, &r), 1);
	/* budget: 4 slots per call, 32 slots: the flow goes within 8 calls */
	n = 0;
	for (i = 0; i < 8; i++)
		n += flowtable_expire(ft, 1, 3 * T_EST, 4);
	assert_int_equal(n, 1);
	assert_int_equal(lookup1(ft, 1, a, 0, 3 * T_EST, &r), 0);
	flowtable_free(ft);
}

static void
test_migration(void **state)
{
	struct flowtable *ft = ft_make(16, 2);
	struct flowtable_syn_key k = key_make(0x0a000001, 0x55, 0x1122334455667788ull);
	struct flowtable_syn_key k2;
	struct flowtable_result r;
	struct flowtable_stats st;
	uint8_t bad[FLOWTABLE_NONCE_LEN];
	uint32_t rfid, got;

	(void)state;
	assert_int_equal(flowtable_insert(ft, 0, &k, 9, 0, &rfid), 0);
	assert_int_equal(flowtable_set_state(ft, 0, rfid, FLOWTABLE_STATE_ESTABLISHED), 0);

	memcpy(bad, k.nonce, sizeof(bad));
	bad[7] ^= 1;
	/* wrong nonce from a new address: refused, counted, nothing changed */
	assert_int_equal(flowtable_migrate(ft, 1, rfid, 0x0b000002, bad, 50), -EPERM);
	assert_int_equal(lookup1(ft, 1, rfid, 0, 50, &r), 1);
	assert_int_equal(r.client_ip, 0x0a000001);

	/* right nonce, on the other worker (the new address hashed there) */
	assert_int_equal(flowtable_migrate(ft, 1, rfid, 0x0b000002, k.nonce, 60), 0);
	assert_int_equal(lookup1(ft, 1, rfid, 0, 61, &r), 1);
	assert_int_equal(r.client_ip, 0x0b000002);
	assert_int_equal(r.target, 9);
	assert_int_equal(lookup1(ft, 0, flowtable_rfid_peer(rfid), 0, 62, &r), 1);
	assert_int_equal(r.client_ip, 0x0b000002);
	assert_int_equal(r.target, 9);

	/* the SYN index no longer answers for the old address */
	assert_int_equal(flowtable_find_syn_bulk(ft, 0, &k, 1, &got), 0);
	/* a new client that now holds the old address, same flowID and nonce
	 * by chance, gets a flow of its own, not the migrated one */
	assert_int_equal(flowtable_insert(ft, 0, &k, 4, 63, &got), 0);
	assert_int_not_equal(got, rfid);
	k2 = k;
	k2.client_ip = 0x0b000002;
	assert_int_equal(flowtable_find_syn_bulk(ft, 0, &k2, 1, &got), 0);

	/* migrating back with the right nonce works again */
	assert_int_equal(flowtable_migrate(ft, 0, rfid, 0x0a000001, k.nonce, 70), 0);
	assert_int_equal(lookup1(ft, 0, rfid, 0, 71, &r), 1);
	assert_int_equal(r.client_ip, 0x0a000001);
	/* a deleted flow cannot be migrated */
	assert_int_equal(flowtable_delete(ft, 0, rfid), 0);
	assert_int_equal(flowtable_migrate(ft, 1, rfid, 0x0c000003, k.nonce, 80), -ENOENT);

	assert_int_equal(flowtable_stats_get(ft, &st), 0);
	assert_int_equal(st.migrations, 2);
	assert_int_equal(st.nonce_mismatch, 1);
	flowtable_free(ft);
}

static void
test_migration_refreshes_aging(void **state)
{
	struct flowtable *ft = ft_make(4, 2);
	struct flowtable_syn_key k = key_make(0x0a000001, 1, 7);
	struct flowtable_result r;
	uint32_t rfid;

	(void)state;
	assert_int_equal(flowtable_insert(ft, 0, &k, 1, 0, &rfid), 0);
	assert_int_equal(flowtable_set_state(ft, 1, rfid, FLOWTABLE_STATE_ESTABLISHED), 0);
	assert_int_equal(flowtable_migrate(ft, 1, rfid, 0x0b000001, k.nonce, T_EST - 1), 0);
	assert_int_equal(flowtable_expire(ft, 0, T_EST, 2), 0);
	assert_int_equal(flowtable_expire(ft, 0, 2 * T_EST - 1, 2), 1);
	assert_int_equal(lookup1(ft, 1, rfid, 0, 2 * T_EST, &r), 0);
	flowtable_free(ft);
}

static void
test_syn_index(void **state)
{
	struct flowtable *ft = ft_make(256, 2);
	struct flowtable_syn_key keys[4];
	uint32_t rfid[64], got[4], dup, i;
	uint64_t hits;

	(void)state;
	/* many flows from one client address: all in one worker's index */
	for (i = 0; i < 64; i++) {
		struct flowtable_syn_key k = key_make(0x0a000001, 100 + i, i);

		assert_int_equal(flowtable_insert(ft, 1, &k, i, 0, &rfid[i]), 0);
	}
	keys[0] = key_make(0x0a000001, 100 + 17, 17);  /* retransmission */
	keys[1] = key_make(0x0a000001, 100 + 17, 18);  /* other nonce: new connection */
	keys[2] = key_make(0x0a000002, 100 + 17, 17);  /* other client */
	keys[3] = key_make(0x0a000001, 100 + 63, 63);
	hits = flowtable_find_syn_bulk(ft, 1, keys, 4, got);
	assert_int_equal(hits, 0x9);
	assert_int_equal(got[0], rfid[17]);
	assert_int_equal(got[3], rfid[63]);
	/* the index is per worker */
	assert_int_equal(flowtable_find_syn_bulk(ft, 0, keys, 4, got), 0);

	/* inserting the retransmission again is refused with the live flowID */
	assert_int_equal(flowtable_insert(ft, 1, &keys[0], 5, 0, &dup), -EEXIST);
	assert_int_equal(dup, rfid[17]);
	/* another worker (RSS re-steer) makes a duplicate half-open flow */
	assert_int_equal(flowtable_insert(ft, 0, &keys[0], 17, 0, &dup), 0);
	assert_int_not_equal(dup, rfid[17]);

	/* delete from the middle of chains; the rest is still found */
	for (i = 0; i < 64; i += 2)
		assert_int_equal(flowtable_delete(ft, 1, rfid[i]), 0);
	for (i = 0; i < 64; i++) {
		struct flowtable_syn_key k = key_make(0x0a000001, 100 + i, i);

		hits = flowtable_find_syn_bulk(ft, 1, &k, 1, got);
		assert_int_equal(hits, i & 1);
		if (hits)
			assert_int_equal(got[0], rfid[i]);
	}
	/* the SYN index finds flows in every live state */
	assert_int_equal(flowtable_set_state(ft, 1, rfid[1], FLOWTABLE_STATE_CLOSING), 0);
	keys[0] = key_make(0x0a000001, 101, 1);
	assert_int_equal(flowtable_find_syn_bulk(ft, 1, keys, 1, got), 1);
	flowtable_free(ft);
}

static void
test_full_table(void **state)
{
	struct flowtable *ft = ft_make(8, 2);   /* 4 slots per worker */
	struct flowtable_result r;
	struct flowtable_stats st;
	uint32_t rfid[5], x, i;

	(void)state;
	for (i = 0; i < 4; i++) {
		struct flowtable_syn_key k = key_make(0x0a000001, i + 1, i);

		assert_int_equal(flowtable_insert(ft, 0, &k, i, 0, &rfid[i]), 0);
	}
	{
		struct flowtable_syn_key k = key_make(0x0a000001, 99, 99);

		/* refused and counted, twice; the live flows are untouched */
		assert_int_equal(flowtable_insert(ft, 0, &k, 99, 0, &x), -ENOSPC);
		assert_int_equal(flowtable_insert(ft, 0, &k, 99, 0, &x), -ENOSPC);
		for (i = 0; i < 4; i++) {
			assert_int_equal(lookup1(ft, 0, rfid[i], 0, 0, &r), 1);
			assert_int_equal(r.target, i);
		}
		/* the other worker's slice still has room */
		assert_int_equal(flowtable_insert(ft, 1, &k, 99, 0, &x), 0);
		assert_int_equal(flowtable_stats_get(ft, &st), 0);
		assert_int_equal(st.insert_full, 2);
		assert_int_equal(st.flows, 5);
		/* expiry makes room again */
		assert_int_equal(flowtable_expire(ft, 0, T_SYN, 4), 4);
		assert_int_equal(flowtable_insert(ft, 0, &k, 99, T_SYN, &rfid[4]), 0);
		assert_int_equal(lookup1(ft, 0, rfid[4], 0, T_SYN, &r), 1);
		assert_int_equal(r.target, 99);
		for (i = 0; i < 4; i++)
			assert_int_equal(lookup1(ft, 0, rfid[i], 0, T_SYN, &r), 0);
	}
	flowtable_free(ft);
}

static struct rte_rcu_qsbr *
qsbr_make(uint32_t threads)
{
	size_t sz = rte_rcu_qsbr_get_memsize(threads);
	struct rte_rcu_qsbr *v = aligned_alloc(64, RTE_ALIGN_CEIL(sz, 64));

	assert_non_null(v);
	assert_int_equal(rte_rcu_qsbr_init(v, threads), 0);
	return v;
}

static void
test_rcu_deferred_reuse(void **state)
{
	struct flowtable *ft = ft_make(2, 1);   /* 2 slots */
	struct rte_rcu_qsbr *v = qsbr_make(2);
	struct flowtable_syn_key k = key_make(0x0a000001, 1, 1);
	struct flowtable_stats st;
	uint32_t a, b, c;

	(void)state;
	assert_int_equal(flowtable_rcu_attach(ft, v), 0);
	assert_int_equal(flowtable_rcu_attach(ft, v), -EEXIST);
	/* reader thread 1 is online and has not reported quiescence */
	assert_int_equal(rte_rcu_qsbr_thread_register(v, 1), 0);
	rte_rcu_qsbr_thread_online(v, 1);

	assert_int_equal(flowtable_insert(ft, 0, &k, 1, 0, &a), 0);
	k.client_flowid = 2;
	assert_int_equal(flowtable_insert(ft, 0, &k, 2, 0, &b), 0);
	assert_int_equal(flowtable_delete(ft, 0, a), 0);
	assert_int_equal(flowtable_stats_get(ft, &st), 0);
	assert_int_equal(st.reclaim_pending, 1);
	/* the freed slot is held while a reader may still use it */
	k.client_flowid = 3;
	assert_int_equal(flowtable_insert(ft, 0, &k, 3, 0, &c), -ENOSPC);
	assert_int_equal(flowtable_expire(ft, 0, 1, 2), 0);
	assert_int_equal(flowtable_insert(ft, 0, &k, 3, 0, &c), -ENOSPC);
	rte_rcu_qsbr_quiescent(v, 1);
	assert_int_equal(flowtable_insert(ft, 0, &k, 3, 0, &c), 0);
	assert_int_not_equal(c, a);
	assert_int_equal(flowtable_stats_get(ft, &st), 0);
	assert_int_equal(st.reclaim_pending, 0);
	assert_int_equal(st.insert_full, 2);

	/* expiry goes through the same deferral; expire itself reclaims */
	assert_int_equal(flowtable_expire(ft, 0, 1000 * T_EST, 2), 2);
	assert_int_equal(flowtable_stats_get(ft, &st), 0);
	assert_int_equal(st.reclaim_pending, 2);
	rte_rcu_qsbr_quiescent(v, 1);
	assert_int_equal(flowtable_expire(ft, 0, 1000 * T_EST, 2), 0);
	assert_int_equal(flowtable_stats_get(ft, &st), 0);
	assert_int_equal(st.reclaim_pending, 0);

	/* many single deletes: more batches than the batch ring holds merge */
	{
		struct flowtable *big = ft_make(512, 1);
		uint32_t ids[512], i, x;

		assert_int_equal(flowtable_rcu_attach(big, v), 0);
		for (i = 0; i < 512; i++) {
			k.client_flowid = i + 1;
			assert_int_equal(flowtable_insert(big, 0, &k, i, 0, &ids[i]), 0);
		}
		for (i = 0; i < 512; i++)
			assert_int_equal(flowtable_delete(big, 0, ids[i]), 0);
		k.client_flowid = 9999;
		assert_int_equal(flowtable_insert(big, 0, &k, 0, 0, &x), -ENOSPC);
		rte_rcu_qsbr_quiescent(v, 1);
		for (i = 0; i < 512; i++) {
			k.client_flowid = 10000 + i;
			assert_int_equal(flowtable_insert(big, 0, &k, i, 0, &x), 0);
		}
		assert_int_equal(flowtable_insert(big, 0, &k, 0, 0, &x), -EEXIST);
		k.client_flowid = 1;
		assert_int_equal(flowtable_insert(big, 0, &k, 0, 0, &x), -ENOSPC);
		flowtable_free(big);
	}
	rte_rcu_qsbr_thread_offline(v, 1);
	flowtable_free(ft);
	free(v);
}

struct walk_ctx {
	uint32_t n;
	uint32_t stop_at;
	uint64_t target_sum;
};

static int
walk_cb(const struct flowtable_flow_info *info, void *arg)
{
	struct walk_ctx *c = arg;

	c->n++;
	c->target_sum += info->r.target;
	return c->n == c->stop_at ? 42 : 0;
}

static void
test_walk(void **state)
{
	struct flowtable *ft = ft_make(100, 3);
	struct walk_ctx c;
	uint32_t rfid, i;

	(void)state;
	memset(&c, 0, sizeof(c));
	assert_int_equal(flowtable_walk(ft, walk_cb, &c), 0);
	assert_int_equal(c.n, 0);
	for (i = 0; i < 30; i++) {
		struct flowtable_syn_key k = key_make(0x0a000001, i + 1, i);

		assert_int_equal(flowtable_insert(ft, i % 3, &k, i, 0, &rfid), 0);
		if (i % 5 == 0)
			assert_int_equal(flowtable_delete(ft, i % 3, rfid), 0);
	}
	memset(&c, 0, sizeof(c));
	assert_int_equal(flowtable_walk(ft, walk_cb, &c), 0);
	assert_int_equal(c.n, 24);
	assert_int_equal(c.target_sum, 435 - (0 + 5 + 10 + 15 + 20 + 25));
	memset(&c, 0, sizeof(c));
	c.stop_at = 3;
	assert_int_equal(flowtable_walk(ft, walk_cb, &c), 42);
	assert_int_equal(c.n, 3);
	flowtable_free(ft);
}

/*
 * Randomised run against a brute-force model: a flat list of flows with
 * their owner, fields and last-seen time, searched linearly.
 */
struct model_flow {
	int live;
	uint32_t rfid;
	uint32_t owner;
	uint32_t ip;
	uint32_t fid;
	uint32_t ifid;
	uint32_t target;
	uint64_t nonce;
	uint32_t state;
	uint64_t seen;
	uint64_t pkts;
};

#define M_MAX 4096

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint32_t
rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state >> 11);
}

static struct model_flow *
model_find(struct model_flow *m, uint32_t n, uint32_t rfid)
{
	uint32_t i;

	for (i = 0; i < n; i++)
		if (m[i].live && m[i].rfid == (rfid & ~1u))
			return &m[i];
	return NULL;
}

static void
test_random_vs_model(void **state)
{
	enum { W = 3, CAP = 96, OPS = 60000 };
	static struct model_flow m[M_MAX];
	struct flowtable *ft = ft_make(CAP, W);
	uint32_t nm = 0, per_worker[W] = {0}, i;
	uint64_t now = 1, expired = 0;
	struct flowtable_stats st;

	(void)state;
	memset(m, 0, sizeof(m));
	for (i = 0; i < OPS; i++) {
		uint32_t op = rng() % 100, w = rng() % W;
		struct model_flow *f = NULL;
		struct flowtable_result r;
		uint32_t rfid = 0, j;
		int ret;

		now += rng() % 3;
		/* pick a flow id: mostly known (live or dead), sometimes junk */
		if (nm > 0 && rng() % 8 != 0)
			rfid = m[rng() % nm].rfid | (rng() & 1);
		else
			rfid = rng();

		if (op < 30) {
			struct flowtable_syn_key k;
			uint64_t nonce = rng() % 4;

			k = key_make(0x0a000000 | (rng() % 4), 1 + rng() % 16, nonce);
			f = NULL;
			for (j = 0; j < nm; j++)
				if (m[j].live && m[j].owner == w && m[j].ip == k.client_ip &&
						m[j].fid == k.client_flowid && m[j].nonce == nonce)
					f = &m[j];
			ret = flowtable_insert(ft, w, &k, i, now, &rfid);
			if (f != NULL) {
				assert_int_equal(ret, -EEXIST);
				assert_int_equal(rfid, f->rfid);
			} else if (per_worker[w] == CAP / W) {
				assert_int_equal(ret, -ENOSPC);
			} else {
				assert_int_equal(ret, 0);
				assert_null(model_find(m, nm, rfid));
				if (nm == M_MAX) {
					/* recycle dead model records */
					for (j = 0; j < nm && m[j].live; j++)
						;
					assert_true(j < nm);
					f = &m[j];
				} else {
					f = &m[nm++];
				}
				f->live = 1;
				f->rfid = rfid;
				f->owner = w;
				f->ip = k.client_ip;
				f->fid = k.client_flowid;
				f->ifid = 0;
				f->target = i;
				f->nonce = nonce;
				f->state = FLOWTABLE_STATE_SYN_SEEN;
				f->seen = now;
				f->pkts = 0;
				per_worker[w]++;
			}
		} else if (op < 70) {
			f = model_find(m, nm, rfid);
			ret = lookup1(ft, w, rfid, 10, now, &r);
			assert_int_equal(ret, f != NULL);
			if (f != NULL) {
				assert_int_equal(r.target, f->target);
				assert_int_equal(r.client_ip, f->ip);
				assert_int_equal(r.client_flowid, f->fid);
				assert_int_equal(r.instance_flowid, f->ifid);
				assert_int_equal(r.state, f->state);
				assert_int_equal(r.owner, f->owner);
				assert_int_equal(r.from_instance, rfid & 1);
				f->pkts++;
				if (now > f->seen)
					f->seen = now;
			}
		} else if (op < 75) {
			f = model_find(m, nm, rfid);
			ret = flowtable_delete(ft, w, rfid);
			if (f == NULL) {
				assert_int_equal(ret, -ENOENT);
			} else if (f->owner != w) {
				assert_int_equal(ret, -EXDEV);
			} else {
				assert_int_equal(ret, 0);
				f->live = 0;
				per_worker[w]--;
			}
		} else if (op < 85) {
			uint32_t st2 = 1 + rng() % 3;

			f = model_find(m, nm, rfid);
			ret = flowtable_set_state(ft, w, rfid, (enum flowtable_state)st2);
			assert_int_equal(ret, f != NULL ? 0 : -ENOENT);
			if (f != NULL && st2 > f->state)
				f->state = st2;
		} else if (op < 90) {
			uint32_t ifid = 1 + rng() % 3;

			f = model_find(m, nm, rfid);
			ret = flowtable_set_instance_flowid(ft, w, rfid, ifid);
			if (f == NULL) {
				assert_int_equal(ret, -ENOENT);
			} else if (f->ifid == 0 || f->ifid == ifid) {
				assert_int_equal(ret, 0);
				f->ifid = ifid;
			} else {
				assert_int_equal(ret, -EEXIST);
			}
		} else if (op < 95) {
			uint64_t nonce = rng() % 4;
			uint8_t nb[FLOWTABLE_NONCE_LEN];
			uint32_t ip = 0x0b000000 | (rng() % 4);

			memcpy(nb, &nonce, sizeof(nb));
			f = model_find(m, nm, rfid);
			ret = flowtable_migrate(ft, w, rfid, ip, nb, now);
			if (rfid & 1)
				assert_int_equal(ret, -EINVAL);
			else if (f == NULL)
				assert_int_equal(ret, -ENOENT);
			else if (f->nonce != nonce)
				assert_int_equal(ret, -EPERM);
			else {
				assert_int_equal(ret, 0);
				f->ip = ip;
				if (now > f->seen)
					f->seen = now;
			}
		} else {
			/* full sweep of one worker's slice */
			uint32_t want = 0, got;
			static const uint64_t to[] = {0, T_SYN, T_EST, T_CLOSE};

			for (j = 0; j < nm; j++) {
				f = &m[j];
				if (f->live && f->owner == w && now >= f->seen &&
						now - f->seen >= to[f->state]) {
					f->live = 0;
					per_worker[w]--;
					want++;
				}
			}
			got = flowtable_expire(ft, w, now, CAP / W);
			assert_int_equal(got, want);
			expired += got;
		}
	}
	assert_int_equal(flowtable_stats_get(ft, &st), 0);
	assert_int_equal(st.flows, per_worker[0] + per_worker[1] + per_worker[2]);
	assert_int_equal(st.expired, expired);
	/* every live model flow reads back with its counters */
	for (i = 0; i < nm; i++) {
		struct flowtable_flow_info info;

		if (!m[i].live)
			continue;
		assert_int_equal(flowtable_get(ft, m[i].rfid, &info), 0);
		assert_int_equal(info.pkts, m[i].pkts);
		assert_int_equal(info.bytes, m[i].pkts * 10);
		assert_int_equal(info.last_seen, m[i].seen);
	}
	flowtable_free(ft);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_invalid),
		cmocka_unit_test(test_calls_invalid),
		cmocka_unit_test(test_insert_lookup_delete),
		cmocka_unit_test(test_many_flows),
		cmocka_unit_test(test_stale_generation),
		cmocka_unit_test(test_aging),
		cmocka_unit_test(test_aging_foreign_and_budget),
		cmocka_unit_test(test_migration),
		cmocka_unit_test(test_migration_refreshes_aging),
		cmocka_unit_test(test_syn_index),
		cmocka_unit_test(test_full_table),
		cmocka_unit_test(test_rcu_deferred_reuse),
		cmocka_unit_test(test_walk),
		cmocka_unit_test(test_random_vs_model),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
