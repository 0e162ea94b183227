/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The serval-sr authors
 */

#include <stdint.h>
#include <string.h>

#include "sal.h"
#include "sal_edit.h"
#include "sal_parse.h"
#include "sal_priv.h"

/* Incremental transport checksum update for a changed 32-bit pseudo-header word. */
static inline void
sal_l4_csum_update32(uint8_t *frame, const struct sal_pkt *pkt, uint32_t old_be,
	uint32_t new_be)
{
	int off = sal_l4_csum_off(pkt->proto, pkt->l4_len);
	uint8_t *c;
	uint16_t v;

	if (off < 0 || old_be == new_be)
		return;
	c = frame + pkt->l4_off + off;
	v = sal_get16(c);
	if (pkt->proto == SAL_PROTO_UDP) {
		if (v == 0)
			return; /* no checksum was sent; keep it that way */
		v = sal_csum_update32(v, old_be, new_be);
		sal_put16(c, v == 0 ? 0xffff : v);
		return;
	}
	sal_put16(c, sal_csum_update32(v, old_be, new_be));
}

static inline void
sal_shift_offsets(struct sal_pkt *pkt, uint32_t ins, uint16_t grow)
{
	uint32_t i;

	for (i = 0; i < pkt->n_ext; i++)
		if (pkt->ext_off[i] >= ins)
			pkt->ext_off[i] += grow;
	for (i = 0; i < pkt->n_service; i++)
		if (pkt->service_off[i] >= ins)
			pkt->service_off[i] += grow;
	if (pkt->ctrl_off >= ins)
		pkt->ctrl_off += grow;
	if (pkt->source_off >= ins)
		pkt->source_off += grow;
	pkt->l4_off += grow;
}

static enum sal_drop_reason
sal_edit_forward_inner(struct sal_frame *f, struct sal_pkt *pkt, uint32_t new_dst,
	uint32_t flags, struct sal_edit_res *res)
{
	uint8_t *l3 = f->data + pkt->l3_off;
	uint32_t ip_src = sal_get_raw32(l3 + SAL_IP_OFF_SRC);
	uint32_t old_dst = sal_get_raw32(l3 + SAL_IP_OFF_DST);
	uint8_t ttl = l3[SAL_IP_OFF_TTL];
	uint16_t grow = 0, old_w, ipc;
	uint32_t ins = 0, i;
	uint8_t *sal;

	if (!(flags & SAL_FWD_F_KEEP_TTL) && ttl <= 1)
		return SAL_DROP_TTL_EXPIRED;

	if (!(flags & SAL_FWD_F_NO_SOURCE)) {
		if (pkt->source_off != 0) {
			for (i = 0; i < pkt->n_source; i++)
				if (sal_pkt_source_addr(f->data, pkt, i) == old_dst)
					return SAL_DROP_SOURCE_LOOP;
			if (pkt->n_source >= SAL_SOURCE_MAX_ADDRS)
				return SAL_DROP_SOURCE_TOO_LONG;
			grow = 4;
			ins = pkt->source_off + SAL_SOURCE_EXT_LEN(pkt->n_source);
		} else {
			if (pkt->n_ext >= SAL_MAX_EXT)
				return SAL_DROP_EXT_TOO_MANY;
			grow = SAL_SOURCE_EXT_LEN(SAL_SOURCE_MIN_ADDRS);
			ins = pkt->l4_off;
		}
		if (pkt->shl + grow / 4 > SAL_SHL_MAX ||
				(uint32_t)pkt->ip_len + grow > UINT16_MAX ||
				(uint32_t)pkt->l3_off + pkt->ip_len + grow > UINT16_MAX)
			return SAL_DROP_EDIT_TOO_LONG;

		/* Move whichever side we have room for; headers first (shorter). */
		if (f->headroom >= grow) {
			memmove(f->data - grow, f->data, ins);
			f->data -= grow;
			f->headroom -= grow;
			res->prepended = grow;
		} else if (f->tailroom >= grow) {
			memmove(f->data + ins + grow, f->data + ins, f->len - ins);
			f->tailroom -= grow;
			res->appended = grow;
		} else {
			return SAL_DROP_EDIT_NO_ROOM;
		}
		f->len += grow;
		l3 = f->data + pkt->l3_off;

		if (pkt->source_off != 0) {
			sal_put_raw32(f->data + ins, old_dst);
			f->data[pkt->source_off + 1] += 4;
			sal_shift_offsets(pkt, ins, grow);
			pkt->n_source++;
		} else {
			uint8_t *x = f->data + ins;

			x[0] = SAL_EXT_BYTE0(SAL_EXT_SOURCE);
			x[1] = (uint8_t)grow;
			x[2] = 0;
			x[3] = 0;
			sal_put_raw32(x + 4, ip_src);
			sal_put_raw32(x + 8, old_dst);
			sal_shift_offsets(pkt, ins, grow);
			pkt->ext_off[pkt->n_ext++] = (uint16_t)ins;
			pkt->source_off = (uint16_t)ins;
			pkt->n_source = SAL_SOURCE_MIN_ADDRS;
		}
		pkt->shl += grow / 4;
		pkt->ip_len += grow;
		sal = f->data + pkt->sal_off;
		sal[SAL_OFF_SHL] = pkt->shl;
		sal_sal_csum_set(sal);
	}

	/* IPv4: total length, TTL, destination; incremental header checksum. */
	ipc = sal_get16(l3 + SAL_IP_OFF_CSUM);
	old_w = sal_get16(l3 + SAL_IP_OFF_TOTLEN);
	sal_put16(l3 + SAL_IP_OFF_TOTLEN, pkt->ip_len);
	ipc = sal_csum_update16(ipc, old_w, pkt->ip_len);
	if (!(flags & SAL_FWD_F_KEEP_TTL)) {
		old_w = sal_get16(l3 + SAL_IP_OFF_TTL);
		l3[SAL_IP_OFF_TTL] = (uint8_t)(ttl - 1);
		ipc = sal_csum_update16(ipc, old_w, sal_get16(l3 + SAL_IP_OFF_TTL));
	}
	sal_put_raw32(l3 + SAL_IP_OFF_DST, new_dst);
	ipc = sal_csum_update32(ipc, old_dst, new_dst);
	sal_put16(l3 + SAL_IP_OFF_CSUM, ipc);

	/* Transport: only the destination in the pseudo-header changed. */
	sal_l4_csum_update32(f->data, pkt, old_dst, new_dst);
	return SAL_DROP_NONE;
}

