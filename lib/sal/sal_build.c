/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The serval-sr authors
 */

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "sal.h"
#include "sal_build.h"
#include "sal_parse.h"
#include "sal_priv.h"

void
sal_msg_init(struct sal_msg *m)
{
	memset(m, 0, sizeof(*m));
	m->ip_ttl = 64;
	m->ip_proto = SAL_IPPROTO_DEFAULT;
}

/* Wire length of one extension, or 0 when the spec is invalid. */
static uint32_t
sal_ext_spec_len(const struct sal_ext_spec *e)
{
	if (e->res4 > 0x0f)
		return 0;
	switch (e->type) {
	case SAL_EXT_PAD:
		return 1;
	case SAL_EXT_CONTROL:
		return e->res > 0xff ? 0 : SAL_CONTROL_EXT_LEN;
	case SAL_EXT_SERVICE:
		return SAL_SERVICE_EXT_LEN;
	case SAL_EXT_ADDRESS:
		if (e->u.address.n_addr > SAL_ADDRESS_MAX_ADDRS ||
				(e->u.address.n_addr > 0 && e->u.address.addr == NULL))
			return 0;
		return SAL_ADDRESS_EXT_MIN_LEN + 4u * e->u.address.n_addr;
	case SAL_EXT_SOURCE:
		if (e->u.source.n_addr < SAL_SOURCE_MIN_ADDRS ||
				e->u.source.n_addr > SAL_SOURCE_MAX_ADDRS || e->u.source.addr == NULL)
			return 0;
		return SAL_SOURCE_EXT_LEN(e->u.source.n_addr);
	default:
		return 0;
	}
}

/* SAL header length in bytes, or 0 when the extensions break a rule. */
static uint32_t
sal_msg_sal_len(const struct sal_msg *m)
{
	uint32_t len = SAL_BASE_LEN, i, n_ctrl = 0, n_srv = 0, n_src = 0;

	if (m->n_ext > SAL_MAX_EXT)
		return 0;
	for (i = 0; i < m->n_ext; i++) {
		uint32_t l = sal_ext_spec_len(&m->ext[i]);

		if (l == 0)
			return 0;
		n_ctrl += m->ext[i].type == SAL_EXT_CONTROL;
		n_srv += m->ext[i].type == SAL_EXT_SERVICE;
		n_src += m->ext[i].type == SAL_EXT_SOURCE;
		len += l;
	}
	if (n_ctrl > 1 || n_srv > SAL_MAX_SERVICE_EXT || n_src > 1)
		return 0;
	if (len % 4 != 0 || len > SAL_SHL_MAX * 4)
		return 0;
	return len;
}

/* Would the parser accept these transport bytes? */
static int
sal_l4_ok(uint8_t proto, const uint8_t *l4, uint32_t l4_len)
{
	if (l4_len == 0)
		return 1;
	if (l4 == NULL)
		return 0;
	if (proto == SAL_PROTO_TCP) {
		uint32_t doff;

		if (l4_len < SAL_TCP_MIN_LEN)
			return 0;
		doff = (uint32_t)(l4[SAL_TCP_OFF_DOFF] >> 4) * 4;
		return doff >= SAL_TCP_MIN_LEN && doff <= l4_len;
	}
	if (proto == SAL_PROTO_UDP)
		return l4_len >= SAL_UDP_LEN;
	return 1;
}

int
sal_build_len(const struct sal_msg *m)
{
	uint32_t sal_len, total;

	if (m == NULL || (m->flags & ~SAL_BUILD_F_ALL) != 0)
		return -EINVAL;
	if (m->ip_opt_len > SAL_IP_MAX_LEN - SAL_IP_MIN_LEN || m->ip_opt_len % 4 != 0 ||
			(m->ip_opt_len > 0 && m->ip_opt == NULL))
		return -EINVAL;
	if (m->ip_frag & (SAL_IP_FRAG_MF | SAL_IP_FRAG_OFFMASK))
		return -EINVAL;
	sal_len = sal_msg_sal_len(m);
	if (sal_len == 0)
		return -EINVAL;
	if (!sal_l4_ok(m->proto, m->l4, m->l4_len) || m->l4_len > UINT16_MAX)
		return -EINVAL;
	total = SAL_IP_MIN_LEN + m->ip_opt_len + sal_len + m->l4_len;
	if (total > UINT16_MAX)
		return -EINVAL;
	return (int)total;
}

