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
 * The checksum difference of inserting words whose raw 4-byte values sum to
 * @p acc (three at most: no overflow) at @p at, an offset into the SAL
 * header: a byte counts as the high or the low half of its word by the
 * parity of its offset, so words landing at an odd offset count
 * byte-swapped (RFC 1071); bytes after them move by a multiple of 4 and keep
 * their parity.
 */
static inline uint64_t
sal_csum_inserted(uint64_t acc, uint32_t at)
{
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

/*
 * Every header word this edit changes is read before the move and its new
 * value made in a register (see sal_raw16_of()): reading a word back from
 * the bytes just stored or just moved stalls on store forwarding, which
 * cost more than the rest of the edit.
 */
static enum sal_drop_reason
sal_edit_forward_inner(struct sal_frame *f, struct sal_pkt *pkt, uint32_t new_dst,
	uint32_t flags, struct sal_edit_res *res)
{
	uint8_t *l3 = f->data + pkt->l3_off;
	uint32_t ip_src = sal_get_raw32(l3 + SAL_IP_OFF_SRC);
	uint32_t old_dst = sal_get_raw32(l3 + SAL_IP_OFF_DST);
	uint16_t ip_len_w = sal_get_raw16(l3 + SAL_IP_OFF_TOTLEN);
	uint16_t ttl_w = sal_get_raw16(l3 + SAL_IP_OFF_TTL);
	uint16_t ip_ck = sal_get_raw16(l3 + SAL_IP_OFF_CSUM);
	uint8_t ttl = l3[SAL_IP_OFF_TTL];
	uint16_t grow = 0, new_w;
	uint64_t ip_diff, diff_dst;
	uint32_t ins = 0, i;

	if (!(flags & SAL_FWD_F_KEEP_TTL) && ttl <= 1)
		return SAL_DROP_TTL_EXPIRED;

	if (!(flags & SAL_FWD_F_NO_SOURCE)) {
		uint16_t old_shl_w, sal_ck, old_len_w = 0, len_w = 0;
		uint64_t sal_diff;
		uint8_t *sal, src_len = 0;

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
		sal = f->data + pkt->sal_off;
		old_shl_w = sal_get_raw16(sal + SAL_OFF_SHL);
		sal_ck = sal_get_raw16(sal + SAL_OFF_CSUM);
		if (pkt->source_off != 0) {
			/* the aligned word holding the SOURCE length byte */
			len_w = (uint16_t)((pkt->source_off + 1 - pkt->sal_off) & ~1u);
			old_len_w = sal_get_raw16(sal + len_w);
			src_len = f->data[pkt->source_off + 1];
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
			/* the length byte is the odd byte of its word when the
			 * extension starts at an even SAL offset */
			new_w = sal_raw16_with(old_len_w, pkt->source_off + 1 - pkt->sal_off,
					(uint8_t)(src_len + 4));
			sal_put_raw32(f->data + ins, old_dst);
			sal_put_raw16(sal + len_w, new_w);
			sal_diff = sal_csum_diff16(old_len_w, new_w) +
				sal_csum_inserted(old_dst, ins - pkt->sal_off);
			sal_shift_offsets(pkt, ins, grow);
			pkt->n_source++;
		} else {
			uint8_t *x = f->data + ins;
			uint32_t hdr = sal_raw32_of(SAL_EXT_BYTE0(SAL_EXT_SOURCE),
					(uint8_t)grow, 0, 0);

			sal_put_raw32(x, hdr);
			sal_put_raw32(x + 4, ip_src);
			sal_put_raw32(x + 8, old_dst);
			sal_diff = sal_csum_inserted((uint64_t)hdr + ip_src + old_dst,
					ins - pkt->sal_off);
			/* inserted at the end of the SAL header: every extension
			 * lies before it, only the transport header moves */
			pkt->l4_off += grow;
			pkt->ext_off[pkt->n_ext++] = (uint16_t)ins;
			pkt->source_off = (uint16_t)ins;
			pkt->n_source = SAL_SOURCE_MIN_ADDRS;
		}
		pkt->shl += grow / 4;
		pkt->ip_len += grow;
		new_w = sal_raw16_with(old_shl_w, 0, pkt->shl);
		sal_put_raw16(sal + SAL_OFF_SHL, new_w);
		sal_diff += sal_csum_diff16(old_shl_w, new_w);
		sal_put_raw16(sal + SAL_OFF_CSUM, sal_csum_adjust(sal_ck, sal_diff));
	}

	/* IPv4: total length, TTL, destination; one incremental checksum update */
	new_w = sal_raw16_be(pkt->ip_len);
	sal_put_raw16(l3 + SAL_IP_OFF_TOTLEN, new_w);
	ip_diff = sal_csum_diff16(ip_len_w, new_w);
	if (!(flags & SAL_FWD_F_KEEP_TTL)) {
		new_w = sal_raw16_with(ttl_w, 0, (uint8_t)(ttl - 1));
		sal_put_raw16(l3 + SAL_IP_OFF_TTL, new_w);
		ip_diff += sal_csum_diff16(ttl_w, new_w);
	}
	sal_put_raw32(l3 + SAL_IP_OFF_DST, new_dst);
	diff_dst = sal_csum_diff32(old_dst, new_dst);
	sal_put_raw16(l3 + SAL_IP_OFF_CSUM, sal_csum_adjust(ip_ck, ip_diff + diff_dst));

	/* Transport: only the destination in the pseudo-header changed. */
	sal_l4_csum_apply(f->data, pkt, diff_dst);
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
	uint16_t old_w, new_w;

	if (l3[SAL_IP_OFF_TTL] <= 1)
		return SAL_DROP_TTL_EXPIRED;
	/* the new word from registers, not read back (sal_raw16_of()) */
	old_w = sal_get_raw16(l3 + SAL_IP_OFF_TTL);
	new_w = sal_raw16_with(old_w, 0, (uint8_t)(l3[SAL_IP_OFF_TTL] - 1));
	sal_put_raw16(l3 + SAL_IP_OFF_TTL, new_w);
	sal_csum_apply(l3 + SAL_IP_OFF_CSUM, sal_csum_diff16(old_w, new_w));
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

enum sal_drop_reason
sal_edit_relay(uint8_t *frame, struct sal_pkt *pkt, uint32_t new_src, uint32_t new_dst,
	uint32_t src_flowid, uint32_t dst_flowid)
{
	uint8_t *l3 = frame + pkt->l3_off;
	uint8_t *sal = frame + pkt->sal_off;
	uint16_t ttl_w, new_w;
	uint64_t addr_diff, sal_diff;

	if (l3[SAL_IP_OFF_TTL] <= 1)
		return SAL_DROP_TTL_EXPIRED;
	/* the new TTL word from registers, not read back (sal_raw16_of()) */
	ttl_w = sal_get_raw16(l3 + SAL_IP_OFF_TTL);
	new_w = sal_raw16_with(ttl_w, 0, (uint8_t)(l3[SAL_IP_OFF_TTL] - 1));
	/* the pseudo-header holds both addresses: one difference for IP and L4 */
	addr_diff = sal_csum_diff32(sal_get_raw32(l3 + SAL_IP_OFF_SRC), new_src) +
		sal_csum_diff32(sal_get_raw32(l3 + SAL_IP_OFF_DST), new_dst);
	sal_diff = sal_csum_diff32(sal_get_raw32(sal + SAL_OFF_SRC_FLOWID), src_flowid) +
		sal_csum_diff32(sal_get_raw32(sal + SAL_OFF_DST_FLOWID), dst_flowid);

	sal_put_raw16(l3 + SAL_IP_OFF_TTL, new_w);
	sal_put_raw32(l3 + SAL_IP_OFF_SRC, new_src);
	sal_put_raw32(l3 + SAL_IP_OFF_DST, new_dst);
	sal_csum_apply(l3 + SAL_IP_OFF_CSUM, addr_diff + sal_csum_diff16(ttl_w, new_w));
	sal_l4_csum_apply(frame, pkt, addr_diff);
	sal_put_raw32(sal + SAL_OFF_SRC_FLOWID, src_flowid);
	sal_put_raw32(sal + SAL_OFF_DST_FLOWID, dst_flowid);
	sal_csum_apply(sal + SAL_OFF_CSUM, sal_diff);
	pkt->src_flowid = src_flowid;
	pkt->dst_flowid = dst_flowid;
	return SAL_DROP_NONE;
}
