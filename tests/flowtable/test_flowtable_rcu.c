/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The serval-sr authors
 */

/*
 * Two lcores on one flow table. The main lcore is worker 0: it inserts
 * flows, closes and deletes some, and expires the rest on a fake clock, in a
 * slice so small that it can only go on if RCU reclamation works. The other
 * lcore is worker 1: it looks up flowIDs the writer published (some of them
 * long stale), migrates flows and records instance flowIDs as a non-owner.
 *
 * Every flow's fields are a known function of a serial number T chosen by
 * the writer, and the writer publishes (T, rfid) pairs. A reader hit must
 * show exactly the fields of T: a stale flowID that hit the slot's next flow,
 * or a half-written entry, would show another T's fields or a mix.
 *
 * EAL: --no-huge -m 512 --no-pci --file-prefix=flowtable_rcu -l 0-1.
 */

#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_random.h>
#include <rte_rcu_qsbr.h>

#include "flowtable.h"

#define SLOTS_PER_WORKER 64
#define N_PUB 1024
#define RUN_SECONDS 5
#define MAX_INSERTS 30000000u

/* The fields of flow number T. */
static inline uint32_t ip_first(uint32_t t) { return 0x0a000000u | (t & 0xffffff); }
static inline uint32_t ip_moved(uint32_t t) { return 0x0b000000u | (t & 0xffffff); }
static inline uint32_t fid_of(uint32_t t) { return t * 2654435761u | 1; }
static inline uint32_t ifid_of(uint32_t t) { return (t ^ 0x5a5a5a5au) | 1; }
static inline uint64_t nonce_of(uint32_t t) { return (uint64_t)t * 0x9e3779b97f4a7c15ull; }

struct shared {
	struct flowtable *ft;
	struct rte_rcu_qsbr *v;   /* NULL: lookups only, slots reused at once */
	uint64_t pub[N_PUB];   /* (T << 32) | rfid; relaxed atomics */
	uint64_t clock;        /* writer's fake clock; relaxed atomics */
	uint32_t latest;       /* newest T published; relaxed atomics */
	int stop;
	/* results of the reader */
	uint64_t hits;
	uint64_t misses;
	uint64_t bad;          /* hits whose fields do not belong to their T */
	uint64_t bad_ret;      /* calls that returned something impossible */
	uint64_t migrated;
	char first_bad[160];
};

static struct shared sh;

static void
note_bad(const char *what, uint32_t t, uint32_t rfid, uint32_t got)
{
	if (sh.bad + sh.bad_ret == 0)
		snprintf(sh.first_bad, sizeof(sh.first_bad),
			"%s: T=%u rfid=%#x got=%#x", what, t, rfid, got);
}

/* Does a hit on rfid show exactly the fields of flow T (old or new address,
 * instance flowID unknown or known)? */
static int
result_ok(const struct flowtable_result *r, uint32_t t, uint32_t rfid)
{
	if (r->target != t || r->client_flowid != fid_of(t) ||
			r->rfid != (rfid & ~1u) || r->from_instance != (rfid & 1) ||
			r->owner != 0)
		return 0;
	if (r->client_ip != ip_first(t) && r->client_ip != ip_moved(t))
		return 0;
	if (r->instance_flowid != 0 && r->instance_flowid != ifid_of(t))
		return 0;
	return r->state >= FLOWTABLE_STATE_SYN_SEEN &&
		r->state <= FLOWTABLE_STATE_CLOSING;
}

