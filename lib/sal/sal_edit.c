/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The serval-sr authors
 */

#include <stdint.h>
#include <string.h>

#include "sal.h"
#include "sal_edit.h"
#include "sal_parse.h"
#include "sal_priv.h"

/* Apply @p diff (sal_csum_diff*) to the transport checksum, if there is one. */
static inline void
sal_l4_csum_apply(uint8_t *frame, const struct sal_pkt *pkt, uint64_t diff)
{
	int off = sal_l4_csum_off(pkt->proto, pkt->l4_len);
	uint8_t *c;

	if (off < 0)
		return;
	c = frame + pkt->l4_off + off;
	if (pkt->proto == SAL_PROTO_UDP) {
		if (sal_get_raw16(c) == 0)
			return; /* no checksum was sent; keep it that way */
		sal_csum_apply(c, diff);
		if (sal_get_raw16(c) == 0)
			sal_put_raw16(c, 0xffff); /* a computed 0 is sent as all ones */
		return;
	}
	sal_csum_apply(c, diff);
}

/*
 * The checksum difference of @p n 4-byte words inserted at @p at, an offset
 * into the SAL header: a byte counts as the high or the low half of its
 * word by the parity of its offset, so words landing at an odd offset count
 * byte-swapped (RFC 1071); bytes after them move by a multiple of 4 and keep
 * their parity.
 */
static inline uint64_t
sal_csum_inserted(const uint8_t *p, unsigned int n, uint32_t at)
{
	uint64_t acc = 0;
	unsigned int i;

	for (i = 0; i < n; i++)
		acc += sal_get_raw32(p + 4 * i);
	if (!(at & 1))
		return acc;
	acc = (acc & 0xffffffffu) + (acc >> 32);
	acc = (acc & 0xffff) + (acc >> 16);
	acc = (acc & 0xffff) + (acc >> 16);
	acc = (acc & 0xffff) + (acc >> 16);
	return (uint16_t)(acc << 8 | acc >> 8);
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
	uint16_t grow = 0, old_w, old_shl_w, old_len_w = 0;
	uint64_t ip_diff, sal_diff = 0;
	uint32_t ins = 0, i, len_w = 0;
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

		/* the words of the SAL header this edit changes, before it */
		old_shl_w = sal_get_raw16(f->data + pkt->sal_off + SAL_OFF_SHL);
		if (pkt->source_off != 0) {
			/* the aligned word holding the SOURCE length byte */
			len_w = (uint32_t)(pkt->source_off + 1 - pkt->sal_off) & ~1u;
			old_len_w = sal_get_raw16(f->data + pkt->sal_off + len_w);
		}

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
		sal = f->data + pkt->sal_off;

		if (pkt->source_off != 0) {
			sal_put_raw32(f->data + ins, old_dst);
			f->data[pkt->source_off + 1] += 4;
			sal_diff = sal_csum_diff16(old_len_w, sal_get_raw16(sal + len_w));
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
		sal_diff += sal_csum_inserted(f->data + ins, grow / 4, ins - pkt->sal_off);
		pkt->shl += grow / 4;
		pkt->ip_len += grow;
		sal[SAL_OFF_SHL] = pkt->shl;
		sal_diff += sal_csum_diff16(old_shl_w, sal_get_raw16(sal + SAL_OFF_SHL));
		sal_csum_apply(sal + SAL_OFF_CSUM, sal_diff);
	}

	/* IPv4: total length, TTL, destination; one incremental checksum update */
	old_w = sal_get_raw16(l3 + SAL_IP_OFF_TOTLEN);
	sal_put16(l3 + SAL_IP_OFF_TOTLEN, pkt->ip_len);
	ip_diff = sal_csum_diff16(old_w, sal_get_raw16(l3 + SAL_IP_OFF_TOTLEN));
	if (!(flags & SAL_FWD_F_KEEP_TTL)) {
		old_w = sal_get_raw16(l3 + SAL_IP_OFF_TTL);
		l3[SAL_IP_OFF_TTL] = (uint8_t)(ttl - 1);
		ip_diff += sal_csum_diff16(old_w, sal_get_raw16(l3 + SAL_IP_OFF_TTL));
	}
	sal_put_raw32(l3 + SAL_IP_OFF_DST, new_dst);
	ip_diff += sal_csum_diff32(old_dst, new_dst);
	sal_csum_apply(l3 + SAL_IP_OFF_CSUM, ip_diff);

	/* Transport: only the destination in the pseudo-header changed. */
	sal_l4_csum_apply(f->data, pkt, sal_csum_diff32(old_dst, new_dst));
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
	old_w = sal_get_raw16(l3 + SAL_IP_OFF_TTL);
	l3[SAL_IP_OFF_TTL]--;
	sal_csum_apply(l3 + SAL_IP_OFF_CSUM,
		sal_csum_diff16(old_w, sal_get_raw16(l3 + SAL_IP_OFF_TTL)));
	return SAL_DROP_NONE;
}

void
sal_edit_set_ip_addrs(uint8_t *frame, const struct sal_pkt *pkt, uint32_t new_src,
	uint32_t new_dst)
{
	uint8_t *l3 = frame + pkt->l3_off;
	/* the pseudo-header holds both addresses: one difference for IP and L4 */
	uint64_t diff = sal_csum_diff32(sal_get_raw32(l3 + SAL_IP_OFF_SRC), new_src) +
		sal_csum_diff32(sal_get_raw32(l3 + SAL_IP_OFF_DST), new_dst);

	sal_put_raw32(l3 + SAL_IP_OFF_SRC, new_src);
	sal_put_raw32(l3 + SAL_IP_OFF_DST, new_dst);
	sal_csum_apply(l3 + SAL_IP_OFF_CSUM, diff);
	sal_l4_csum_apply(frame, pkt, diff);
}

void
sal_edit_set_flowids(uint8_t *frame, struct sal_pkt *pkt, uint32_t src_flowid,
	uint32_t dst_flowid)
{
	uint8_t *sal = frame + pkt->sal_off;
	uint64_t diff = sal_csum_diff32(sal_get_raw32(sal + SAL_OFF_SRC_FLOWID), src_flowid) +
		sal_csum_diff32(sal_get_raw32(sal + SAL_OFF_DST_FLOWID), dst_flowid);

	sal_put_raw32(sal + SAL_OFF_SRC_FLOWID, src_flowid);
	sal_put_raw32(sal + SAL_OFF_DST_FLOWID, dst_flowid);
	sal_csum_apply(sal + SAL_OFF_CSUM, diff);
	pkt->src_flowid = src_flowid;
	pkt->dst_flowid = dst_flowid;
}
