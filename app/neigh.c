/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The serval-sr authors
 */

#include <errno.h>

#include <rte_errno.h>
#include <rte_malloc.h>

#include "neigh.h"

struct ssr_neigh *
ssr_neigh_create(int socket, uint16_t queue_len)
{
	struct ssr_neigh *t;

	t = rte_zmalloc_socket("ssr_neigh", sizeof(*t), RTE_CACHE_LINE_SIZE, socket);
	if (t == NULL) {
		rte_errno = ENOMEM;
		return NULL;
	}
	t->queue_len = queue_len;
	return t;
}

void
ssr_neigh_free(struct ssr_neigh *t)
{
	uint32_t i;

	if (t == NULL)
		return;
	for (i = 0; i < t->n_used; i++)
		rte_free(t->ctl[t->used[i]].pending);
	rte_free(t);
}

int
ssr_neigh_find(const struct ssr_neigh *t, rte_be32_t ip)
{
	uint32_t h = ssr_neigh_hash(ip) & (SSR_NEIGH_SLOTS - 1);
	unsigned int n;

	for (n = 0; n < SSR_NEIGH_SLOTS; n++, h = (h + 1) & (SSR_NEIGH_SLOTS - 1)) {
		if (t->slot[h].ip == 0)
			return -ENOENT;
		if (t->slot[h].ip == ip)
			return h;
	}
	return -ENOENT;
}

int
ssr_neigh_get(struct ssr_neigh *t, rte_be32_t ip, uint8_t port)
{
	uint32_t h = ssr_neigh_hash(ip) & (SSR_NEIGH_SLOTS - 1);
	unsigned int n;

	if (ip == 0)
		return -EINVAL;
	for (n = 0; n < SSR_NEIGH_SLOTS; n++, h = (h + 1) & (SSR_NEIGH_SLOTS - 1)) {
		if (t->slot[h].ip == ip)
			return h;
		if (t->slot[h].ip == 0)
			break;
	}
	if (t->n_used == SSR_NEIGH_MAX)
		return -ENOSPC;
	t->ctl[h] = (struct ssr_neigh_ctl){ .port = port };
	t->used[t->n_used++] = h;
	/* relaxed: nobody can find the slot before the key is published */
	__atomic_store_n(&t->slot[h].val, 0, __ATOMIC_RELAXED);
	/* release: the value above is in place before a reader matches the key */
	__atomic_store_n(&t->slot[h].ip, ip, __ATOMIC_RELEASE);
	return h;
}

void
ssr_neigh_set(struct ssr_neigh *t, int s, const struct rte_ether_addr *mac)
{
	uint64_t v = 0;
	unsigned int i;

	if (mac != NULL) {
		for (i = 0; i < RTE_ETHER_ADDR_LEN; i++)
			v = v << 8 | mac->addr_bytes[i];
		v |= SSR_NEIGH_VALID;
	}
	/* release: one self-contained word; readers see the old or the new MAC */
	__atomic_store_n(&t->slot[s].val, v, __ATOMIC_RELEASE);
}
