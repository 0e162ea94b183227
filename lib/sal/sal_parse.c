/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The serval-sr authors
 */

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "sal.h"
#include "sal_parse.h"
#include "sal_priv.h"

int
sal_parse_conf_init(struct sal_parse_conf *conf, uint8_t ip_proto, uint32_t flags)
{
	if (conf == NULL || (flags & ~SAL_PARSE_F_ALL) != 0)
		return -EINVAL;
	/* 0 and 255 are reserved; 1, 6, 17 would swallow ICMP, TCP and UDP. */
	if (ip_proto == 0 || ip_proto == 255 || ip_proto == 1 ||
			ip_proto == SAL_PROTO_TCP || ip_proto == SAL_PROTO_UDP)
		return -EINVAL;
	memset(conf, 0, sizeof(*conf));
	conf->ip_proto = ip_proto;
	conf->flags = flags;
	return 0;
}

/*
 * Walk the extensions between sal + 12 and sal + shl * 4 (already known to
 * lie inside the packet) with the original receiver's rules. Offsets go
 * into pkt relative to the frame start (base).
 */
static inline enum sal_drop_reason
sal_parse_exts(const uint8_t *frame, uint32_t base, uint32_t end, struct sal_pkt *pkt)
{
	uint32_t p = base + SAL_BASE_LEN;

	while (p < end) {
		uint8_t type = SAL_EXT_TYPE(frame[p]);
		uint32_t len;

		/* The original stops after 10 and then finds bytes left. */
		if (pkt->n_ext == SAL_MAX_EXT)
			return SAL_DROP_EXT_TOO_MANY;
		if (type >= SAL_EXT_NB_TYPES)
			return SAL_DROP_EXT_UNKNOWN;
		if (type == SAL_EXT_PAD) {
			pkt->ext_off[pkt->n_ext++] = (uint16_t)p;
			p++;
			continue;
		}
		if (end - p < sizeof(struct sal_ext_hdr))
			return SAL_DROP_EXT_LEFTOVER;
		len = frame[p + 1];
		switch (type) {
		case SAL_EXT_CONTROL:
			if (len != SAL_CONTROL_EXT_LEN)
				return SAL_DROP_EXT_BAD_LEN;
			break;
		case SAL_EXT_SERVICE:
			if (len != SAL_SERVICE_EXT_LEN)
				return SAL_DROP_EXT_BAD_LEN;
			break;
		case SAL_EXT_ADDRESS:
			if (len < SAL_ADDRESS_EXT_MIN_LEN || (len - SAL_ADDRESS_EXT_MIN_LEN) % 4)
				return SAL_DROP_EXT_BAD_LEN;
			break;
		default: /* SAL_EXT_SOURCE */
			if (len < SAL_SOURCE_EXT_LEN(SAL_SOURCE_MIN_ADDRS) ||
					(len - SAL_SOURCE_EXT_HDR_LEN) % 4)
				return SAL_DROP_EXT_BAD_LEN;
			break;
		}
		if (len > end - p)
			return SAL_DROP_EXT_PAST_SHL;
		switch (type) {
		case SAL_EXT_CONTROL:
			if (pkt->ctrl_off != 0)
				return SAL_DROP_EXT_DUP_CONTROL;
			pkt->ctrl_off = (uint16_t)p;
			pkt->ctrl_flags = frame[p + offsetof(struct sal_control_ext, flags)];
			break;
		case SAL_EXT_SERVICE:
			if (pkt->n_service == SAL_MAX_SERVICE_EXT)
				return SAL_DROP_EXT_TOO_MANY_SERVICE;
			pkt->service_off[pkt->n_service++] = (uint16_t)p;
			break;
		case SAL_EXT_ADDRESS:
			pkt->n_address++;
			break;
		default:
			if (pkt->source_off != 0)
				return SAL_DROP_EXT_DUP_SOURCE;
			if ((len - SAL_SOURCE_EXT_HDR_LEN) / 4 > SAL_SOURCE_MAX_ADDRS)
				return SAL_DROP_SOURCE_TOO_LONG;
			pkt->source_off = (uint16_t)p;
			pkt->n_source = (uint8_t)((len - SAL_SOURCE_EXT_HDR_LEN) / 4);
			break;
		}
		pkt->ext_off[pkt->n_ext++] = (uint16_t)p;
		p += len;
	}
	return SAL_DROP_NONE;
}

