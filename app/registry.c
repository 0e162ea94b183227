/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The serval-sr authors
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_log.h>
#include <rte_mbuf.h>

#include "control.h"
#include "registry.h"
#include "sal_build.h"
#include "sal_parse.h"
#include "sal_path.h"
#include "services.h"
#include "stats.h"
#include "svctable.h"

RTE_LOG_REGISTER(ssr_logtype_registry, user.serval.registry, INFO);
#define GLOG(level, fmt, ...) \
	rte_log(RTE_LOG_ ## level, ssr_logtype_registry, "registry: " fmt "\n", \
			##__VA_ARGS__)

#define UDP_HDR_LEN 8

struct ssr_registry {
	struct ssr_control *c;
	struct ssr_rules *m;
	uint16_t ip_id;
	struct ssr_registry_stats st;
};

/* A parsed REGISTER / UNREGISTER body. */
struct reg_msg {
	uint8_t type;
	uint8_t flags;
	uint16_t bits;
	uint32_t addr;               /* host order */
	struct sal_service_id sid;   /* masked to bits */
};

struct ssr_registry *
ssr_registry_create(struct ssr_control *c, struct ssr_rules *m)
{
	struct ssr_registry *g = calloc(1, sizeof(*g));

	if (g == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	g->c = c;
	g->m = m;
	return g;
}

void
ssr_registry_free(struct ssr_registry *g)
{
	free(g);
}

void
ssr_registry_get_stats(const struct ssr_registry *g, struct ssr_registry_stats *st)
{
	*st = g->st;
}

/* Answer with the request's 48 bytes, return value @p rv. */
static void
reply(struct ssr_registry *g, struct rte_mbuf *req, const uint8_t *frame,
		const struct sal_pkt *sp, const uint8_t *msg, uint8_t rv)
{
	struct ssr_control *c = g->c;
	uint8_t l4[UDP_HDR_LEN + SSR_REG_MSG_LEN];
	const uint8_t *udp = frame + sp->l4_off;
	struct sal_msg out;
	struct rte_mbuf *m;
	uint8_t *buf;
	int len;

	sal_msg_init(&out);
	out.ip_src = sal_pkt_ip_dst(frame, sp);
	out.ip_dst = sal_pkt_ip_src(frame, sp);
	out.ip_id = g->ip_id++;
	out.ip_proto = c->r->sal_proto;
	out.src_flowid = sp->dst_flowid;
	out.dst_flowid = sp->src_flowid;
	out.proto = SAL_PROTO_UDP;
	out.n_ext = 2;
	out.ext[0].type = SAL_EXT_SERVICE;
	/* to the sender's own serviceID (its control ID), from ours */
	memcpy(&out.ext[0].u.service, sal_pkt_service_id(frame, sp,
				sp->n_service > 1 ? 1 : 0), sizeof(out.ext[0].u.service));
	out.ext[1].type = SAL_EXT_SERVICE;
	memcpy(&out.ext[1].u.service, sal_pkt_service_id(frame, sp, 0),
			sizeof(out.ext[1].u.service));
	/* UDP: ports swapped, length and checksum filled in by sal_build() */
	memcpy(l4, udp + 2, 2);
	memcpy(l4 + 2, udp, 2);
	l4[4] = 0;
	l4[5] = sizeof(l4);
	l4[6] = 0;
	l4[7] = 0;
	memcpy(l4 + UDP_HDR_LEN, msg, SSR_REG_MSG_LEN);
	l4[UDP_HDR_LEN + 1] = rv;
	out.l4 = l4;
	out.l4_len = sizeof(l4);
	m = rte_pktmbuf_alloc(req->pool);
	if (m == NULL)
		return; /* the request is counted; the host retries */
	buf = (uint8_t *)rte_pktmbuf_append(m, RTE_ETHER_HDR_LEN + 160);
	len = buf == NULL ? -ENOSPC : sal_build(&out, buf + RTE_ETHER_HDR_LEN, 160);
	if (len < 0) {
		rte_pktmbuf_free(m);
		return;
	}
	rte_pktmbuf_trim(m, 160 - len);
	((struct rte_ether_hdr *)buf)->ether_type = RTE_BE16(RTE_ETHER_TYPE_IPV4);
	ssr_count(&c->stats, SSR_CNT_GENERATED, 1);
	g->st.replies++;
	ssr_control_route(c, m, out.ip_dst);
}

static uint8_t
retval_of(int err)
{
	switch (err) {
	case 0:
		return SSR_REG_OK;
	case -ENOENT:
		return SSR_REG_NOENTRY;
	default:
		return SSR_REG_ERROR;
	}
}

/* Apply one message to the rule model; 0 or -errno. */
static int
apply(struct ssr_registry *g, const struct reg_msg *rm, uint32_t host)
{
	struct ssr_cfg_target t = { .addr = host, .weight = 1, .priority = 0 };
	struct ssr_rules_txn *txn;
	const struct ssr_rule *cur;
	struct ssr_err e;
	int ret, k = -1;
	unsigned int i;

	memset(&e, 0, sizeof(e));
	cur = ssr_rules_get(g->m, &rm->sid, rm->bits);
	if (cur != NULL)
		for (i = 0; i < cur->n; i++)
			if (cur->tg[i].t.addr == (rm->type == SSR_REG_T_REGISTER &&
						(rm->flags & SSR_REG_F_READDRESS) ?
						rm->addr : host))
				k = i;
	txn = ssr_rules_begin(g->m, rm->type == SSR_REG_T_REGISTER ? "register" :
			"unregister");
	if (txn == NULL)
		return -ENOMEM;
	if (rm->type == SSR_REG_T_UNREGISTER) {
		ret = ssr_rules_unregister(txn, &rm->sid, rm->bits, host, "unregistered", &e);
		if (ret == 0)
			g->st.unregistered++;
	} else if ((rm->flags & SSR_REG_F_READDRESS) && k >= 0 &&
			cur->tg[k].origin != SSR_ORIGIN_CONFIG && rm->addr != host) {
		ret = ssr_rules_readdress(txn, &rm->sid, rm->bits, rm->addr, host, &e);
		if (ret == 0)
			g->st.readdressed++;
	} else {
		bool known = false;

		for (i = 0; cur != NULL && i < cur->n; i++)
			known |= cur->tg[i].t.addr == host &&
				cur->tg[i].origin == SSR_ORIGIN_INBAND;
		if (known) {
			/* nothing to change: an inband target has no lease */
			ssr_rules_abort(txn);
			g->st.refreshed++;
			return 0;
		}
		ret = ssr_rules_register(txn, &rm->sid, rm->bits, &t, 0,
				SSR_ORIGIN_INBAND, &e);
		if (ret == 0)
			g->st.registered++;
	}
	if (ret != 0) {
		ssr_rules_abort(txn);
		GLOG(INFO, "%s from %u.%u.%u.%u refused: %s%s%s",
				rm->type == SSR_REG_T_REGISTER ? "REGISTER" : "UNREGISTER",
				host >> 24, (host >> 16) & 0xff, (host >> 8) & 0xff, host & 0xff,
				e.field, e.field[0] ? ": " : "", e.msg);
		return ret;
	}
	ret = ssr_rules_commit(txn, &e);
	if (ret != 0)
		GLOG(WARNING, "registration not applied: %s", e.msg);
	return ret;
}

void
ssr_registry_packet(void *arg, struct rte_mbuf *m, uint64_t now)
{
	struct ssr_registry *g = arg;
	struct ssr_control *c = g->c;
	const uint8_t *frame = rte_pktmbuf_mtod(m, const uint8_t *), *msg;
	struct reg_msg rm;
	struct sal_pkt sp;
	uint16_t len;
	uint8_t rv;
	int ret;

	(void)now;
	if (sal_parse(&c->r->sal_conf, frame, rte_pktmbuf_data_len(m),
				sizeof(struct rte_ether_hdr), &sp) != SAL_DROP_NONE ||
			sp.proto != SAL_PROTO_UDP ||
			sp.l4_len < UDP_HDR_LEN + SSR_REG_HDR_LEN) {
		/* no message header to answer to */
		g->st.malformed++;
		ssr_drop(&c->stats, SSR_DROP_SAL_REG_MALFORMED, 1);
		rte_pktmbuf_free(m);
		return;
	}
	msg = frame + sp.l4_off + UDP_HDR_LEN;
	len = (uint16_t)msg[2] << 8 | msg[3];
	memset(&rm, 0, sizeof(rm));
	rm.type = msg[0];
	if (rm.type > SSR_REG_T_MAX || len != SSR_REG_MSG_LEN ||
			sp.l4_len < UDP_HDR_LEN + SSR_REG_MSG_LEN ||
			(rm.type != SSR_REG_T_REGISTER && rm.type != SSR_REG_T_UNREGISTER)) {
		uint8_t echo[SSR_REG_MSG_LEN];
		bool known = rm.type <= SSR_REG_T_MAX && len >= SSR_REG_HDR_LEN &&
			sp.l4_len >= UDP_HDR_LEN + len;

		/* answer what can be answered: a known type we do not serve is
		 * ERROR, anything else MALFORMED */
		memset(echo, 0, sizeof(echo));
		memcpy(echo, msg, sp.l4_len - UDP_HDR_LEN < SSR_REG_MSG_LEN ?
				sp.l4_len - UDP_HDR_LEN : SSR_REG_MSG_LEN);
		echo[2] = 0;
		echo[3] = SSR_REG_MSG_LEN;
		if (known && rm.type != SSR_REG_T_REGISTER &&
				rm.type != SSR_REG_T_UNREGISTER) {
			g->st.refused++;
			ssr_count(&c->stats, SSR_CNT_CONSUMED, 1);
			reply(g, m, frame, &sp, echo, SSR_REG_ERROR);
		} else {
			g->st.malformed++;
			ssr_drop(&c->stats, SSR_DROP_SAL_REG_MALFORMED, 1);
			reply(g, m, frame, &sp, echo, SSR_REG_MALFORMED);
		}
		rte_pktmbuf_free(m);
		return;
	}
	rm.flags = msg[8];
	rm.bits = msg[10] == 0 ? 256 : msg[10];
	rm.addr = (uint32_t)msg[12] << 24 | (uint32_t)msg[13] << 16 |
		(uint32_t)msg[14] << 8 | msg[15];
	memcpy(&rm.sid, msg + 16, sizeof(rm.sid));
	/* the original router's table takes serviceID/prefix: bits past the
	 * prefix do not belong to it */
	svctable_key_mask((struct svctable_key *)(void *)&rm.sid, rm.bits);
	ret = apply(g, &rm, rte_be_to_cpu_32(ssr_sal_client_ip(frame, &sp)));
	rv = retval_of(ret);
	if (rv != SSR_REG_OK)
		g->st.refused++;
	ssr_count(&c->stats, SSR_CNT_SAL_REGISTRATIONS, 1);
	ssr_count(&c->stats, SSR_CNT_CONSUMED, 1);
	reply(g, m, frame, &sp, msg, rv);
	rte_pktmbuf_free(m);
}
