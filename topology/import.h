/*
 * import.h: a topology given by the operator (PUT /topology/json, in
 * sFlow-RT's format) as plain data. PURE. topology/topo_json.c parses the
 * JSON into it; topology/graph.c merges it with what SNMP discovered.
 *
 *	{"nodes":{"leaf1":{"agent":"10.0.0.1",
 *	                   "ports":{"swp1":{"ifindex":"3"}}}},
 *	 "links":{"l1-s1":{"node1":"leaf1","port1":"swp1",
 *	                   "node2":"spine1","port2":"swp3"}}}
 */
#ifndef FABMON_IMPORT_H
#define FABMON_IMPORT_H

#include <stddef.h>
#include <stdint.h>

#include "sflow.h" /* struct sflow_addr */

#define TOPO_NAME_MAX 128 /* node and link names, with the NUL */
#define TOPO_PORT_MAX 64  /* port names, with the NUL */

struct topo_import_port {
	char name[TOPO_PORT_MAX];
	uint32_t ifindex;
};

struct topo_import_node {
	char name[TOPO_NAME_MAX];
	struct sflow_addr agent; /* family 0 if not given */
	struct topo_import_port *ports;
	size_t n_ports;
};

struct topo_import_link {
	char name[TOPO_NAME_MAX];
	char node1[TOPO_NAME_MAX];
	char port1[TOPO_PORT_MAX];
	char node2[TOPO_NAME_MAX];
	char port2[TOPO_PORT_MAX];
};

struct topo_import {
	struct topo_import_node *nodes;
	size_t n_nodes;
	struct topo_import_link *links;
	size_t n_links;
};

/* Free the arrays of an import (not the struct itself). */
void topo_import_clear(struct topo_import *);

#endif
