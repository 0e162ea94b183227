/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The serval-sr authors
 */

#include <errno.h>
#include <grp.h>
#include <stdint.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "privdrop.h"

/* A decimal id in 0..UINT32_MAX-1 ((uid_t)-1 means "unchanged" to set*id). */
static int
parse_id(const char *s, unsigned long *out)
{
	char *end;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	*out = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || *out >= UINT32_MAX)
		return -EINVAL;
	return 0;
}

static int
find_user(const char *name, struct ssr_privdrop *out, char *err, size_t err_len)
{
	char buf[4096];
	struct passwd pw, *res = NULL;
	unsigned long id;

	if (getpwnam_r(name, &pw, buf, sizeof(buf), &res) == 0 && res != NULL) {
		out->uid = pw.pw_uid;
		out->gid = pw.pw_gid;
		return 0;
	}
	if (parse_id(name, &id) != 0) {
		snprintf(err, err_len, "no user '%s'", name);
		return -ENOENT;
	}
	out->uid = (uid_t)id;
	/* a numeric user with no passwd entry has no primary group: its own
	 * number, as setpriv and container runtimes do */
	out->gid = (gid_t)id;
	if (getpwuid_r(out->uid, &pw, buf, sizeof(buf), &res) == 0 && res != NULL)
		out->gid = pw.pw_gid;
	return 0;
}

static int
find_group(const char *name, gid_t *out, char *err, size_t err_len)
{
	char buf[4096];
	struct group gr, *res = NULL;
	unsigned long id;

	if (getgrnam_r(name, &gr, buf, sizeof(buf), &res) == 0 && res != NULL) {
		*out = gr.gr_gid;
		return 0;
	}
	if (parse_id(name, &id) != 0) {
		snprintf(err, err_len, "no group '%s'", name);
		return -ENOENT;
	}
	*out = (gid_t)id;
	return 0;
}

int
ssr_privdrop_parse(const char *spec, struct ssr_privdrop *out, char *err,
		size_t err_len)
{
	char user[256];
	const char *colon = strchr(spec, ':');
	size_t ulen = colon != NULL ? (size_t)(colon - spec) : strlen(spec);
	int ret;

	if (ulen == 0 || ulen >= sizeof(user) || (colon != NULL && colon[1] == '\0')) {
		snprintf(err, err_len, "'%.64s' is not USER or USER:GROUP", spec);
		return -EINVAL;
	}
	memcpy(user, spec, ulen);
	user[ulen] = '\0';
	ret = find_user(user, out, err, err_len);
	if (ret == 0 && colon != NULL)
		ret = find_group(colon + 1, &out->gid, err, err_len);
	return ret;
}

static int
fail(const char *step, char *err, size_t err_len)
{
	int e = errno != 0 ? errno : EPERM;

	snprintf(err, err_len, "%s: %s", step, strerror(e));
	return -e;
}

int
ssr_privdrop_apply(const struct ssr_privdrop *who, char *err, size_t err_len)
{
	/* groups before the user: once the uid is not 0 they cannot change */
	if (setgroups(1, &who->gid) != 0)
		return fail("setgroups", err, err_len);
	if (setresgid(who->gid, who->gid, who->gid) != 0)
		return fail("setresgid", err, err_len);
	if (setresuid(who->uid, who->uid, who->uid) != 0)
		return fail("setresuid", err, err_len);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		return fail("prctl(PR_SET_NO_NEW_PRIVS)", err, err_len);
	/* the proof, not the hope: a way back would mean nothing was dropped */
	if (who->uid != 0 && (setuid(0) == 0 || geteuid() != who->uid)) {
		errno = EPERM;
		return fail("root could be regained", err, err_len);
	}
	if (getegid() != who->gid) {
		errno = EPERM;
		return fail("the group did not change", err, err_len);
	}
	return 0;
}
