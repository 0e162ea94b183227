/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The serval-sr authors
 */

/*
 * Flow table lookup and insert rates against a baseline measured in the same
 * process: bare rte_hash_lookup_bulk / rte_hash_add_key on an rte_hash of the
 * same number of plain 64-bit keys. Lookups come in bursts of 32 in a random
 * order over the whole table, so large tables miss the caches as a worker
 * would. Each figure is the best of REPS alternating runs of table and
 * baseline; the ratio is what to compare across machines.
 *
 *   bench_flowtable [EAL args] -- [--full] [--json] [--sizes N,N,...]
 *
 * Default sizes: 100k and 1M flows; --full adds 4M.
 */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_lcore.h>
#include <rte_malloc.h>

#include "flowtable.h"

#define BURST 32
#define REPS 3
#define STREAM (1u << 21)       /* lookups precomputed per case */
#define MIN_SECONDS 0.25        /* each timed run lasts at least this */
#define MAX_SIZES 8

static int json;
static volatile uint64_t sink;  /* keeps results alive */

static uint64_t
mix64(uint64_t x)
{
	/* a bijection on 64 bits, so distinct inputs give distinct keys */
	x ^= x >> 31;
	x *= UINT64_C(0x7fb5d329728ea185);
	x ^= x >> 27;
	x *= UINT64_C(0x81dadef4bc2dd44d);
	x ^= x >> 33;
	return x;
}

static uint64_t rng_state = 0x243f6a8885a308d3ull;

static uint32_t
rnd(uint32_t n)
{
	rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
	return (uint32_t)(((rng_state >> 32) * (uint64_t)n) >> 32);
}

static size_t
heap_used(void)
{
	struct rte_malloc_socket_stats s;
	size_t used = 0;
	int sock;

	for (sock = 0; sock < RTE_MAX_NUMA_NODES; sock++) {
		if (rte_malloc_get_socket_stats(sock, &s) == 0)
			used += s.heap_allocsz_bytes;
	}
	return used;
}

static double
secs(uint64_t cycles)
{
	return (double)cycles / (double)rte_get_tsc_hz();
}

/* Lookups per second of the flow table over a precomputed stream. */
static double
time_ft(struct flowtable *ft, unsigned int worker, const uint32_t *stream,
	uint64_t expect_hits_per_burst, int *ok)
{
	struct flowtable_result res[BURST];
	uint32_t lens[BURST];
	uint64_t start, end, ops = 0, hits = 0, bursts = 0;
	uint32_t pos = 0, i;

	for (i = 0; i < BURST; i++)
		lens[i] = 64 + i;
	start = rte_rdtsc();
	end = start + (uint64_t)(MIN_SECONDS * rte_get_tsc_hz());
	for (;;) {
		uint64_t m = flowtable_lookup_bulk(ft, worker, stream + pos, lens, BURST,
			res, bursts);

		hits += (uint64_t)__builtin_popcountll(m);
		sink += res[m != 0 ? (uint32_t)__builtin_ctzll(m) : 0].target;
		pos += BURST;
		if (pos == STREAM)
			pos = 0;
		ops += BURST;
		if ((++bursts & 1023) == 0 && rte_rdtsc() >= end)
			break;
	}
	if (hits != bursts * expect_hits_per_burst)
		*ok = 0;
	return (double)ops / secs(rte_rdtsc() - start);
}

static double
time_hash(const struct rte_hash *h, const void **stream, uint64_t expect_hits_per_burst,
	int *ok)
{
	int32_t positions[BURST];
	uint64_t start, end, ops = 0, hits = 0, bursts = 0;
	uint32_t pos = 0, i;

	start = rte_rdtsc();
	end = start + (uint64_t)(MIN_SECONDS * rte_get_tsc_hz());
	for (;;) {
		rte_hash_lookup_bulk(h, stream + pos, BURST, positions);
		for (i = 0; i < BURST; i++)
			hits += positions[i] >= 0;
		sink += (uint64_t)positions[0];
		pos += BURST;
		if (pos == STREAM)
			pos = 0;
		ops += BURST;
		if ((++bursts & 1023) == 0 && rte_rdtsc() >= end)
			break;
	}
	if (hits != bursts * expect_hits_per_burst)
		*ok = 0;
	return (double)ops / secs(rte_rdtsc() - start);
}

static void
report(const char *name, uint32_t flows, double rate, double base_rate,
	const char *base_name)
{
	double ratio = rate / base_rate;

	if (json) {
		printf("{\"name\": \"%s\", \"flows\": %u, \"burst\": %u, "
			"\"rate\": %.0f, \"ns_per_op\": %.2f, \"baseline\": \"%s\", "
			"\"baseline_rate\": %.0f, \"baseline_ns_per_op\": %.2f, "
			"\"ratio\": %.3f}\n", name, flows, BURST, rate, 1e9 / rate,
			base_name, base_rate, 1e9 / base_rate, ratio);
	} else {
		printf("%-22s %9u %12.2f %9.2f %12.2f %9.2f %7.3f\n", name, flows,
			rate / 1e6, 1e9 / rate, base_rate / 1e6, 1e9 / base_rate, ratio);
	}
	fflush(stdout);
}

