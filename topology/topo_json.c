/*
 * topo_json.c: parse sFlow-RT's topology JSON with jansson into a struct
 * topo_import. PURE: no I/O. Runs on the API thread for a PUT; the result
 * is handed to the topology thread.
 *
 * sFlow-RT writes ifindex as a string ("3"); numbers are accepted too.
 * Link ends must name nodes and ports defined in the same document, so a
 * typo is an error the operator sees, not a silently missing link.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "topo_json.h"
#include "util.h"

void
topo_import_clear(struct topo_import *im)
{
	for (size_t i = 0; i < im->n_nodes; i++)
		free(im->nodes[i].ports);
	free(im->nodes);
	free(im->links);
	memset(im, 0, sizeof(*im));
}

static void
note_ignored(char *ignored, size_t len, const char *path)
{
	size_t have;

	if (ignored == NULL || len == 0)
		return;
	have = strlen(ignored);
	if (have + strlen(path) + 2 >= len)
		return;
	snprintf(ignored + have, len - have, "%s%s", have ? "," : "", path);
}

/* Copy a JSON string into a fixed buffer; -1 if absent, not a string,
 * empty, too long or holding a NUL. */
static int
get_str(json_t *v, char *dst, size_t dstlen)
{
	const char *s;
	size_t n;

	if (!json_is_string(v))
		return -1;
	s = json_string_value(v);
	n = json_string_length(v);
	if (n == 0 || n >= dstlen || strlen(s) != n)
		return -1;
	memcpy(dst, s, n + 1);
	return 0;
}

static int
parse_ifindex(json_t *v, uint32_t *out)
{
	if (json_is_integer(v)) {
		json_int_t i = json_integer_value(v);

		if (i < 1 || i > (json_int_t)UINT32_MAX)
			return -1;
		*out = (uint32_t)i;
		return 0;
	}
	if (json_is_string(v)) {
		const char *s = json_string_value(v);
		unsigned long long x;
		char *end;

		if (*s < '0' || *s > '9')
			return -1;
		errno = 0;
		x = strtoull(s, &end, 10);
		if (errno || *end != '\0' || x < 1 || x > UINT32_MAX)
			return -1;
		*out = (uint32_t)x;
		return 0;
	}
	return -1;
}

static int
parse_agent(json_t *v, struct sflow_addr *a)
{
	const char *s;

	memset(a, 0, sizeof(*a));
	if (!json_is_string(v))
		return -1;
	s = json_string_value(v);
	return sflow_addr_parse(s, a);
}

#define FAIL(...)                                                              \
	do {                                                                   \
		snprintf(err, errlen, __VA_ARGS__);                            \
		return -1;                                                     \
	} while (0)

static int
parse_node(const char *name, json_t *nv, struct topo_import_node *n, char *err,
    size_t errlen, char *ignored, size_t ignoredlen)
{
	const char *k;
	json_t *v;

	if (!json_is_object(nv))
		FAIL("nodes.%s: not an object", name);
	if (strlen(name) == 0 || strlen(name) >= sizeof(n->name))
		FAIL("nodes: a node name is empty or longer than %zu bytes",
		    sizeof(n->name) - 1);
	memcpy(n->name, name, strlen(name) + 1);
	json_object_foreach(nv, k, v)
	{
		if (strcmp(k, "agent") == 0) {
			if (parse_agent(v, &n->agent) != 0)
				FAIL("nodes.%s.agent: not an IPv4 or IPv6 "
				     "address",
				    name);
		} else if (strcmp(k, "ports") == 0) {
			const char *pk;
			json_t *pv;
			size_t np;

			if (!json_is_object(v))
				FAIL("nodes.%s.ports: not an object", name);
			np = json_object_size(v);
			if (np > TOPO_IMPORT_MAX_PORTS)
				FAIL("nodes.%s.ports: more than %d ports", name,
				    TOPO_IMPORT_MAX_PORTS);
			n->ports = xcalloc(np ? np : 1, sizeof(*n->ports));
			json_object_foreach(v, pk, pv)
			{
				struct topo_import_port *p =
				    &n->ports[n->n_ports];
				json_t *ix;

				if (strlen(pk) == 0 ||
				    strlen(pk) >= sizeof(p->name))
					FAIL("nodes.%s.ports: a port name is "
					     "empty or longer than %zu bytes",
					    name, sizeof(p->name) - 1);
				memcpy(p->name, pk, strlen(pk) + 1);
				if (!json_is_object(pv))
					FAIL("nodes.%s.ports.%s: not an object",
					    name, pk);
				ix = json_object_get(pv, "ifindex");
				if (ix == NULL)
					FAIL("nodes.%s.ports.%s.ifindex: "
					     "missing",
					    name, pk);
				if (parse_ifindex(ix, &p->ifindex) != 0)
					FAIL("nodes.%s.ports.%s.ifindex: not "
					     "an ifIndex (1..4294967295)",
					    name, pk);
				for (size_t j = 0; j < n->n_ports; j++)
					if (n->ports[j].ifindex == p->ifindex)
						FAIL(
						    "nodes.%s.ports.%s.ifindex:"
						    " %u is also port %s",
						    name, pk, p->ifindex,
						    n->ports[j].name);
				n->n_ports++;
			}
		} else {
			char path[300];

			snprintf(path, sizeof(path), "nodes.%s.%s", name, k);
			note_ignored(ignored, ignoredlen, path);
		}
	}
	return 0;
}

