/*
 * ifmib.c: IF-MIB counter walks -> interface readings; see ifmib.h.
 * PURE. Runs on the topology thread.
 */
#include <stdlib.h>
#include <string.h>

#include "ifmib.h"
#include "util.h"

const char *const ifmib_subtrees[] = {
	"1.3.6.1.2.1.2.2.1.7",     /* ifAdminStatus */
	"1.3.6.1.2.1.2.2.1.8",     /* ifOperStatus */
	"1.3.6.1.2.1.2.2.1.13",    /* ifInDiscards */
	"1.3.6.1.2.1.2.2.1.14",    /* ifInErrors */
	"1.3.6.1.2.1.2.2.1.15",    /* ifInUnknownProtos */
	"1.3.6.1.2.1.2.2.1.19",    /* ifOutDiscards */
	"1.3.6.1.2.1.2.2.1.20",    /* ifOutErrors */
	"1.3.6.1.2.1.31.1.1.1.6",  /* ifHCInOctets */
	"1.3.6.1.2.1.31.1.1.1.7",  /* ifHCInUcastPkts */
	"1.3.6.1.2.1.31.1.1.1.8",  /* ifHCInMulticastPkts */
	"1.3.6.1.2.1.31.1.1.1.9",  /* ifHCInBroadcastPkts */
	"1.3.6.1.2.1.31.1.1.1.10", /* ifHCOutOctets */
	"1.3.6.1.2.1.31.1.1.1.11", /* ifHCOutUcastPkts */
	"1.3.6.1.2.1.31.1.1.1.12", /* ifHCOutMulticastPkts */
	"1.3.6.1.2.1.31.1.1.1.13", /* ifHCOutBroadcastPkts */
	"1.3.6.1.2.1.31.1.1.1.15", /* ifHighSpeed */
};
const size_t ifmib_n_subtrees = nitems(ifmib_subtrees);

enum col_kind { C_COUNTER, C_ADMIN, C_OPER, C_SPEED };

struct col {
	uint32_t table; /* 2: ifTable (1.3.6.1.2.1.2.2.1), 31: ifXTable */
	uint32_t column;
	enum col_kind kind;
	int field; /* enum ifc_field for counters */
	bool wide; /* Counter64 */
};

static const struct col cols[] = {
	{ 2, 7, C_ADMIN, 0, false },
	{ 2, 8, C_OPER, 0, false },
	{ 2, 13, C_COUNTER, IFC_IN_DISCARDS, false },
	{ 2, 14, C_COUNTER, IFC_IN_ERRORS, false },
	{ 2, 15, C_COUNTER, IFC_IN_UNKNOWN, false },
	{ 2, 19, C_COUNTER, IFC_OUT_DISCARDS, false },
	{ 2, 20, C_COUNTER, IFC_OUT_ERRORS, false },
	{ 31, 6, C_COUNTER, IFC_IN_OCTETS, true },
	{ 31, 7, C_COUNTER, IFC_IN_UCAST, true },
	{ 31, 8, C_COUNTER, IFC_IN_MCAST, true },
	{ 31, 9, C_COUNTER, IFC_IN_BCAST, true },
	{ 31, 10, C_COUNTER, IFC_OUT_OCTETS, true },
	{ 31, 11, C_COUNTER, IFC_OUT_UCAST, true },
	{ 31, 12, C_COUNTER, IFC_OUT_MCAST, true },
	{ 31, 13, C_COUNTER, IFC_OUT_BCAST, true },
	{ 31, 15, C_SPEED, 0, false },
};

static const uint32_t if_table[] = { 1, 3, 6, 1, 2, 1, 2, 2, 1 };
static const uint32_t ifx_table[] = { 1, 3, 6, 1, 2, 1, 31, 1, 1, 1 };

static const struct col *
col_of(const struct walk_vb *vb, uint32_t *ifindex)
{
	const uint32_t *rest;
	size_t rl;
	uint32_t table;

	if (walk_oid_prefix(
	        vb->oid, vb->oid_len, if_table, nitems(if_table), &rest, &rl))
		table = 2;
	else if (walk_oid_prefix(vb->oid, vb->oid_len, ifx_table,
	             nitems(ifx_table), &rest, &rl))
		table = 31;
	else
		return NULL;
	if (rl == 0)
		return NULL;
	for (size_t i = 0; i < nitems(cols); i++)
		if (cols[i].table == table && cols[i].column == rest[0]) {
			/* A column we walk with a bad index: 0 marks it bad. */
			*ifindex = rl == 2 ? rest[1] : 0;
			return &cols[i];
		}
	return NULL;
}

static struct ifc_reading *
reading_for(struct ifc_reading **out, size_t *n, size_t *cap,
    const struct sflow_addr *agent, uint32_t ifindex)
{
	/* Walks come column by column, each in ifIndex order: a binary
	 * search on the readings made by the first column finds the rest. */
	size_t lo = 0, hi = *n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if ((*out)[mid].ifindex < ifindex)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < *n && (*out)[lo].ifindex == ifindex)
		return &(*out)[lo];
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 16;
		*out = xrealloc(*out, *cap * sizeof(**out));
	}
	memmove(&(*out)[lo + 1], &(*out)[lo], (*n - lo) * sizeof(**out));
	memset(&(*out)[lo], 0, sizeof(**out));
	(*out)[lo].agent = *agent;
	(*out)[lo].ifindex = ifindex;
	(*out)[lo].source = IFC_SRC_SNMP;
	(*n)++;
	return &(*out)[lo];
}

void
ifmib_readings(const struct walk *w, const struct sflow_addr *agent,
    struct ifc_reading **out, size_t *n, uint64_t *bad)
{
	size_t cap = 0;

	*out = NULL;
	*n = 0;
	for (size_t i = 0; i < w->n; i++) {
		const struct walk_vb *vb = &w->vbs[i];
		const struct col *c;
		struct ifc_reading *r;
		uint32_t ifindex;

		if (vb->type == WALK_NULL)
			continue; /* a column the agent does not have */
		if ((c = col_of(vb, &ifindex)) == NULL)
			continue;
		if (ifindex == 0 ||
		    (c->kind == C_ADMIN || c->kind == C_OPER
		            ? vb->type != WALK_INT
		            : c->kind == C_COUNTER && c->wide
		            ? vb->type != WALK_U64
		            : vb->type != WALK_UINT)) {
			(*bad)++;
			continue;
		}
		r = reading_for(out, n, &cap, agent, ifindex);
		switch (c->kind) {
		case C_ADMIN:
		case C_OPER: {
			/* IF-MIB's values as they are: up(1), down(2),
			 * testing(3) ... lowerLayerDown(7). */
			int v = vb->num >= 1 && vb->num <= 7 ? (int)vb->num : 0;

			if (c->kind == C_ADMIN)
				r->admin = v;
			else
				r->oper = v;
			break;
		}
		case C_SPEED:
			r->speed = (uint64_t)vb->num * 1000000;
			break;
		case C_COUNTER:
			r->c[c->field] = (uint64_t)vb->num;
			r->have |= 1u << c->field;
			if (c->wide)
				r->wide |= 1u << c->field;
			break;
		}
	}
}