enum sal_drop_reason
sal_edit_forward(struct sal_frame *f, struct sal_pkt *pkt, uint32_t new_dst, uint32_t flags,
	struct sal_edit_res *res)
{
	enum sal_drop_reason r;

	res->prepended = 0;
	res->appended = 0;
	if (pkt->drop != SAL_DROP_NONE || pkt->sal_off == 0 || (flags & ~SAL_FWD_F_ALL) ||
			f->data == NULL || (uint32_t)pkt->l3_off + pkt->ip_len > f->len)
		r = SAL_DROP_EDIT_BAD_ARG;
	else
		r = sal_edit_forward_inner(f, pkt, new_dst, flags, res);
	pkt->drop = (uint8_t)r;
	return r;
}

enum sal_drop_reason
sal_edit_dec_ttl(uint8_t *frame, const struct sal_pkt *pkt)
{
	uint8_t *l3 = frame + pkt->l3_off;
	uint16_t old_w;

	if (l3[SAL_IP_OFF_TTL] <= 1)
		return SAL_DROP_TTL_EXPIRED;
	old_w = sal_get16(l3 + SAL_IP_OFF_TTL);
	l3[SAL_IP_OFF_TTL]--;
	sal_put16(l3 + SAL_IP_OFF_CSUM, sal_csum_update16(sal_get16(l3 + SAL_IP_OFF_CSUM),
		old_w, sal_get16(l3 + SAL_IP_OFF_TTL)));
	return SAL_DROP_NONE;
}

void
sal_edit_set_ip_addrs(uint8_t *frame, const struct sal_pkt *pkt, uint32_t new_src,
	uint32_t new_dst)
{
	uint8_t *l3 = frame + pkt->l3_off;
	uint32_t old_src = sal_get_raw32(l3 + SAL_IP_OFF_SRC);
	uint32_t old_dst = sal_get_raw32(l3 + SAL_IP_OFF_DST);
	uint16_t ipc = sal_get16(l3 + SAL_IP_OFF_CSUM);

	ipc = sal_csum_update32(ipc, old_src, new_src);
	ipc = sal_csum_update32(ipc, old_dst, new_dst);
	sal_put_raw32(l3 + SAL_IP_OFF_SRC, new_src);
	sal_put_raw32(l3 + SAL_IP_OFF_DST, new_dst);
	sal_put16(l3 + SAL_IP_OFF_CSUM, ipc);
	sal_l4_csum_update32(frame, pkt, old_src, new_src);
	sal_l4_csum_update32(frame, pkt, old_dst, new_dst);
}

void
sal_edit_set_flowids(uint8_t *frame, struct sal_pkt *pkt, uint32_t src_flowid,
	uint32_t dst_flowid)
{
	uint8_t *sal = frame + pkt->sal_off;
	uint16_t c = sal_get16(sal + SAL_OFF_CSUM);

	c = sal_csum_update32(c, sal_get_raw32(sal + SAL_OFF_SRC_FLOWID), src_flowid);
	c = sal_csum_update32(c, sal_get_raw32(sal + SAL_OFF_DST_FLOWID), dst_flowid);
	sal_put_raw32(sal + SAL_OFF_SRC_FLOWID, src_flowid);
	sal_put_raw32(sal + SAL_OFF_DST_FLOWID, dst_flowid);
	sal_put16(sal + SAL_OFF_CSUM, c);
	pkt->src_flowid = src_flowid;
	pkt->dst_flowid = dst_flowid;
}
