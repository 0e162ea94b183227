/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The serval-sr authors
 */

/**
 * @file
 * The config's `services` -> one svctable transaction. Control lcore only.
 *
 * Rule ids are the rule's index in the config (they key the delay queues
 * and per-rule messages); a target's svctable id is its IPv4 address, so
 * the consistent choice does not depend on the order targets are listed in,
 * and a reload that keeps a target keeps its flows' choice.
 */

#ifndef SSR_SERVICES_H
#define SSR_SERVICES_H

#include <stddef.h>

#include "config.h"

#ifdef __cplusplus
extern "C" {
#endif

struct svctable;

/**
 * Replace every rule of @p t by the services of @p cfg, at one instant (a
 * single transaction: clear, then add each). On failure the table is
 * unchanged.
 *
 * @param err
 *   On failure, a one-line reason naming the rule (file:line).
 * @return
 *   0, or -errno from svctable (EINVAL, ENOSPC, ENOMEM, EAGAIN, E2BIG).
 */
int
ssr_services_apply(struct svctable *t, const struct ssr_config *cfg,
		char *err, size_t errlen);

/**
 * Create a table sized for @p cfg (and later additions). NULL with
 * rte_errno on failure.
 */
struct svctable *
ssr_services_create(const struct ssr_config *cfg, int socket);

#ifdef __cplusplus
}
#endif

#endif /* SSR_SERVICES_H */
