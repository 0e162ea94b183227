/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The serval-sr authors
 */

/*
 * Property checks shared by the config and management fuzzers: both turn
 * operator input into the same validated structs (struct ssr_cfg_health,
 * IPv4 addresses), so both hold them to the same invariants.
 */

#ifndef SSR_FUZZ_CHECKS_H
#define SSR_FUZZ_CHECKS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "config.h"

/* Abort (a libFuzzer finding) naming the property that failed. */
#define check(cond) do { \
	if (!(cond)) { \
		fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
		abort(); \
	} \
} while (0)

/* A unicast IPv4 address (host order) an operator may give a target. */
static inline bool
unicast(uint32_t a)
{
	return (a >> 24) != 0 && (a >> 24) != 127 && (a >> 24) < 224;
}

/* A health section: present on forward rules only, every value in range. */
static inline void
check_health(const struct ssr_cfg_health *h, bool forward)
{
	if (!h->enabled)
		return;
	check(forward);
	check(h->interval_ms >= SSR_CFG_HEALTH_MIN_INTERVAL_MS &&
		h->interval_ms <= SSR_CFG_HEALTH_MAX_INTERVAL_MS);
	check(h->timeout_ms >= SSR_CFG_HEALTH_MIN_TIMEOUT_MS && h->timeout_ms <= h->interval_ms);
	check(h->fall >= 1 && h->fall <= SSR_CFG_HEALTH_MAX_COUNT);
	check(h->rise >= 1 && h->rise <= SSR_CFG_HEALTH_MAX_COUNT);
	check(h->on_down == SSR_HEALTH_KEEP || h->on_down == SSR_HEALTH_RESET);
}

#endif /* SSR_FUZZ_CHECKS_H */