static int
reader(void *arg)
{
	struct flowtable_result res[32];
	uint32_t rfids[32], ts[32], i;
	uint8_t nb[FLOWTABLE_NONCE_LEN];

	(void)arg;
	if (sh.v != NULL)
		rte_rcu_qsbr_thread_online(sh.v, 1);
	/* relaxed: a stop flag, nothing else hangs off it */
	while (!__atomic_load_n(&sh.stop, __ATOMIC_RELAXED)) {
		uint64_t now = __atomic_load_n(&sh.clock, __ATOMIC_RELAXED);
		uint64_t hits;

		for (i = 0; i < 32; i++) {
			/* half of the picks among the newest flows, which are the
			 * live ones and the ones whose slots are being rewritten;
			 * relaxed: a hint */
			uint32_t pick = (i & 1) ? (uint32_t)(rte_rand() % N_PUB) :
				__atomic_load_n(&sh.latest, __ATOMIC_RELAXED) -
				(uint32_t)(rte_rand() % 8);
			/* relaxed: the pair is one word; its rfid may be stale */
			uint64_t p = __atomic_load_n(&sh.pub[pick % N_PUB],
				__ATOMIC_RELAXED);

			ts[i] = (uint32_t)(p >> 32);
			rfids[i] = (uint32_t)p | (uint32_t)(rte_rand() & 1);
		}
		hits = flowtable_lookup_bulk(sh.ft, 1, rfids, NULL, 32, res, now);
		for (i = 0; i < 32; i++) {
			const struct flowtable_result *r = &res[i];
			uint32_t t = ts[i];

			if (rfids[i] == 0 || !(hits & (UINT64_C(1) << i))) {
				sh.misses++;
				continue;
			}
			sh.hits++;
			if (!result_ok(r, t, rfids[i])) {
				note_bad("lookup", t, rfids[i], r->target);
				sh.bad++;
				continue;
			}
			/* a non-owner's write after its check is safe only while
			 * RCU holds the slot back from reuse */
			if (sh.v == NULL)
				continue;
			switch (rte_rand() % 8) {
			case 0: {
				uint64_t n = nonce_of(t);
				int ret;

				memcpy(nb, &n, sizeof(nb));
				ret = flowtable_migrate(sh.ft, 1, rfids[i] & ~1u,
					ip_moved(t), nb, now);
				if (ret == 0)
					sh.migrated++;
				else if (ret != -ENOENT) {
					note_bad("migrate", t, rfids[i], (uint32_t)ret);
					sh.bad_ret++;
				}
				/* a wrong nonce must never be taken */
				n ^= 1;
				memcpy(nb, &n, sizeof(nb));
				ret = flowtable_migrate(sh.ft, 1, rfids[i] & ~1u,
					0x0c000001, nb, now);
				if (ret != -EPERM && ret != -ENOENT) {
					note_bad("bad nonce", t, rfids[i], (uint32_t)ret);
					sh.bad_ret++;
				}
				break;
			}
			case 1: {
				int ret = flowtable_set_instance_flowid(sh.ft, 1, rfids[i],
					ifid_of(t));

				if (ret != 0 && ret != -ENOENT) {
					note_bad("ifid", t, rfids[i], (uint32_t)ret);
					sh.bad_ret++;
				}
				break;
			}
			case 2: {
				int ret = flowtable_set_state(sh.ft, 1, rfids[i],
					FLOWTABLE_STATE_ESTABLISHED);

				if (ret != 0 && ret != -ENOENT) {
					note_bad("state", t, rfids[i], (uint32_t)ret);
					sh.bad_ret++;
				}
				break;
			}
			default:
				break;
			}
		}
		/* bottom of the loop: no result or flowID is used past here */
		if (sh.v != NULL)
			rte_rcu_qsbr_quiescent(sh.v, 1);
	}
	if (sh.v != NULL)
		rte_rcu_qsbr_thread_offline(sh.v, 1);
	return 0;
}

/*
 * Writer loop on the main lcore (worker 0). With RCU: insert, close or
 * delete, expire; the slice is small, so it runs only if reclamation does.
 * Without RCU: insert and delete at once in a slice of a few slots, so the
 * reader's stale flowIDs keep racing with rewrites of their slot and only
 * the per-slot sequence word keeps the reader's snapshots whole.
 */
