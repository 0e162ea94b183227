/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The serval-sr authors
 */

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tg_config.h"

static enum tg_rule_kind
rule_kind(const struct ssr_cfg_service *s)
{
	switch (s->action) {
	case SSR_ACTION_FORWARD:
		return s->mode == SSR_MODE_GATEWAY ? TG_RULE_GATEWAY : TG_RULE_RESOLVE;
	case SSR_ACTION_LOCAL:
		return TG_RULE_LOCAL;
	case SSR_ACTION_DELAY:
		return TG_RULE_DELAY;
	default:
		return TG_RULE_DROP;
	}
}

int
tg_from_config(const struct ssr_config *cfg, struct tg_svcmap *map, struct tg_topo *topo,
		struct tg_neigh **neigh_out, uint32_t *macless)
{
	struct tg_target tgt[SSR_CFG_MAX_TARGETS];
	struct tg_neigh *neigh = NULL;
	unsigned int i, j;
	int ret;

	memset(topo, 0, sizeof(*topo));
	*neigh_out = NULL;
	*macless = 0;
	if (cfg->n_ports > TG_MAX_PORTS)
		return -EINVAL;
	topo->n_ports = cfg->n_ports;
	for (i = 0; i < cfg->n_ports; i++) {
		const struct ssr_cfg_port *p = &cfg->ports[i];
		struct tg_port *tp = &topo->port[i];

		tp->addr = htonl(p->addr);
		tp->mask = htonl(p->prefix_len == 0 ? 0 : ~0u << (32 - p->prefix_len));
		if (p->has_mac) {
			memcpy(tp->mac, p->mac, 6);
		} else {
			static const uint8_t fallback[6] = { 0x02, 0, 0, 0, 0xff, 0 };

			memcpy(tp->mac, fallback, 6);
			tp->mac[5] = (uint8_t)i;
			*macless |= 1u << i;
		}
	}
	topo->has_gateway = cfg->has_gateway;
	topo->gateway = htonl(cfg->gateway);
	topo->sal_proto = cfg->sal_ip_protocol;
	topo->default_mac[0] = 0x02;
	topo->default_mac[4] = 0xff;
	topo->default_mac[5] = 0xfe;
	if (cfg->n_neighbors != 0) {
		neigh = calloc(cfg->n_neighbors, sizeof(*neigh));
		if (neigh == NULL)
			return -ENOMEM;
		for (i = 0; i < cfg->n_neighbors; i++) {
			neigh[i].ip = htonl(cfg->neighbors[i].ip);
			memcpy(neigh[i].mac, cfg->neighbors[i].mac, 6);
		}
	}
	topo->neigh = neigh;
	topo->n_neigh = cfg->n_neighbors;
	for (i = 0; i < cfg->n_services; i++) {
		const struct ssr_cfg_service *s = &cfg->services[i];

		for (j = 0; j < s->n_targets && j < SSR_CFG_MAX_TARGETS; j++) {
			tgt[j].addr = htonl(s->targets[j].addr);
			tgt[j].weight = s->targets[j].weight;
			tgt[j].priority = s->targets[j].priority;
		}
		ret = tg_svcmap_add(map, &s->id, s->prefix_bits, rule_kind(s), tgt,
				s->action == SSR_ACTION_FORWARD ? s->n_targets : 0);
		if (ret < 0) {
			free(neigh);
			memset(topo, 0, sizeof(*topo));
			return ret;
		}
	}
	*neigh_out = neigh;
	return 0;
}
