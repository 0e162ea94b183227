/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The serval-sr authors
 */

/*
 * A fake struct ssr_mgmt_ops for the management tests: a small in-memory
 * rule set with the semantics docs/management.md gives the real router
 * (exists / not found errors, all-or-nothing batches, leases), canned
 * statistics and synthetic flows. It records every call so tests can assert
 * that an invalid request never reached the application.
 */

#ifndef FAKE_OPS_H
#define FAKE_OPS_H

#include <stdbool.h>
#include <stdint.h>

#include "mgmt.h"

#define FAKE_MAX_RULES 64

struct fake_state {
	struct ssr_cfg_service rules[FAKE_MAX_RULES]; /* targets malloc'd */
	uint32_t lease[FAKE_MAX_RULES][SSR_CFG_MAX_TARGETS]; /* 0 = static */
	unsigned int n_rules;
	unsigned int applied;       /* apply() calls */
	unsigned int changes;       /* successful changes (a batch counts 1) */
	enum ssr_cmd_type last;     /* type of the last apply() */
	struct ssr_mgmt_peer last_peer;
	uint32_t n_flows;           /* synthetic gateway flows, ids 1..n_flows */
	struct ssr_mgmt *srv;       /* if set, rule changes are published */
};

extern const struct ssr_mgmt_ops fake_ops;

void fake_init(struct fake_state *st);
void fake_fini(struct fake_state *st);

/* Index of the rule with this prefix text ("4001/16"), or -1. */
int fake_find(const struct fake_state *st, const char *prefix);

#endif /* FAKE_OPS_H */
