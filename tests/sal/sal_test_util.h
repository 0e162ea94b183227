/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The serval-sr authors
 */

#ifndef SAL_TEST_UTIL_H
#define SAL_TEST_UTIL_H

/* Helpers shared by the lib/sal unit tests: a tiny pcap reader, a seeded
 * PRNG, checksum fix-ups for hand-made bad packets. */

#include <stddef.h>
#include <stdint.h>

#include "sal_build.h"
#include "sal_parse.h"

/** One captured frame (Ethernet, as in the upstream captures). */
struct test_frame {
	uint8_t *data;
	uint32_t len;
};

/** A loaded capture; free with test_pcap_free(). */
struct test_pcap {
	struct test_frame *frames;
	uint32_t n;
};

/**
 * Load a classic pcap file (either byte order, micro- or nanosecond
 * stamps, link type Ethernet). Returns 0 or -errno; a truncated record,
 * a wrong magic or another link type is -EINVAL.
 */
int test_pcap_load(const char *path, struct test_pcap *out);
void test_pcap_free(struct test_pcap *p);

/** Load tests/data/upstream/<name> ($SAL_TEST_DATA names the directory). */
int test_pcap_load_upstream(const char *name, struct test_pcap *out);

/** Directory of the upstream captures. */
const char *test_upstream_dir(void);

/** xorshift64* PRNG: deterministic per seed, so failures reproduce. */
struct test_rng {
	uint64_t s;
};
void test_rng_seed(struct test_rng *r, uint64_t seed);
uint64_t test_rng_next(struct test_rng *r);
/** Uniform in [0, n) for n > 0. */
uint32_t test_rng_below(struct test_rng *r, uint32_t n);
void test_rng_bytes(struct test_rng *r, void *buf, size_t len);

/**
 * Recompute the IPv4, SAL and TCP/UDP checksums of an IPv4+SAL packet at
 * l3 (len bytes) as a sender would, trusting only IHL, shl and the total
 * length as far as they fit in len. Used to make hand-broken packets fail
 * for exactly one reason.
 */
void test_fix_csums(uint8_t *l3, uint32_t len);

/** Parse an IPv4 packet at offset 0 with the default configuration. */
enum sal_drop_reason test_parse_l3(const uint8_t *l3, uint32_t len, struct sal_pkt *pkt);

/**
 * Fill a random valid message: random IP fields and options, 0..10
 * extensions obeying every rule, TCP, UDP, another protocol or no
 * transport bytes. Address lists and payload live in store (>= 2048 B).
 */
void test_random_msg(struct test_rng *r, struct sal_msg *m, uint8_t *store);

/** Compare two messages field by field (address lists and bytes by value). */
int test_msg_equal(const struct sal_msg *a, const struct sal_msg *b);

/** Hex dump into stderr for failure messages. */
void test_hexdump(const char *what, const uint8_t *p, uint32_t len);

#endif /* SAL_TEST_UTIL_H */
