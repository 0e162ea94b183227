/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The serval-sr authors
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_errno.h>

#include "sal_path.h"
#include "services.h"
#include "svctable.h"

/* Room for rules added at run time beyond the config's. */
#define SSR_SVC_MIN_RULES 65536

static const enum svctable_action action_map[] = {
	[SSR_ACTION_FORWARD] = SVCTABLE_ACTION_FORWARD,
	[SSR_ACTION_LOCAL] = SVCTABLE_ACTION_LOCAL,
	[SSR_ACTION_DELAY] = SVCTABLE_ACTION_DELAY,
	[SSR_ACTION_DROP] = SVCTABLE_ACTION_DROP,
};

struct svctable *
ssr_services_create(const struct ssr_config *cfg, int socket)
{
	struct svctable_conf conf = {
		.max_rules = cfg->n_services > SSR_SVC_MIN_RULES ?
			cfg->n_services : SSR_SVC_MIN_RULES,
		.socket_id = socket,
	};

	return svctable_create(&conf);
}

int
ssr_services_apply(struct svctable *t, const struct ssr_config *cfg,
		char *err, size_t errlen)
{
	struct svctable_target *tg = NULL;
	struct svctable_txn *txn;
	unsigned int i, j;
	int ret;

	txn = svctable_txn_begin(t);
	if (txn == NULL) {
		snprintf(err, errlen, "cannot begin a service table transaction: %s",
				strerror(rte_errno));
		return -rte_errno;
	}
	ret = svctable_txn_clear(txn);
	if (ret != 0)
		goto abort;
	tg = calloc(SSR_CFG_MAX_TARGETS, sizeof(*tg));
	if (tg == NULL) {
		ret = -ENOMEM;
		goto abort;
	}
	for (i = 0; i < cfg->n_services; i++) {
		const struct ssr_cfg_service *s = &cfg->services[i];
		struct svctable_rule_conf rc = {
			.action = action_map[s->action],
			.id = i,
			.user_flags = s->action == SSR_ACTION_FORWARD &&
				s->mode == SSR_MODE_GATEWAY ? SSR_RULE_F_GATEWAY : 0,
		};

		for (j = 0; j < s->n_targets; j++) {
			tg[j].ip = rte_cpu_to_be_32(s->targets[j].addr);
			tg[j].id = s->targets[j].addr;
			tg[j].weight = s->targets[j].weight;
			tg[j].priority = s->targets[j].priority;
		}
		if (s->action == SSR_ACTION_FORWARD) {
			rc.targets = tg;
			rc.n_targets = s->n_targets;
		}
		ret = svctable_txn_add(txn, (const struct svctable_key *)(const void *)&s->id,
				s->prefix_bits, &rc);
		if (ret != 0) {
			snprintf(err, errlen, "%s:%u: services[%u]: %s", cfg->source,
					s->line, i, strerror(-ret));
			goto abort_quiet;
		}
	}
	free(tg);
	tg = NULL;
	ret = svctable_txn_commit(txn);
	if (ret != 0)
		goto abort;
	return 0;
abort:
	snprintf(err, errlen, "%s: service table update failed: %s", cfg->source,
			strerror(-ret));
abort_quiet:
	free(tg);
	svctable_txn_abort(txn);
	return ret;
}