static inline enum sal_drop_reason
sal_parse_inline(const struct sal_parse_conf *conf, const uint8_t *frame,
	uint32_t frame_len, uint16_t l3_off, struct sal_pkt *pkt)
{
	const uint8_t *l3 = frame + l3_off;
	const uint8_t *sal;
	uint32_t avail, ihl, totlen, shl_bytes, sal_off, l4_off, l4_len;
	enum sal_drop_reason r;
	uint16_t frag;

	memset(pkt, 0, sizeof(*pkt));

	/* IPv4 */
	if (frame_len < l3_off || frame_len - l3_off < SAL_IP_MIN_LEN)
		return SAL_DROP_IP_TRUNCATED;
	avail = frame_len - l3_off;
	if ((l3[SAL_IP_OFF_VIHL] >> 4) != 4)
		return SAL_DROP_IP_BAD_VERSION;
	ihl = (uint32_t)(l3[SAL_IP_OFF_VIHL] & 0x0f) * 4;
	if (ihl < SAL_IP_MIN_LEN)
		return SAL_DROP_IP_BAD_IHL;
	if (ihl > avail)
		return SAL_DROP_IP_TRUNCATED;
	totlen = sal_get16(l3 + SAL_IP_OFF_TOTLEN);
	if (totlen < ihl || (uint32_t)l3_off + totlen > UINT16_MAX)
		return SAL_DROP_IP_BAD_TOTLEN;
	if (totlen > avail)
		return SAL_DROP_IP_TRUNCATED;
	if (!(conf->flags & SAL_PARSE_F_NO_IP_CSUM) && sal_csum(l3, ihl) != 0)
		return SAL_DROP_IP_BAD_CSUM;
	if (l3[SAL_IP_OFF_PROTO] != conf->ip_proto)
		return SAL_DROP_NOT_SAL;
	frag = sal_get16(l3 + SAL_IP_OFF_FRAG);
	if (frag & (SAL_IP_FRAG_MF | SAL_IP_FRAG_OFFMASK))
		return SAL_DROP_IP_FRAGMENT;

	/* SAL base header */
	if (totlen - ihl < SAL_BASE_LEN)
		return SAL_DROP_SAL_TRUNCATED;
	sal_off = l3_off + ihl;
	sal = frame + sal_off;
	if (sal[SAL_OFF_SHL] < SAL_SHL_MIN)
		return SAL_DROP_SHL_TOO_SMALL;
	shl_bytes = (uint32_t)sal[SAL_OFF_SHL] * 4;
	if (shl_bytes > totlen - ihl)
		return SAL_DROP_SHL_PAST_PACKET;
	if (!(conf->flags & SAL_PARSE_F_NO_SAL_CSUM) && sal_csum(sal, shl_bytes) != 0)
		return SAL_DROP_SAL_BAD_CSUM;

	r = sal_parse_exts(frame, sal_off, sal_off + shl_bytes, pkt);
	if (r != SAL_DROP_NONE)
		return r;

	/* Transport header, when bytes follow the SAL header. */
	l4_off = sal_off + shl_bytes;
	l4_len = totlen - ihl - shl_bytes;
	if (l4_len > 0) {
		if (sal[SAL_OFF_PROTO] == SAL_PROTO_TCP) {
			uint32_t doff;

			if (l4_len < SAL_TCP_MIN_LEN)
				return SAL_DROP_L4_BAD_HDR;
			doff = (uint32_t)(frame[l4_off + SAL_TCP_OFF_DOFF] >> 4) * 4;
			if (doff < SAL_TCP_MIN_LEN || doff > l4_len)
				return SAL_DROP_L4_BAD_HDR;
		} else if (sal[SAL_OFF_PROTO] == SAL_PROTO_UDP) {
			if (l4_len < SAL_UDP_LEN)
				return SAL_DROP_L4_BAD_HDR;
		}
	}

	pkt->src_flowid = sal_get_raw32(sal + SAL_OFF_SRC_FLOWID);
	pkt->dst_flowid = sal_get_raw32(sal + SAL_OFF_DST_FLOWID);
	pkt->l3_off = l3_off;
	pkt->sal_off = (uint16_t)sal_off;
	pkt->l4_off = (uint16_t)l4_off;
	pkt->l4_len = (uint16_t)l4_len;
	pkt->ip_len = (uint16_t)totlen;
	pkt->shl = sal[SAL_OFF_SHL];
	pkt->proto = sal[SAL_OFF_PROTO];

	if ((conf->flags & SAL_PARSE_F_L4_CSUM) && !sal_verify_l4_csum(frame, pkt))
		return SAL_DROP_L4_BAD_CSUM;
	return SAL_DROP_NONE;
}

enum sal_drop_reason
sal_parse(const struct sal_parse_conf *conf, const uint8_t *frame, uint32_t frame_len,
	uint16_t l3_off, struct sal_pkt *pkt)
{
	enum sal_drop_reason r = sal_parse_inline(conf, frame, frame_len, l3_off, pkt);

	pkt->drop = (uint8_t)r;
	return r;
}

uint32_t
sal_parse_bulk(const struct sal_parse_conf *conf, const uint8_t *const frames[],
	const uint32_t frame_len[], const uint16_t l3_off[], uint32_t n,
	struct sal_pkt pkts[])
{
	uint32_t i, ok = 0;

	for (i = 0; i < n; i++) {
		enum sal_drop_reason r;

		r = sal_parse_inline(conf, frames[i], frame_len[i], l3_off[i], &pkts[i]);
		pkts[i].drop = (uint8_t)r;
		ok += (r == SAL_DROP_NONE);
	}
	return ok;
}

bool
sal_verify_ip_csum(const uint8_t *frame, const struct sal_pkt *pkt)
{
	return sal_csum(frame + pkt->l3_off, (uint32_t)(pkt->sal_off - pkt->l3_off)) == 0;
}

bool
sal_verify_sal_csum(const uint8_t *frame, const struct sal_pkt *pkt)
{
	return sal_csum(frame + pkt->sal_off, (uint32_t)pkt->shl * 4) == 0;
}

bool
sal_verify_l4_csum(const uint8_t *frame, const struct sal_pkt *pkt)
{
	const uint8_t *l4 = frame + pkt->l4_off;
	int off = sal_l4_csum_off(pkt->proto, pkt->l4_len);
	uint32_t sum;

	if (off < 0)
		return true;
	if (pkt->proto == SAL_PROTO_UDP && sal_get16(l4 + off) == 0)
		return true; /* sender sent no UDP checksum */
	sum = sal_pseudo_sum(frame + pkt->l3_off, pkt->proto, pkt->l4_len);
	return sal_csum_fold(sal_csum_add(sum, l4, pkt->l4_len)) == 0xffff;
}