static uint8_t *
sal_put_ext(uint8_t *p, const struct sal_ext_spec *e)
{
	uint32_t len = sal_ext_spec_len(e);

	p[0] = (uint8_t)(SAL_EXT_BYTE0(e->type) | e->res4);
	if (e->type == SAL_EXT_PAD)
		return p + 1;
	p[1] = (uint8_t)len;
	switch (e->type) {
	case SAL_EXT_CONTROL:
		p[2] = e->u.control.flags;
		p[3] = (uint8_t)e->res;
		sal_put32(p + 4, e->u.control.verno);
		sal_put32(p + 8, e->u.control.ackno);
		memcpy(p + 12, e->u.control.nonce, SAL_NONCE_LEN);
		break;
	case SAL_EXT_SERVICE:
		sal_put16(p + 2, e->res);
		memcpy(p + 4, e->u.service.b, sizeof(e->u.service.b));
		break;
	case SAL_EXT_ADDRESS:
		sal_put16(p + 2, e->res);
		sal_put32(p + 4, e->u.address.verno);
		sal_put32(p + 8, e->u.address.ackno);
		if (e->u.address.n_addr > 0)
			memcpy(p + 12, e->u.address.addr, 4u * e->u.address.n_addr);
		break;
	default: /* SAL_EXT_SOURCE */
		sal_put16(p + 2, e->res);
		memcpy(p + 4, e->u.source.addr, 4u * e->u.source.n_addr);
		break;
	}
	return p + len;
}

int
sal_build(const struct sal_msg *m, uint8_t *buf, uint32_t cap)
{
	uint32_t ihl, i;
	uint8_t *sal, *p;
	int total;

	total = sal_build_len(m);
	if (total < 0)
		return total;
	if (buf == NULL || cap < (uint32_t)total)
		return -ENOSPC;

	ihl = SAL_IP_MIN_LEN + m->ip_opt_len;
	buf[SAL_IP_OFF_VIHL] = (uint8_t)(0x40 | ihl / 4);
	buf[SAL_IP_OFF_TOS] = m->ip_tos;
	sal_put16(buf + SAL_IP_OFF_TOTLEN, (uint16_t)total);
	sal_put16(buf + SAL_IP_OFF_ID, m->ip_id);
	sal_put16(buf + SAL_IP_OFF_FRAG, m->ip_frag);
	buf[SAL_IP_OFF_TTL] = m->ip_ttl;
	buf[SAL_IP_OFF_PROTO] = m->ip_proto;
	sal_put_raw32(buf + SAL_IP_OFF_SRC, m->ip_src);
	sal_put_raw32(buf + SAL_IP_OFF_DST, m->ip_dst);
	if (m->ip_opt_len > 0)
		memcpy(buf + SAL_IP_MIN_LEN, m->ip_opt, m->ip_opt_len);
	sal_ip_csum_set(buf);

	sal = buf + ihl;
	sal_put_raw32(sal + SAL_OFF_SRC_FLOWID, m->src_flowid);
	sal_put_raw32(sal + SAL_OFF_DST_FLOWID, m->dst_flowid);
	sal[SAL_OFF_PROTO] = m->proto;
	p = sal + SAL_BASE_LEN;
	for (i = 0; i < m->n_ext; i++)
		p = sal_put_ext(p, &m->ext[i]);
	sal[SAL_OFF_SHL] = (uint8_t)((uint32_t)(p - sal) / 4);
	sal_sal_csum_set(sal);

	if (m->l4_len > 0) {
		memcpy(p, m->l4, m->l4_len);
		if (!(m->flags & SAL_BUILD_F_RAW_L4))
			sal_l4_csum_set(buf, m->proto, p, m->l4_len);
	}
	return total;
}

