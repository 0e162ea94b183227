/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The serval-sr authors
 */

/*
 * bench_svctable: lib/svctable against DPDK's rte_fib6 (RTE_FIB6_TRIE, 4-byte
 * next hops) measured in the same run on the same core.
 *
 * Cases (per size and prefix-length mix):
 *  - lookup: svctable_lookup_bulk (256-bit keys) vs rte_fib6_lookup_bulk on
 *    the first 128 bits of the same keys (prefix lengths capped at 128),
 *    bulk 32, keys that hit (under a random prefix) and keys that miss
 *    (random 256-bit values); ratio = our rate / fib6 rate;
 *  - memory: bytes per prefix (trie alone, and everything);
 *  - update: single-prefix inserts per second on the main lcore while a
 *    reader lcore looks up without pause (QSBR attached, the writer
 *    reclaims as it goes); the reader's rate before and during the churn;
 *    baseline: rte_fib6_add per second (no reader);
 *  - pick: svctable_pick_bulk (32) vs a weighted random scan (the original
 *    Serval choice: hash mod total weight, walk the targets).
 *
 * Mixes: "real" (most prefixes /16../96 under 4096 provider prefixes, some
 * longer, 10% exact /256 services, 5% short aggregates) and "unif" (random
 * keys, lengths uniform in 0..256).
 *
 * Usage: bench_svctable [EAL args] -- [--json] [--full] [--sizes a,b,c]
 *                                     [--mix real|unif] [--seconds s]
 * Lookup rates are the best of many short trials (the machines these run
 * on are shared); update rates are also given per second of the writer's
 * and the reader's own CPU time.
 * The default (meson benchmark) runs 100k prefixes; --full runs 1k, 100k and
 * 1M (give the EAL -m 10240 for the 1M rte_fib6 baselines; a baseline whose
 * tables do not fit the EAL heap is reported as skipped).
 */

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_fib6.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_memory.h>
#include <rte_pause.h>
#include <rte_rcu_qsbr.h>

#include "svctable.h"

#define BULK 32
#define N_QUERY (1u << 18)

struct pfx {
	struct svctable_key key;
	uint16_t len;
};

static bool opt_json;
static double opt_seconds = 1.0;