static const struct topo_import_node *
find_node(const struct topo_import *im, const char *name)
{
	for (size_t i = 0; i < im->n_nodes; i++)
		if (strcmp(im->nodes[i].name, name) == 0)
			return &im->nodes[i];
	return NULL;
}

static int
parse_link(const char *name, json_t *lv, const struct topo_import *im,
    struct topo_import_link *l, char *err, size_t errlen)
{
	static const char *keys[] = { "node1", "port1", "node2", "port2" };
	char *dst[4] = { l->node1, l->port1, l->node2, l->port2 };
	size_t len[4] = { sizeof(l->node1), sizeof(l->port1), sizeof(l->node2),
		sizeof(l->port2) };

	if (!json_is_object(lv))
		FAIL("links.%s: not an object", name);
	if (strlen(name) == 0 || strlen(name) >= sizeof(l->name))
		FAIL("links: a link name is empty or longer than %zu bytes",
		    sizeof(l->name) - 1);
	memcpy(l->name, name, strlen(name) + 1);
	for (int i = 0; i < 4; i++)
		if (get_str(json_object_get(lv, keys[i]), dst[i], len[i]) != 0)
			FAIL("links.%s.%s: missing, or not a name", name,
			    keys[i]);
	for (int e = 0; e < 2; e++) {
		const struct topo_import_node *n = find_node(im, dst[e * 2]);
		size_t j;

		if (n == NULL)
			FAIL("links.%s.node%d: no node '%s' in nodes", name,
			    e + 1, dst[e * 2]);
		for (j = 0; j < n->n_ports; j++)
			if (strcmp(n->ports[j].name, dst[e * 2 + 1]) == 0)
				break;
		if (j == n->n_ports)
			FAIL("links.%s.port%d: no port '%s' on node '%s'", name,
			    e + 1, dst[e * 2 + 1], dst[e * 2]);
	}
	if (strcmp(l->node1, l->node2) == 0 && strcmp(l->port1, l->port2) == 0)
		FAIL("links.%s: both ends are %s:%s", name, l->node1, l->port1);
	return 0;
}

static int
parse_doc(json_t *root, struct topo_import *im, char *err, size_t errlen,
    char *ignored, size_t ignoredlen)
{
	json_t *nodes, *links, *v;
	const char *k;

	if (!json_is_object(root))
		FAIL("the document is not a JSON object");
	json_object_foreach(root, k, v)
	{
		if (strcmp(k, "nodes") != 0 && strcmp(k, "links") != 0 &&
		    strcmp(k, "version") != 0)
			note_ignored(ignored, ignoredlen, k);
	}
	nodes = json_object_get(root, "nodes");
	links = json_object_get(root, "links");
	if (nodes != NULL && !json_is_object(nodes))
		FAIL("nodes: not an object");
	if (links != NULL && !json_is_object(links))
		FAIL("links: not an object");
	if (nodes != NULL) {
		if (json_object_size(nodes) > TOPO_IMPORT_MAX_NODES)
			FAIL(
			    "nodes: more than %d nodes", TOPO_IMPORT_MAX_NODES);
		im->nodes =
		    xcalloc(json_object_size(nodes) + 1, sizeof(*im->nodes));
		json_object_foreach(nodes, k, v)
		{
			/* n_nodes counts the node first, so that a failed
			 * node's ports are freed with the rest. */
			struct topo_import_node *n = &im->nodes[im->n_nodes++];

			if (parse_node(
			        k, v, n, err, errlen, ignored, ignoredlen) != 0)
				return -1;
		}
	}
	if (links != NULL) {
		if (json_object_size(links) > TOPO_IMPORT_MAX_LINKS)
			FAIL(
			    "links: more than %d links", TOPO_IMPORT_MAX_LINKS);
		im->links =
		    xcalloc(json_object_size(links) + 1, sizeof(*im->links));
		json_object_foreach(links, k, v)
		{
			if (parse_link(k, v, im, &im->links[im->n_links], err,
			        errlen) != 0)
				return -1;
			im->n_links++;
		}
	}
	return 0;
}

int
topo_import_parse(const char *json, size_t len, struct topo_import *out,
    char *err, size_t errlen, char *ignored, size_t ignoredlen)
{
	json_error_t je;
	json_t *root;
	int rc;

	memset(out, 0, sizeof(*out));
	if (ignored != NULL && ignoredlen > 0)
		ignored[0] = '\0';
	/* Reject duplicate keys: a document that names a node twice is
	 * ambiguous. Depth and size are bounded by the HTTP body limit. */
	root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
	if (root == NULL) {
		snprintf(err, errlen, "bad JSON at line %d column %d: %s",
		    je.line, je.column, je.text);
		return -1;
	}
	rc = parse_doc(root, out, err, errlen, ignored, ignoredlen);
	json_decref(root);
	if (rc != 0)
		topo_import_clear(out);
	return rc;
}
