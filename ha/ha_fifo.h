/*
 * ha_fifo.h: keepalived's notify FIFO, as plain data. PURE: no I/O.
 *
 * keepalived (vrrp_notify_fifo / notify_fifo) writes one line per VRRP
 * event:
 *
 *	INSTANCE "VI_1" MASTER 100
 *	GROUP "G1" BACKUP 0
 *
 * the type (INSTANCE or GROUP), the name in double quotes, the state or
 * event, and the priority. The states are MASTER, BACKUP, FAULT and STOP
 * (keepalived is stopping); DELETED comes with notify_deleted; the events
 * MASTER_RX_LOWER_PRI (a master heard another master of lower priority:
 * the two did not hear each other for a while), MASTER_PRIORITY and
 * BACKUP_PRIORITY (vrrp_notify_priority_changes) do not change the role
 * by themselves. The same FIFO may carry the checker's "VS ..." and
 * "RS ..." lines (notify_fifo rather than vrrp_notify_fifo): those are
 * skipped. Any thread may call these; they keep no state of their own.
 */
#ifndef FABMON_HA_FIFO_H
#define FABMON_HA_FIFO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HA_NAME_MAX 64  /* an instance or group name, with its NUL */
#define HA_LINE_MAX 512 /* a longer line is dropped and counted */

enum ha_fifo_kind { HA_FIFO_INSTANCE, HA_FIFO_GROUP };

enum ha_vrrp {
	HA_VRRP_NONE = 0, /* nothing heard yet */
	HA_VRRP_MASTER,
	HA_VRRP_BACKUP,
	HA_VRRP_FAULT,
	HA_VRRP_STOP,
	HA_VRRP_DELETED,
	HA_VRRP_MASTER_RX_LOWER_PRI,
	HA_VRRP_MASTER_PRIORITY,
	HA_VRRP_BACKUP_PRIORITY,
};

/* What fabmond shows: the role of this daemon in the pair. */
enum ha_role {
	HA_ROLE_UNKNOWN = 0, /* keepalived has said nothing yet */
	HA_ROLE_MASTER,
	HA_ROLE_BACKUP,
	HA_ROLE_FAULT,
};

struct ha_fifo_msg {
	enum ha_fifo_kind kind;
	char name[HA_NAME_MAX]; /* without the quotes */
	enum ha_vrrp state;
	int priority; /* 0..255 */
};

/*
 * Parse one line (len bytes, without its newline; a trailing '\r' is
 * ignored). Returns 0 with *out filled, 1 for a line that is well formed
 * but not for us (VS/RS lines), or -1 for a malformed one (unknown type
 * or state, a missing quote, a name too long or holding a control
 * character, a priority that is not 0..255, trailing junk).
 */
int ha_fifo_parse(const char *line, size_t len, struct ha_fifo_msg *out);

/* "MASTER", "MASTER_RX_LOWER_PRI", ...; "NONE" for HA_VRRP_NONE. */
const char *ha_vrrp_name(enum ha_vrrp);
/* "MASTER", "BACKUP", "FAULT", "UNKNOWN". */
const char *ha_role_name(enum ha_role);
/* The role name back (exact, upper case); HA_ROLE_UNKNOWN otherwise. */
enum ha_role ha_role_parse(const char *);

/*
 * The role a state gives: MASTER and MASTER_PRIORITY are MASTER, BACKUP
 * and BACKUP_PRIORITY are BACKUP, FAULT, STOP and DELETED are FAULT (this
 * node cannot take the VIP over), MASTER_RX_LOWER_PRI keeps cur (it is
 * an alarm, not a change).
 */
enum ha_role ha_role_of(enum ha_vrrp, enum ha_role cur);

/*
 * Split what the FIFO gives (any chunks) into lines. Lines longer than
 * HA_LINE_MAX are dropped whole and counted in `overlong`.
 */
struct ha_linebuf {
	char buf[HA_LINE_MAX];
	size_t len;
	bool skipping; /* inside an overlong line */
	uint64_t overlong;
};

/* cb(arg, line, len) for each whole line (without its newline). */
void ha_linebuf_feed(struct ha_linebuf *, const char *data, size_t n,
    void (*cb)(void *arg, const char *line, size_t len), void *arg);

#endif