static uint64_t
rnd(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void
rnd_key(uint64_t *s, struct svctable_key *k)
{
	unsigned int i;

	for (i = 0; i < 32; i += 8) {
		uint64_t v = rnd(s);

		memcpy(k->bytes + i, &v, 8);
	}
}

/* ------------------------------------------------------------ workloads */

static void
gen_real(struct pfx *p, uint32_t n, uint64_t seed)
{
	enum { NPROV = 4096 };
	static struct svctable_key prov[NPROV];
	uint64_t s = seed;
	uint32_t i;

	for (i = 0; i < NPROV; i++)
		rnd_key(&s, &prov[i]);
	for (i = 0; i < n; i++) {
		uint32_t c = (uint32_t)(rnd(&s) % 100);
		double u = (double)(rnd(&s) >> 11) * 0x1p-53;
		/* skewed: a few big providers, many small ones */
		const struct svctable_key *pv = &prov[(uint32_t)(u * u * NPROV)];
		unsigned int len;

		rnd_key(&s, &p[i].key);
		if (c < 5) {
			len = 16 + (unsigned int)(rnd(&s) % 16);    /* aggregates */
		} else {
			memcpy(p[i].key.bytes, pv->bytes, 6);       /* provider /48 */
			if (c < 20)
				len = 32 + (unsigned int)(rnd(&s) % 17);
			else if (c < 75)
				len = 49 + (unsigned int)(rnd(&s) % 48);
			else if (c < 90)
				len = 97 + (unsigned int)(rnd(&s) % 159);
			else
				len = 256;                          /* exact services */
		}
		svctable_key_mask(&p[i].key, len);
		p[i].len = (uint16_t)len;
	}
}

static void
gen_unif(struct pfx *p, uint32_t n, uint64_t seed)
{
	uint64_t s = seed;
	uint32_t i;

	for (i = 0; i < n; i++) {
		rnd_key(&s, &p[i].key);
		p[i].len = (uint16_t)(rnd(&s) % 257);
		svctable_key_mask(&p[i].key, p[i].len);
	}
}

static void
gen_queries(struct svctable_key *q, uint32_t nq, const struct pfx *p, uint32_t n,
		bool hit, uint64_t seed)
{
	uint64_t s = seed;
	uint32_t i;

	for (i = 0; i < nq; i++) {
		struct svctable_key tail;
		const struct pfx *e;
		unsigned int b;

		rnd_key(&s, &tail);
		if (!hit) {
			q[i] = tail;
			continue;
		}
		e = &p[rnd(&s) % n];
		q[i] = e->key;
		for (b = e->len; b < 256; b++)
			q[i].bytes[b >> 3] |= tail.bytes[b >> 3] & (uint8_t)(0x80u >> (b & 7));
	}
}

/* ------------------------------------------------------------- output */

struct result {
	const char *name;
	const char *mix;
	uint32_t prefixes;
	double rate;          /* ops per second */
	double base_rate;     /* baseline ops per second, 0 if skipped */
	const char *baseline;
	double bytes_per_prefix;
	double trie_bytes_per_prefix;
	double base_bytes_per_prefix;
	const char *extra;
};

static void
report(const struct result *r)
{
	double ratio = r->base_rate > 0 ? r->rate / r->base_rate : 0;

	if (opt_json) {
		printf("{\"name\":\"%s\",\"mix\":\"%s\",\"prefixes\":%u,"
				"\"ops_per_s\":%.0f,\"ns_per_op\":%.2f,",
				r->name, r->mix, r->prefixes, r->rate, 1e9 / r->rate);
		if (r->bytes_per_prefix > 0)
			printf("\"bytes_per_prefix\":%.1f,\"trie_bytes_per_prefix\":%.1f,",
					r->bytes_per_prefix, r->trie_bytes_per_prefix);
		if (r->base_bytes_per_prefix > 0)
			printf("\"baseline_bytes_per_prefix\":%.1f,",
					r->base_bytes_per_prefix);
		printf("\"baseline\":\"%s\",", r->baseline);
		if (r->base_rate > 0)
			printf("\"baseline_ops_per_s\":%.0f,\"ratio\":%.3f",
					r->base_rate, ratio);
		else
			printf("\"baseline_ops_per_s\":null,\"ratio\":null");
		if (r->extra != NULL)
			printf(",%s", r->extra);
		printf("}\n");
		fflush(stdout);
		return;
	}
	printf("%-16s %-4s %8u %10.2f %8.1f ", r->name, r->mix, r->prefixes,
			r->rate / 1e6, 1e9 / r->rate);
	if (r->base_rate > 0)
		printf("%10.2f %6.2fx", r->base_rate / 1e6, ratio);
	else
		printf("%10s %7s", "skipped", "-");
	if (r->bytes_per_prefix > 0)
		printf("  %6.1f %6.1f", r->trie_bytes_per_prefix, r->bytes_per_prefix);
	if (r->base_bytes_per_prefix > 0)
		printf(" (fib6 %.0f)", r->base_bytes_per_prefix);
	if (r->extra != NULL)
		printf("  %s", r->extra);
	printf("\n");
	fflush(stdout);
}

/* ---------------------------------------------------------- our table */

static struct svctable *
build_table(const struct pfx *p, uint32_t n, uint32_t max_rules, double *ins_rate)
{
	struct svctable_conf conf = { .max_rules = max_rules, .socket_id = 0 };
	struct svctable *t = svctable_create(&conf);
	struct svctable_rule_conf rc = { .action = SVCTABLE_ACTION_LOCAL };
	uint64_t t0;
	uint32_t i;

	if (t == NULL)
		return NULL;
	t0 = rte_rdtsc();
	/* batches of 4096 per transaction: a config load, not single ops */
	for (i = 0; i < n; i += 4096) {
		struct svctable_txn *x = svctable_txn_begin(t);
		uint32_t j;

		for (j = i; j < n && j < i + 4096; j++) {
			rc.id = j;
			if (svctable_txn_add(x, &p[j].key, p[j].len, &rc) != 0)
				abort();
		}
		if (svctable_txn_commit(x) != 0)
			abort();
	}
	*ins_rate = n / ((double)(rte_rdtsc() - t0) / rte_get_tsc_hz());
	return t;
}

/*
 * One trial: TRIAL lookups in bursts of 32, timed with the TSC. The machine
 * is shared, so a trial can only be slowed down by others: the benchmark
 * runs many short trials, alternating ours and the baseline, and keeps the
 * fastest of each (min-of-N).
 */
#define TRIAL (1u << 14)

static uint64_t
trial_ours(const struct svctable *t, const struct svctable_key *q, uint32_t nq,
		uint32_t *pos)
{
	const struct svctable_key *kp[BULK];
	const struct svctable_rule *res[BULK];
	uint64_t t0 = rte_rdtsc(), sink = 0;
	uint32_t i = *pos, done, j;

	for (done = 0; done < TRIAL; done += BULK) {
		for (j = 0; j < BULK; j++)
			kp[j] = &q[(i + j) & (nq - 1)];
		sink += svctable_lookup_bulk(t, kp, BULK, res);
		i = (i + BULK) & (nq - 1);
	}
	*pos = i;
	if (sink == UINT64_MAX)
		printf("!");
	return rte_rdtsc() - t0;
}

/* ---------------------------------------------------------- rte_fib6 */

/*
 * tbl8 groups rte_fib6's TRIE must have: it reserves, per route longer than
 * /24, one group per 8-bit level between the route and its covering route
 * (or /24), and refuses a route when the reservations would exceed the pool.
 * Without the covering-route discount this is an upper bound.
 */
static uint64_t
fib6_tbl8_reserve(const struct pfx *p, uint32_t n)
{
	uint64_t sum = 0;
	uint32_t i;

	for (i = 0; i < n; i++) {
		unsigned int depth = p[i].len > 128 ? 128 : p[i].len;

		if (depth > 24)
			sum += (((depth + 7) & ~7u) - 24) / 8;
	}
	return sum;
}

static struct rte_fib6 *
build_fib6(const struct pfx *p, uint32_t n, const char *name, double *bytes,
		double *add_rate, const char **why)
{
	static char msg[128];
	struct rte_fib6_conf conf;
	struct rte_malloc_socket_stats st;
	uint64_t tbl8 = fib6_tbl8_reserve(p, n) + 1024, need, t0;
	uint32_t cnt[130] = { 0 }, *ord, i;
	struct rte_fib6 *f = NULL;
	int ret = 0;

	/*
	 * Routes go in shortest first. In generation order, DPDK 22.11's TRIE
	 * answered a /1 route (added after longer ones) for nearly every key
	 * under the longer routes of the uniform mix (0.1% agreement with
	 * svctable); shortest first it agrees fully. A table means the same
	 * whatever the order, so this is fair. Stable: a later duplicate wins,
	 * as in svctable.
	 */
	ord = malloc((size_t)n * sizeof(*ord));
	if (ord == NULL)
		abort();
	for (i = 0; i < n; i++)
		cnt[(p[i].len > 128 ? 128 : p[i].len) + 1]++;
	for (i = 1; i < 130; i++)
		cnt[i] += cnt[i - 1];
	for (i = 0; i < n; i++)
		ord[cnt[p[i].len > 128 ? 128 : p[i].len]++] = i;

	/* the reservation bound is not always enough: grow until it fits
	 * or the EAL heap runs out */
	for (;; tbl8 += tbl8 / 4) {
		memset(&conf, 0, sizeof(conf));
		conf.type = RTE_FIB6_TRIE;
		conf.default_nh = 0;
		conf.max_routes = (int)n + 16;
		/* 4-byte next hops: enough to name every rule, and the
		 * smallest size allowing more than 32767 tbl8 groups */
		conf.trie.nh_sz = RTE_FIB6_TRIE_4B;
		conf.trie.num_tbl8 = (uint32_t)(tbl8 < INT32_MAX ? tbl8 : INT32_MAX);
		/* tbl8 pool and tbl24 are allocated up front, the rib grows */
		need = tbl8 * 256 * 4 + (1ull << 24) * 4;
		rte_malloc_get_socket_stats(0, &st);
		/* the TRIE computes tbl8 entry offsets in 32 bits: beyond 2^23
		 * groups of 256 it overflows (and crashes in rte_fib6_add) */
		if (tbl8 >= (1u << 23)) {
			snprintf(msg, sizeof(msg), "\"baseline_skipped\":\"needs %.1fM tbl8 "
					"groups, beyond rte_fib6 TRIE's 8.4M\"", tbl8 / 1e6);
			*why = msg;
			free(ord);
			return NULL;
		}
		if (need + (uint64_t)n * 2 * 96 > st.greatest_free_size) {
			snprintf(msg, sizeof(msg), "\"baseline_skipped\":\"needs %.1f GB "
					"of EAL memory%s\"", (need + (uint64_t)n * 2 * 96) / 1e9,
					ret != 0 ? " (pool grown after ENOSPC)" : "");
			*why = msg;
			free(ord);
			return NULL;
		}
		f = rte_fib6_create(name, 0, &conf);
		if (f == NULL) {
			*why = "\"baseline_skipped\":\"rte_fib6_create failed\"";
			free(ord);
			return NULL;
		}
		t0 = rte_rdtsc();
		for (i = 0, ret = 0; i < n && ret == 0; i++) {
			uint32_t k = ord[i];

			ret = rte_fib6_add(f, p[k].key.bytes,
					(uint8_t)(p[k].len > 128 ? 128 : p[k].len), k + 1);
		}
		if (ret == 0)
			break;
		rte_fib6_free(f);
		if (ret != -ENOSPC) {
			snprintf(msg, sizeof(msg), "\"baseline_skipped\":\"rte_fib6_add: "
					"%s\"", strerror(-ret));
			*why = msg;
			free(ord);
			return NULL;
		}
	}
	*add_rate = n / ((double)(rte_rdtsc() - t0) / rte_get_tsc_hz());
	*bytes = (double)need / n;
	free(ord);
	return f;
}

static uint64_t
trial_fib6(struct rte_fib6 *f, uint8_t (*ips)[16], uint32_t nq, uint32_t *pos)
{
	uint64_t nh[BULK], t0 = rte_rdtsc(), sink = 0;
	uint32_t i = *pos, done;

	for (done = 0; done < TRIAL; done += BULK) {
		rte_fib6_lookup_bulk(f, &ips[i], nh, BULK);
		sink += nh[0];
		i = (i + BULK) & (nq - 1);
	}
	*pos = i;
	if (sink == UINT64_MAX)
		printf("!");
	return rte_rdtsc() - t0;
}

/* best-of-N rates, ours and (if f) the baseline's, interleaved */
static void
time_lookups(const struct svctable *t, struct rte_fib6 *f,
		const struct svctable_key *q, uint8_t (*ips)[16], uint32_t nq,
		double *ours, double *base)
{
	uint64_t hz = rte_get_tsc_hz(), best_o = UINT64_MAX, best_b = UINT64_MAX;
	uint64_t t0 = rte_rdtsc();
	uint32_t po = 0, pb = 0, n = 0, w;

	/* warm both over the whole query set first (positions wrap) */
	for (w = 0; w < nq / TRIAL; w++) {
		trial_ours(t, q, nq, &po);
		if (f != NULL)
			trial_fib6(f, ips, nq, &pb);
	}
	do {
		uint64_t d = trial_ours(t, q, nq, &po);

		best_o = d < best_o ? d : best_o;
		if (f != NULL) {
			d = trial_fib6(f, ips, nq, &pb);
			best_b = d < best_b ? d : best_b;
		}
		n++;
	} while (n < 16 || rte_rdtsc() - t0 < opt_seconds * hz);
	*ours = TRIAL / ((double)best_o / hz);
	*base = f != NULL ? TRIAL / ((double)best_b / hz) : 0;
}

/* ------------------------------------------------------ update + reader */

struct reader_arg {
	const struct svctable *t;
	struct rte_rcu_qsbr *v;
	const struct svctable_key *q;
	uint32_t nq;
	uint64_t lookups;     /* [reader] relaxed stores, main reads */
	uint64_t cpu_ns;      /* [reader] its own CPU time, same */
	bool stop;
};

static uint64_t
thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static double
loadavg(void)
{
	double l = -1;
	FILE *f = fopen("/proc/loadavg", "r");

	if (f != NULL) {
		if (fscanf(f, "%lf", &l) != 1)
			l = -1;
		fclose(f);
	}
	return l;
}

static int
reader_loop(void *p)
{
	struct reader_arg *a = p;
	const struct svctable_key *kp[BULK];
	const struct svctable_rule *res[BULK];
	unsigned int id = rte_lcore_id();
	uint64_t n = 0;
	uint32_t i = 0, j;

	rte_rcu_qsbr_thread_register(a->v, id);
	rte_rcu_qsbr_thread_online(a->v, id);
	while (!__atomic_load_n(&a->stop, __ATOMIC_RELAXED)) {
		for (j = 0; j < BULK; j++)
			kp[j] = &a->q[(i + j) & (a->nq - 1)];
		svctable_lookup_bulk(a->t, kp, BULK, res);
		i = (i + BULK) & (a->nq - 1);
		n += BULK;
		if ((n & (256 * BULK - 1)) == 0) {
			/* both together, so main can pair them */
			__atomic_store_n(&a->cpu_ns, thread_cpu_ns(), __ATOMIC_RELAXED);
			__atomic_store_n(&a->lookups, n, __ATOMIC_RELEASE);
		}
		rte_rcu_qsbr_quiescent(a->v, id);
	}
	rte_rcu_qsbr_thread_offline(a->v, id);
	rte_rcu_qsbr_thread_unregister(a->v, id);
	return 0;
}

/* lookups per wall second and per second of the reader's own CPU time */
struct rsample {
	uint64_t tsc;
	uint64_t lookups;
	uint64_t cpu_ns;
};

static void
rsample(struct reader_arg *a, struct rsample *s)
{
	uint64_t again;

	/* the reader stores cpu_ns, then lookups (release): re-read until
	 * both belong to the same update, and only once there is one */
	do {
		s->tsc = rte_rdtsc();
		s->lookups = __atomic_load_n(&a->lookups, __ATOMIC_ACQUIRE);
		s->cpu_ns = __atomic_load_n(&a->cpu_ns, __ATOMIC_RELAXED);
		again = __atomic_load_n(&a->lookups, __ATOMIC_ACQUIRE);
	} while (s->lookups == 0 || again != s->lookups);
}

static void
rrates(const struct rsample *s0, const struct rsample *s1, double *wall, double *cpu)
{
	double dl = (double)(s1->lookups - s0->lookups);

	*wall = dl / ((double)(s1->tsc - s0->tsc) / rte_get_tsc_hz());
	*cpu = s1->cpu_ns > s0->cpu_ns ? dl / ((s1->cpu_ns - s0->cpu_ns) * 1e-9) : 0;
}

static void
bench_update(const char *mix, const struct pfx *p, uint32_t n, const struct pfx *extra,
		uint32_t n_extra, const struct svctable_key *q, double fib6_add_rate)
{
	struct svctable_rule_conf rc = { .action = SVCTABLE_ACTION_LOCAL };
	size_t sz = rte_rcu_qsbr_get_memsize(RTE_MAX_LCORE);
	struct reader_arg ra;
	struct rte_rcu_qsbr *v;
	struct svctable *t;
	unsigned int lc = rte_get_next_lcore(-1, 1, 0);
	uint64_t hz = rte_get_tsc_hz(), t0, c0, again = 0;
	double idle, busy, idle_cpu, busy_cpu, ins, ins_cpu, del, del_cpu, dummy;
	struct rsample s0, s1;
	struct result r;
	char extra_json[640];
	uint32_t i;
	int ret;

	if (lc >= RTE_MAX_LCORE) {
		printf("# update: skipped, needs 2 lcores\n");
		return;
	}
	v = rte_zmalloc(NULL, sz, RTE_CACHE_LINE_SIZE);
	if (v == NULL || rte_rcu_qsbr_init(v, RTE_MAX_LCORE) != 0)
		return;
	t = build_table(p, n, n + n_extra + 16, &dummy);
	if (t == NULL) {
		rte_free(v);
		return;
	}
	svctable_rcu_attach(t, v);
	memset(&ra, 0, sizeof(ra));
	ra.t = t;
	ra.v = v;
	ra.q = q;
	ra.nq = N_QUERY;
	rte_eal_remote_launch(reader_loop, &ra, lc);
	rsample(&ra, &s0);
	t0 = rte_rdtsc();
	while (rte_rdtsc() - t0 < hz) /* the reader alone for a second */
		rte_pause();
	rsample(&ra, &s1);
	rrates(&s0, &s1, &idle, &idle_cpu);

	/* churn: single-prefix transactions, as registrations arrive */
	rsample(&ra, &s0);
	c0 = thread_cpu_ns();
	t0 = rte_rdtsc();
	for (i = 0; i < n_extra; i++) {
		rc.id = n + i;
		while ((ret = svctable_insert(t, &extra[i].key, extra[i].len, &rc)) == -EAGAIN) {
			again++;
			svctable_reclaim(t);
		}
		if (ret != 0 && ret != -ENOSPC)
			abort();
	}
	ins = n_extra / ((double)(rte_rdtsc() - t0) / hz);
	ins_cpu = n_extra / ((thread_cpu_ns() - c0) * 1e-9);
	rsample(&ra, &s1);
	rrates(&s0, &s1, &busy, &busy_cpu);
	c0 = thread_cpu_ns();
	t0 = rte_rdtsc();
	for (i = 0; i < n_extra; i++) {
		while ((ret = svctable_delete(t, &extra[i].key, extra[i].len)) == -EAGAIN) {
			again++;
			svctable_reclaim(t);
		}
	}
	del = n_extra / ((double)(rte_rdtsc() - t0) / hz);
	del_cpu = n_extra / ((thread_cpu_ns() - c0) * 1e-9);
	__atomic_store_n(&ra.stop, true, __ATOMIC_RELAXED);
	rte_eal_wait_lcore(lc);
	svctable_reclaim(t);

	snprintf(extra_json, sizeof(extra_json),
			opt_json ? "\"inserts_per_writer_cpu_s\":%.0f,\"deletes_per_s\":%.0f,"
			"\"deletes_per_writer_cpu_s\":%.0f,"
			"\"reader_idle_lookups_per_s\":%.0f,\"reader_churn_lookups_per_s\":%.0f,"
			"\"reader_drop_pct\":%.1f,\"reader_idle_lookups_per_cpu_s\":%.0f,"
			"\"reader_churn_lookups_per_cpu_s\":%.0f,\"reader_cpu_drop_pct\":%.1f,"
			"\"eagain_retries\":%llu,\"loadavg\":%.2f" :
			"per writer-CPU-s %.0f; del %.0f/s (%.0f per CPU-s); reader %.2f -> %.2f "
			"M/s (%.1f%% drop), per reader-CPU-s %.2f -> %.2f M (%.1f%% drop); "
			"%llu EAGAIN; load %.2f",
			ins_cpu, del, del_cpu,
			opt_json ? idle : idle / 1e6, opt_json ? busy : busy / 1e6,
			100 * (1 - busy / idle),
			opt_json ? idle_cpu : idle_cpu / 1e6, opt_json ? busy_cpu : busy_cpu / 1e6,
			100 * (1 - busy_cpu / idle_cpu), (unsigned long long)again, loadavg());
	memset(&r, 0, sizeof(r));
	r.name = "update_insert";
	r.mix = mix;
	r.prefixes = n;
	r.rate = ins;
	r.base_rate = fib6_add_rate;
	r.baseline = "rte_fib6_add (no reader)";
	r.extra = extra_json;
	report(&r);
	svctable_free(t);
	rte_free(v);
}

/* ------------------------------------------------------------- picking */

static void
bench_pick(void)
{
	struct svctable_conf conf = { .max_rules = 16 };
	struct svctable_target tg[8];
	struct svctable_rule_conf rc = {
		.action = SVCTABLE_ACTION_FORWARD, .targets = tg, .n_targets = 8,
	};
	struct svctable_key k;
	const struct svctable_rule *rules[BULK];
	const struct svctable_target *out[BULK];
	struct svctable *t = svctable_create(&conf);
	uint64_t *h, hz = rte_get_tsc_hz(), t0, done, s = 7, sink = 0, dt;
	uint32_t i, j, wsum = 0;
	struct result r;

	if (t == NULL)
		return;
	for (i = 0; i < 8; i++) {
		tg[i].ip = 0x0a000001 + i;
		tg[i].id = i + 1;
		tg[i].weight = (uint16_t)(1 + i);
		tg[i].priority = 0;
		wsum += tg[i].weight;
	}
	memset(&k, 0, sizeof(k));
	svctable_insert(t, &k, 0, &rc);
	h = malloc(N_QUERY * sizeof(*h));
	if (h == NULL)
		return;
	for (i = 0; i < N_QUERY; i++) {
		uint64_t x = rnd(&s);

		h[i] = svctable_flow_hash((uint32_t)x, (uint32_t)(x >> 32));
	}
	for (j = 0; j < BULK; j++)
		rules[j] = svctable_lookup(t, &k);
	/* many rules share one lut: spread flows over the whole table */
	t0 = rte_rdtsc();
	done = 0;
	i = 0;
	do {
		sink += svctable_pick_bulk(rules, &h[i], BULK, out);
		i = (i + BULK) & (N_QUERY - 1);
		done += BULK;
		dt = rte_rdtsc() - t0;
	} while (done % (64 * BULK) != 0 || dt < opt_seconds * hz);
	memset(&r, 0, sizeof(r));
	r.rate = done / ((double)dt / hz);
	/* baseline: weighted random scan (original Serval), same hashes */
	t0 = rte_rdtsc();
	done = 0;
	i = 0;
	do {
		for (j = 0; j < BULK; j++) {
			uint32_t x = (uint32_t)((h[i + j] >> 32) % wsum), k2 = 0;

			while (x >= tg[k2].weight)
				x -= tg[k2++].weight;
			sink += tg[k2].id;
		}
		i = (i + BULK) & (N_QUERY - 1);
		done += BULK;
		dt = rte_rdtsc() - t0;
	} while (done % (64 * BULK) != 0 || dt < opt_seconds * hz);
	r.base_rate = done / ((double)dt / hz);
	r.name = "pick_bulk";
	r.mix = "-";
	r.prefixes = 1;
	r.baseline = "weighted random scan";
	r.extra = opt_json ? "\"targets\":8" : "8 targets, weights 1..8";
	if (sink == UINT64_MAX)
		printf("!");
	report(&r);
	free(h);
	svctable_free(t);
}

/* ---------------------------------------------------------------- main */

/*
 * Without hugepages the EAL heap is plain anonymous memory on 4 KB pages,
 * while lib/svctable asks for transparent huge pages. Ask for them on the
 * EAL memory too, so rte_fib6 is measured on the same page size.
 */
static int
advise_thp(const struct rte_memseg_list *msl, void *arg)
{
	(void)arg;
	if (msl->base_va != NULL && msl->len != 0)
		(void)madvise(msl->base_va, msl->len, MADV_HUGEPAGE);
	return 0;
}

static void
bench_size(uint32_t n, const char *mix, bool with_update)
{
	struct pfx *p = malloc((size_t)n * sizeof(*p));
	struct pfx *extra = NULL;
	struct svctable_key *qhit = malloc(N_QUERY * sizeof(*qhit));
	struct svctable_key *qmiss = malloc(N_QUERY * sizeof(*qmiss));
	uint8_t (*ips)[16] = malloc(N_QUERY * 16);
	uint32_t n_extra = n < 200000 ? n : 200000;
	double build_rate, fib_bytes = 0, add_rate = 0;
	const char *why = NULL;
	static char agree[64];
	struct svctable_memory m;
	struct rte_fib6 *f;
	struct svctable *t;
	char name[32];
	int pass;

	if (p == NULL || qhit == NULL || qmiss == NULL || ips == NULL)
		abort();
	if (strcmp(mix, "real") == 0)
		gen_real(p, n, 1000 + n);
	else
		gen_unif(p, n, 2000 + n);
	gen_queries(qhit, N_QUERY, p, n, true, 3000 + n);
	gen_queries(qmiss, N_QUERY, p, n, false, 4000 + n);

	t = build_table(p, n, n + 16, &build_rate);
	if (t == NULL)
		abort();
	svctable_memory(t, &m);
	snprintf(name, sizeof(name), "f6_%s_%u", mix, n);
	f = build_fib6(p, n, name, &fib_bytes, &add_rate, &why);

	for (pass = 0; pass < 2; pass++) {
		const struct svctable_key *q = pass == 0 ? qhit : qmiss;
		struct result r;
		uint32_t i;

		memset(&r, 0, sizeof(r));
		r.name = pass == 0 ? "lookup_hit" : "lookup_miss";
		r.mix = mix;
		r.prefixes = svctable_count(t);
		r.baseline = "rte_fib6 trie (128-bit)";
		r.bytes_per_prefix = (double)(m.trie_bytes + m.rule_bytes + m.target_bytes +
				m.rib_bytes) / r.prefixes;
		r.trie_bytes_per_prefix = (double)m.trie_bytes / r.prefixes;
		r.base_bytes_per_prefix = fib_bytes;
		r.extra = why;
		if (f != NULL)
			for (i = 0; i < N_QUERY; i++)
				memcpy(ips[i], q[i].bytes, 16);
		time_lookups(t, f, q, ips, N_QUERY, &r.rate, &r.base_rate);
		if (f != NULL && pass == 0) {
			/* the baseline must really answer: its next hop is our rule
			 * id + 1 wherever the best prefix is at most 128 bits */
			uint32_t cmp = 0, same = 0;

			for (i = 0; i < 4096; i++) {
				const struct svctable_rule *rr = svctable_lookup(t, &q[i]);
				uint64_t nh;

				if (rr == NULL || rr->prefix_len > 128)
					continue;
				rte_fib6_lookup_bulk(f, &ips[i], &nh, 1);
				cmp++;
				same += nh == (uint64_t)rr->id + 1;
			}
			snprintf(agree, sizeof(agree), opt_json ?
					"\"baseline_agrees\":%.4f" : "baseline agrees %.1f%%",
					cmp ? (opt_json ? 1.0 : 100.0) * same / cmp : 0);
			r.extra = agree;
		}
		report(&r);
	}
	{
		struct result r;
		char ex[160];

		memset(&r, 0, sizeof(r));
		r.name = "build_txn4096";
		r.mix = mix;
		r.prefixes = svctable_count(t);
		r.rate = build_rate;
		r.base_rate = add_rate;
		r.baseline = "rte_fib6_add";
		snprintf(ex, sizeof(ex), opt_json ?
				"\"rib_bytes_per_prefix\":%.1f,\"rule_bytes_per_prefix\":%.1f" :
				"rib %.1f B/prefix, rules %.1f B/prefix",
				(double)m.rib_bytes / r.prefixes,
				(double)(m.rule_bytes + m.target_bytes) / r.prefixes);
		r.extra = ex;
		report(&r);
	}
	svctable_free(t);
	if (f != NULL)
		rte_fib6_free(f);
	if (with_update) {
		extra = malloc((size_t)n_extra * sizeof(*extra));
		if (extra == NULL)
			abort();
		if (strcmp(mix, "real") == 0)
			gen_real(extra, n_extra, 5000 + n);
		else
			gen_unif(extra, n_extra, 6000 + n);
		bench_update(mix, p, n, extra, n_extra, qhit, add_rate);
		free(extra);
	}
	free(p);
	free(qhit);
	free(qmiss);
	free(ips);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "full", no_argument, NULL, 'f' },
		{ "sizes", required_argument, NULL, 's' },
		{ "seconds", required_argument, NULL, 't' },
		{ "mix", required_argument, NULL, 'm' },
		{ NULL, 0, NULL, 0 },
	};
	uint32_t sizes[8] = { 100000 };
	const char *only_mix = NULL;
	unsigned int n_sizes = 1, i;
	int ret, c;

	ret = rte_eal_init(argc, argv);
	if (ret < 0) {
		fprintf(stderr, "rte_eal_init: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	argc -= ret;
	argv += ret;
	rte_memseg_list_walk(advise_thp, NULL);
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			opt_json = true;
			break;
		case 'f':
			sizes[0] = 1000;
			sizes[1] = 100000;
			sizes[2] = 1000000;
			n_sizes = 3;
			break;
		case 's': {
			char *s = optarg, *end;

			for (n_sizes = 0; n_sizes < 8 && *s != '\0'; n_sizes++) {
				sizes[n_sizes] = (uint32_t)strtoul(s, &end, 10);
				s = *end == ',' ? end + 1 : end;
			}
			break;
		}
		case 't':
			opt_seconds = atof(optarg);
			break;
		case 'm':
			only_mix = optarg;
			break;
		default:
			fprintf(stderr, "usage: bench_svctable [EAL] -- [--json] [--full] "
					"[--sizes n,...] [--mix real|unif] [--seconds s]\n");
			return 1;
		}
	}
	if (!opt_json)
		printf("%-16s %-4s %8s %10s %8s %10s %7s  %6s %6s\n", "case", "mix",
				"prefixes", "Mops/s", "ns/op", "base Mops", "ratio",
				"trieB", "allB");
	for (i = 0; i < n_sizes; i++) {
		if (only_mix == NULL || strcmp(only_mix, "real") == 0)
			bench_size(sizes[i], "real", sizes[i] >= 100000);
		if (only_mix == NULL || strcmp(only_mix, "unif") == 0)
			bench_size(sizes[i], "unif", false);
	}
	bench_pick();
	rte_eal_cleanup();
	return 0;
}