static void
report_mem(uint32_t flows, double ft_bytes, double hash_bytes)
{
	if (json) {
		printf("{\"name\": \"memory_per_flow\", \"flows\": %u, \"bytes\": %.1f, "
			"\"baseline\": \"rte_hash 8-byte keys\", \"baseline_bytes\": %.1f, "
			"\"ratio\": %.3f}\n", flows, ft_bytes, hash_bytes, ft_bytes / hash_bytes);
	} else {
		printf("%-22s %9u %12.1f %9s %12.1f %9s %7.3f   (bytes per flow)\n",
			"memory_per_flow", flows, ft_bytes, "", hash_bytes, "",
			ft_bytes / hash_bytes);
	}
	fflush(stdout);
}

static int
bench_size(uint32_t n)
{
	struct rte_hash_parameters hp;
	struct flowtable_conf fc;
	struct flowtable *ft = NULL;
	struct rte_hash *h = NULL;
	uint64_t *keys = NULL, *miss_keys = NULL;
	uint32_t *rfids = NULL, *s_mix = NULL, *s_own = NULL, *s_far = NULL, *s_miss = NULL;
	const void **p_hit = NULL, **p_miss = NULL;
	double best_ft[4] = {0}, best_h[2] = {0}, ins_ft, ins_h;
	size_t heap0, heap1;
	uint64_t t0;
	uint32_t i, r;
	int ok = 1, ret = -1;
	char hname[32];

	keys = malloc(sizeof(*keys) * n);
	miss_keys = malloc(sizeof(*miss_keys) * n);
	rfids = malloc(sizeof(*rfids) * n);
	s_mix = malloc(sizeof(uint32_t) * STREAM);
	s_own = malloc(sizeof(uint32_t) * STREAM);
	s_far = malloc(sizeof(uint32_t) * STREAM);
	s_miss = malloc(sizeof(uint32_t) * STREAM);
	p_hit = malloc(sizeof(void *) * STREAM);
	p_miss = malloc(sizeof(void *) * STREAM);
	if (keys == NULL || miss_keys == NULL || rfids == NULL || s_mix == NULL ||
			s_own == NULL || s_far == NULL || s_miss == NULL || p_hit == NULL ||
			p_miss == NULL) {
		fprintf(stderr, "out of memory for %u flows\n", n);
		goto out;
	}
	for (i = 0; i < n; i++) {
		keys[i] = mix64(i);
		miss_keys[i] = mix64((uint64_t)i + n);
	}

	/* Baseline: a plain rte_hash with room for n keys. */
	memset(&hp, 0, sizeof(hp));
	snprintf(hname, sizeof(hname), "bench_ft_%u", n);
	hp.name = hname;
	hp.entries = n + n / 4;
	hp.key_len = sizeof(uint64_t);
	hp.socket_id = (int)rte_socket_id();
	heap0 = heap_used();
	h = rte_hash_create(&hp);
	if (h == NULL) {
		fprintf(stderr, "rte_hash_create(%u): %s\n", n, rte_strerror(rte_errno));
		goto out;
	}
	t0 = rte_rdtsc();
	for (i = 0; i < n; i++) {
		if (rte_hash_add_key(h, &keys[i]) < 0) {
			fprintf(stderr, "rte_hash_add_key failed at %u\n", i);
			goto out;
		}
	}
	ins_h = n / secs(rte_rdtsc() - t0);
	heap1 = heap_used();
	{
		double hash_bytes = (double)(heap1 - heap0) / n;

		/* The flow table: two workers, n flows, half in each slice. */
		memset(&fc, 0, sizeof(fc));
		fc.name = "bench_ft";
		fc.max_flows = n;
		fc.n_workers = 2;
		fc.socket_id = (int)rte_socket_id();
		fc.timeout[FLOWTABLE_STATE_SYN_SEEN] = 1000;
		fc.timeout[FLOWTABLE_STATE_ESTABLISHED] = 100000;
		fc.timeout[FLOWTABLE_STATE_CLOSING] = 100;
		heap0 = heap_used();
		ft = flowtable_create(&fc);
		if (ft == NULL) {
			fprintf(stderr, "flowtable_create(%u): %s\n", n, rte_strerror(rte_errno));
			goto out;
		}
		t0 = rte_rdtsc();
		for (i = 0; i < n; i++) {
			struct flowtable_syn_key k;
			uint64_t nonce = keys[i];

			k.client_ip = (uint32_t)(keys[i] >> 32);
			k.client_flowid = i + 1;
			memcpy(k.nonce, &nonce, sizeof(k.nonce));
			if (flowtable_insert(ft, i & 1, &k, i, 0, &rfids[i]) != 0) {
				fprintf(stderr, "flowtable_insert failed at %u\n", i);
				goto out;
			}
		}
		ins_ft = n / secs(rte_rdtsc() - t0);
		heap1 = heap_used();
		/* the table came from the C heap if the EAL heap had no room */
		report_mem(n, (double)(heap1 > heap0 ? heap1 - heap0 : flowtable_memory(ft)) / n,
			hash_bytes);
	}

	/* Streams: mixed owners, owner only (even flows, worker 0's),
	 * foreign only (odd flows), and stale generations for misses. */
	for (i = 0; i < STREAM; i++) {
		uint32_t a = rnd(n), b = rnd(n / 2) * 2, c = rnd(n / 2) * 2 + 1;

		s_mix[i] = rfids[a] | (i & 1);
		s_own[i] = rfids[b] | (i & 1);
		s_far[i] = rfids[c] | (i & 1);
		s_miss[i] = rfids[rnd(n)] + 2;   /* next generation of that slot */
		p_hit[i] = &keys[a];
		p_miss[i] = &miss_keys[rnd(n)];
	}

	for (r = 0; r < REPS; r++) {
		best_h[0] = RTE_MAX(best_h[0], time_hash(h, p_hit, BURST, &ok));
		best_ft[0] = RTE_MAX(best_ft[0], time_ft(ft, 0, s_mix, BURST, &ok));
		best_ft[1] = RTE_MAX(best_ft[1], time_ft(ft, 0, s_own, BURST, &ok));
		best_ft[2] = RTE_MAX(best_ft[2], time_ft(ft, 0, s_far, BURST, &ok));
		best_h[1] = RTE_MAX(best_h[1], time_hash(h, p_miss, 0, &ok));
		best_ft[3] = RTE_MAX(best_ft[3], time_ft(ft, 0, s_miss, 0, &ok));
	}
	if (!ok) {
		fprintf(stderr, "hit counts differ from what the streams hold\n");
		goto out;
	}
	report("lookup_hit_mixed", n, best_ft[0], best_h[0], "rte_hash_lookup_bulk");
	report("lookup_hit_owner", n, best_ft[1], best_h[0], "rte_hash_lookup_bulk");
	report("lookup_hit_foreign", n, best_ft[2], best_h[0], "rte_hash_lookup_bulk");
	report("lookup_miss_stale", n, best_ft[3], best_h[1], "rte_hash_lookup_bulk");
	report("insert", n, ins_ft, ins_h, "rte_hash_add_key");
	ret = 0;
out:
	flowtable_free(ft);
	rte_hash_free(h);
	free(keys);
	free(miss_keys);
	free(rfids);
	free(s_mix);
	free(s_own);
	free(s_far);
	free(s_miss);
	free(p_hit);
	free(p_miss);
	return ret;
}