static void
run(uint32_t slots, int with_rcu)
{
	struct flowtable_conf c;
	struct flowtable_stats st;
	uint32_t reader_lcore, t = 1, full = 0, deleted = 0, n_live = 0;
	uint32_t live[SLOTS_PER_WORKER];
	uint64_t now = 1, end, expired = 0;

	memset(&sh, 0, sizeof(sh));
	memset(&c, 0, sizeof(c));
	c.name = "ft_rcu";
	c.max_flows = 2 * slots;
	c.n_workers = 2;
	c.socket_id = SOCKET_ID_ANY;
	c.timeout[FLOWTABLE_STATE_SYN_SEEN] = 40;
	c.timeout[FLOWTABLE_STATE_ESTABLISHED] = 60;
	c.timeout[FLOWTABLE_STATE_CLOSING] = 10;
	sh.ft = flowtable_create(&c);
	assert_non_null(sh.ft);

	if (with_rcu) {
		size_t sz = rte_rcu_qsbr_get_memsize(2);

		sh.v = rte_zmalloc("ft_rcu_qsbr", sz, RTE_CACHE_LINE_SIZE);
		assert_non_null(sh.v);
		assert_int_equal(rte_rcu_qsbr_init(sh.v, 2), 0);
		assert_int_equal(rte_rcu_qsbr_thread_register(sh.v, 0), 0);
		assert_int_equal(rte_rcu_qsbr_thread_register(sh.v, 1), 0);
		assert_int_equal(flowtable_rcu_attach(sh.ft, sh.v), 0);
		rte_rcu_qsbr_thread_online(sh.v, 0);
	}

	reader_lcore = rte_get_next_lcore(rte_lcore_id(), 1, 0);
	assert_int_equal(rte_eal_remote_launch(reader, NULL, reader_lcore), 0);

	end = rte_get_timer_cycles() + RUN_SECONDS * rte_get_timer_hz();
	while (t < MAX_INSERTS && rte_get_timer_cycles() < end) {
		struct flowtable_syn_key k;
		uint64_t n = nonce_of(t);
		uint32_t rfid;
		int ret;

		k.client_ip = ip_first(t);
		k.client_flowid = fid_of(t);
		memcpy(k.nonce, &n, sizeof(k.nonce));
		ret = flowtable_insert(sh.ft, 0, &k, t, now, &rfid);
		if (ret == 0) {
			/* relaxed: the reader validates the pair through the table */
			__atomic_store_n(&sh.pub[t % N_PUB], ((uint64_t)t << 32) | rfid,
				__ATOMIC_RELAXED);
			__atomic_store_n(&sh.latest, t, __ATOMIC_RELAXED); /* relaxed: a hint */
			if (n_live < SLOTS_PER_WORKER)
				live[n_live++] = rfid;
			t++;
		} else {
			assert_int_equal(ret, -ENOSPC);
			full++;
		}
		if (!with_rcu) {
			/* keep the oldest flow in each slot briefly, then reuse it */
			if (n_live == slots) {
				assert_int_equal(flowtable_delete(sh.ft, 0, live[0]), 0);
				deleted++;
				memmove(live, live + 1, (n_live - 1) * sizeof(live[0]));
				n_live--;
			}
			continue;
		}
		/* close or delete some flows as their owner */
		if (n_live > 0 && (t & 7) == 0) {
			uint32_t j = (uint32_t)(rte_rand() % n_live);

			if (t & 8) {
				ret = flowtable_delete(sh.ft, 0, live[j]);
				if (ret == 0)
					deleted++;
			} else {
				ret = flowtable_set_state(sh.ft, 0, live[j],
					FLOWTABLE_STATE_CLOSING);
			}
			assert_true(ret == 0 || ret == -ENOENT);
			live[j] = live[--n_live];
		}
		expired += flowtable_expire(sh.ft, 0, now, 16);
		now++;
		/* relaxed: only a time sample for the reader */
		__atomic_store_n(&sh.clock, now, __ATOMIC_RELAXED);
		rte_rcu_qsbr_quiescent(sh.v, 0);
	}
	__atomic_store_n(&sh.stop, 1, __ATOMIC_RELAXED); /* relaxed: a stop flag */
	assert_int_equal(rte_eal_wait_lcore(reader_lcore), 0);
	if (with_rcu)
		rte_rcu_qsbr_thread_offline(sh.v, 0);

	assert_int_equal(flowtable_stats_get(sh.ft, &st), 0);
	print_message("%s: inserts %u (slice %u), refused while full %u, deleted %u, "
		"expired %" PRIu64 ", reader hits %" PRIu64 " misses %" PRIu64
		" migrations %" PRIu64 "\n", with_rcu ? "rcu" : "no rcu", t - 1, slots,
		full, deleted, expired, sh.hits, sh.misses, sh.migrated);
	if (sh.bad + sh.bad_ret != 0)
		print_message("first inconsistency: %s\n", sh.first_bad);
	assert_int_equal(sh.bad, 0);
	assert_int_equal(sh.bad_ret, 0);
	/* the run reused every slot many times */
	assert_true(t - 1 > 20 * slots);
	assert_true(sh.hits > 1000);
	assert_int_equal(st.inserts, t - 1);
	assert_int_equal(st.deletes, deleted);
	assert_int_equal(st.expired, expired);
	assert_int_equal(st.insert_full, full);
	assert_int_equal(st.foreign_hits, sh.hits);
	if (with_rcu) {
		assert_true(sh.migrated > 0);
		assert_int_equal(st.migrations, sh.migrated);
	}

	flowtable_free(sh.ft);
	rte_free(sh.v);
}

static void
test_rcu_churn(void **state)
{
	(void)state;
	run(SLOTS_PER_WORKER, 1);
}

static void
test_seqlock_no_rcu(void **state)
{
	(void)state;
	run(4, 0);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rcu_churn),
		cmocka_unit_test(test_seqlock_no_rcu),
	};
	int ret;

	ret = rte_eal_init(argc, argv);
	if (ret < 0) {
		fprintf(stderr, "rte_eal_init failed: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	if (rte_lcore_count() < 2) {
		printf("skipped: needs 2 lcores, have %u\n", rte_lcore_count());
		rte_eal_cleanup();
		return 77;
	}
	ret = cmocka_run_group_tests(tests, NULL, NULL);
	rte_eal_cleanup();
	return ret;
}
