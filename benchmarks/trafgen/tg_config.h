/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The serval-sr authors
 */

#ifndef TG_CONFIG_H
#define TG_CONFIG_H

/**
 * @file
 * Build the generator's world (service map, router topology) from a
 * serval-sr configuration loaded by the app's own loader (app/config.h),
 * so the traffic matches what the router under test was given.
 */

#include "config.h"
#include "trafgen.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Fill @p map with the config's services and @p topo with its ports,
 * gateway, neighbours and SAL protocol. Ports without a configured `mac`
 * get 02:00:00:00:ff:NN (NN the port index) and are listed in
 * @p macless as a bitmask, so the caller can warn: the router would drop
 * frames to a MAC it does not have.
 *
 * @param cfg      a loaded config
 * @param map      an empty map (tg_svcmap_create())
 * @param topo     out; topo->neigh points into @p neigh_out
 * @param neigh_out out: malloc'ed neighbour array (free()), NULL if none
 * @param macless  out: bit i set when port i had no `mac`
 * @return 0, -EINVAL (more than TG_MAX_PORTS ports, a rule the map
 *   refuses), -ENOMEM. Any thread.
 */
int tg_from_config(const struct ssr_config *cfg, struct tg_svcmap *map, struct tg_topo *topo,
	struct tg_neigh **neigh_out, uint32_t *macless);

#ifdef __cplusplus
}
#endif

#endif /* TG_CONFIG_H */