int
main(int argc, char **argv)
{
	uint32_t sizes[MAX_SIZES] = {100000, 1000000};
	uint32_t n_sizes = 2, i;
	int ret, full = 0;

	ret = rte_eal_init(argc, argv);
	if (ret < 0) {
		fprintf(stderr, "rte_eal_init failed: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	argc -= ret;
	argv += ret;
	for (i = 1; i < (uint32_t)argc; i++) {
		if (strcmp(argv[i], "--json") == 0) {
			json = 1;
		} else if (strcmp(argv[i], "--full") == 0) {
			full = 1;
		} else if (strcmp(argv[i], "--sizes") == 0 && i + 1 < (uint32_t)argc) {
			char *s = argv[++i], *end;

			n_sizes = 0;
			while (*s != '\0' && n_sizes < MAX_SIZES) {
				unsigned long v = strtoul(s, &end, 10);

				if (end == s || v < 64 || v > (1ul << 26)) {
					fprintf(stderr, "--sizes: bad size at '%s'\n", s);
					return 2;
				}
				sizes[n_sizes++] = (uint32_t)v;
				s = *end == ',' ? end + 1 : end;
			}
		} else {
			fprintf(stderr, "usage: bench_flowtable [EAL args] -- "
				"[--full] [--json] [--sizes N,N,...]\n");
			return 2;
		}
	}
	if (full) {
		sizes[0] = 100000;
		sizes[1] = 1000000;
		sizes[2] = 4000000;
		n_sizes = 3;
	}
	if (!json) {
		printf("flowtable vs rte_hash (bursts of %u, best of %u, random order)\n",
			BURST, REPS);
		printf("%-22s %9s %12s %9s %12s %9s %7s\n", "case", "flows", "Mops/s",
			"ns/op", "base Mops/s", "base ns", "ratio");
	}
	for (i = 0; i < n_sizes; i++) {
		if (bench_size(sizes[i]) != 0) {
			rte_eal_cleanup();
			return 1;
		}
	}
	rte_eal_cleanup();
	return 0;
}
