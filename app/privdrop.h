/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The serval-sr authors
 */

/**
 * @file
 * Giving up root once start-up is over. DPDK needs root (or capabilities)
 * to map hugepages, take NICs from the kernel and open raw sockets; once
 * the ports run and the management socket listens, forwarding needs none
 * of it, so a `--user` run keeps only what an unprivileged user has.
 */

#ifndef SSR_PRIVDROP_H
#define SSR_PRIVDROP_H

#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Who to become: the result of ssr_privdrop_parse(). */
struct ssr_privdrop {
	uid_t uid;
	gid_t gid;
};

/**
 * Resolve "USER" or "USER:GROUP" (names or numeric ids) without changing
 * anything, so a typo fails before the EAL starts. Without GROUP, the
 * user's primary group. Any thread.
 *
 * @param spec
 *   The --user argument.
 * @param out
 *   Filled on success.
 * @param err, err_len
 *   A one-line reason on failure.
 * @return
 *   0, or -EINVAL (malformed), -ENOENT (no such user or group).
 */
int
ssr_privdrop_parse(const char *spec, struct ssr_privdrop *out, char *err,
		size_t err_len);

/**
 * Become @p who for the whole process (every thread: glibc applies set*id
 * to all of them): supplementary groups cleared, then group, then user,
 * and no way back (no_new_privs, and setuid(0) is checked to fail). Main
 * lcore, after every port and socket that needs privilege is open.
 *
 * @return
 *   0, or -errno of the step that failed (the process must then stop: it
 *   may have given up only part of its privileges).
 */
int
ssr_privdrop_apply(const struct ssr_privdrop *who, char *err, size_t err_len);

#ifdef __cplusplus
}
#endif

#endif /* SSR_PRIVDROP_H */