int
sal_msg_from_pkt(const uint8_t *frame, const struct sal_pkt *pkt, struct sal_msg *m)
{
	const uint8_t *l3;
	uint32_t i, ihl;

	if (frame == NULL || pkt == NULL || m == NULL || pkt->drop != SAL_DROP_NONE ||
			pkt->sal_off == 0)
		return -EINVAL;
	l3 = frame + pkt->l3_off;
	ihl = (uint32_t)(pkt->sal_off - pkt->l3_off);

	memset(m, 0, sizeof(*m));
	m->ip_tos = l3[SAL_IP_OFF_TOS];
	m->ip_id = sal_get16(l3 + SAL_IP_OFF_ID);
	m->ip_frag = sal_get16(l3 + SAL_IP_OFF_FRAG);
	m->ip_ttl = l3[SAL_IP_OFF_TTL];
	m->ip_proto = l3[SAL_IP_OFF_PROTO];
	m->ip_src = sal_get_raw32(l3 + SAL_IP_OFF_SRC);
	m->ip_dst = sal_get_raw32(l3 + SAL_IP_OFF_DST);
	m->ip_opt_len = (uint8_t)(ihl - SAL_IP_MIN_LEN);
	m->ip_opt = m->ip_opt_len > 0 ? l3 + SAL_IP_MIN_LEN : NULL;

	m->src_flowid = pkt->src_flowid;
	m->dst_flowid = pkt->dst_flowid;
	m->proto = pkt->proto;
	m->n_ext = pkt->n_ext;
	for (i = 0; i < pkt->n_ext; i++) {
		const uint8_t *x = frame + pkt->ext_off[i];
		struct sal_ext_spec *e = &m->ext[i];

		e->type = SAL_EXT_TYPE(x[0]);
		e->res4 = x[0] & 0x0f;
		switch (e->type) {
		case SAL_EXT_PAD:
			break;
		case SAL_EXT_CONTROL:
			e->res = x[3];
			e->u.control.flags = x[2];
			e->u.control.verno = sal_get32(x + 4);
			e->u.control.ackno = sal_get32(x + 8);
			memcpy(e->u.control.nonce, x + 12, SAL_NONCE_LEN);
			break;
		case SAL_EXT_SERVICE:
			e->res = sal_get16(x + 2);
			memcpy(e->u.service.b, x + 4, sizeof(e->u.service.b));
			break;
		case SAL_EXT_ADDRESS:
			e->res = sal_get16(x + 2);
			e->u.address.verno = sal_get32(x + 4);
			e->u.address.ackno = sal_get32(x + 8);
			e->u.address.n_addr = (uint8_t)((x[1] - SAL_ADDRESS_EXT_MIN_LEN) / 4);
			e->u.address.addr = x + SAL_ADDRESS_EXT_MIN_LEN;
			break;
		default: /* SAL_EXT_SOURCE */
			e->res = sal_get16(x + 2);
			e->u.source.n_addr = (uint8_t)((x[1] - SAL_SOURCE_EXT_HDR_LEN) / 4);
			e->u.source.addr = x + SAL_SOURCE_EXT_HDR_LEN;
			break;
		}
	}
	m->l4 = pkt->l4_len > 0 ? frame + pkt->l4_off : NULL;
	m->l4_len = pkt->l4_len;
	return 0;
}

int
sal_build_rst(const uint8_t *frame, const struct sal_pkt *pkt, uint8_t ttl, uint16_t ip_id,
	uint8_t *buf, uint32_t cap)
{
	struct sal_msg m;
	struct sal_ext_spec *c;

	if (frame == NULL || pkt == NULL || pkt->drop != SAL_DROP_NONE || pkt->sal_off == 0)
		return -EINVAL;
	/* The original never answers a RST with a RST (no reset storms). */
	if (pkt->ctrl_flags & SAL_CTRL_RST)
		return -EINVAL;

	sal_msg_init(&m);
	m.ip_src = sal_pkt_ip_dst(frame, pkt);
	m.ip_dst = sal_pkt_ip_src(frame, pkt);
	m.ip_id = ip_id;
	m.ip_ttl = ttl;
	m.ip_proto = frame[pkt->l3_off + SAL_IP_OFF_PROTO];
	m.src_flowid = pkt->dst_flowid;
	m.dst_flowid = pkt->src_flowid;
	m.proto = pkt->proto;
	m.n_ext = 1;
	c = &m.ext[0];
	c->type = SAL_EXT_CONTROL;
	c->u.control.flags = SAL_CTRL_RST;
	if (pkt->ctrl_flags & SAL_CTRL_ACK) {
		c->u.control.verno = sal_pkt_ackno(frame, pkt);
	} else {
		c->u.control.flags |= SAL_CTRL_ACK;
		c->u.control.ackno = sal_pkt_verno(frame, pkt) +
			!!(pkt->ctrl_flags & SAL_CTRL_SYN) + !!(pkt->ctrl_flags & SAL_CTRL_FIN);
	}
	if (pkt->ctrl_off != 0)
		memcpy(c->u.control.nonce,
			frame + pkt->ctrl_off + offsetof(struct sal_control_ext, nonce),
			SAL_NONCE_LEN);
	return sal_build(&m, buf, cap);
}
