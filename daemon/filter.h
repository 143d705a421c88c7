/*
 * filter.h: sFlow-RT's flow filter language, compiled once and matched
 * against every flow record. PURE: no I/O, no logging. A compiled filter
 * is immutable: any thread may match it; the thread that compiled it
 * frees it when no one matches it any more.
 *
 * SYNTAX (sFlow-RT's define_flow: "comparison operators: equals(=), not
 * equals(!=), match(~), not match(!~), brackets ( ), and logical
 * operators and(&), or(|) ... The right hand side is a comma separated
 * list of values"):
 *
 *   filter := or
 *   or     := and ('|' and)*
 *   and    := factor ('&' factor)*         & binds tighter than |
 *   factor := '(' or ')' | key op values
 *   op     := '=' | '!=' | '~' | '!~'
 *   values := value (',' value)*           any one of them (OR)
 *
 * KEYS are flowrec.h's keys and key functions (ipsource, ipsource.1,
 * or:tcpsourceport:udpsourceport, link:inputifindex...). VALUES are
 * compiled by the key's type (flowkey_type()), so that matching compares
 * binary values, not strings:
 *   - numbers (ports, protocols, vlan...): decimal, or 0x hex; "06" = "6";
 *   - addresses (ipsource, ip6destination, agent, mask:...): an address or
 *     a CIDR prefix, IPv4 or IPv6 (10.0.0.0/8, 2001:db8::/32); host bits
 *     of a prefix are ignored; an IPv4 value never matches an IPv6 one;
 *   - MAC addresses: 12 hex digits in either case, with or without ':'
 *     or '-' between the bytes;
 *   - interfaces (inputifindex, outputifindex): an ifIndex, or internal,
 *     discard (any reason) or multiple;
 *   - strings (stack, direction, tcpflags, node:..., first:...): exact,
 *     case-sensitive.
 * A value that cannot be of the key's type is an error, not a silent
 * mismatch. The value `null` means "no value": link:inputifindex=null
 * selects samples from edge ports; k!=null selects those where k has a
 * value. For a string key it also matches the string "null" (what
 * null:k gives when k has no value).
 *
 * != and !~ are the negation of = and ~: true when the key has no value.
 * ~ matches the key's string form (flowrec.h's formats) against POSIX
 * extended regular expressions, each anchored at both ends (Java's
 * Pattern.matches(), as sFlow-RT: tcpflags~.......1. is "SYN set").
 * A key without a value matches no pattern. Because a filter comes from a
 * client and glibc's regex costs grow with repetitions (memory to compile,
 * time to match), regexes are bounded: all those of a filter together
 * may expand to at most FILTER_RE_BUDGET atoms ("too complex"; a{9} is 9
 * atoms, (ab)+ is 6); adjacent repetitions (a**,
 * a{2}{3}, Java's lazy .*? and possessive .*+, which POSIX leaves
 * undefined) and back-references are refused.
 *
 * WHITESPACE around keys, operators, values, parentheses, '&' and '|' is
 * ignored; inside a value it is kept. A value ends at '&', '|' or ')'.
 * In a regex, ( ), { } and [ ] may hold '|', ',' and ')' (stack~.*\.(tcp
 * |udp)), and a backslash escapes the next character.
 *
 * BOUNDS: an expression of at most FILTER_EXPR_MAX characters,
 * parentheses nested at most FILTER_DEPTH_MAX deep, at most
 * FILTER_LIST_MAX values in one list. Beyond them: an error.
 *
 * ERRORS name the token and its 1-based position in the expression:
 * "unknown key 'ipsourc' at 1", "unexpected ')' at 14", "bad CIDR
 * '10.0.0.0/33' at 10", "bad regex '(tcp' at 7: Missing ')'".
 */
#ifndef FABMON_FILTER_H
#define FABMON_FILTER_H

#include <stdbool.h>
#include <stddef.h>

#include "flowrec.h"

#define FILTER_EXPR_MAX  4096
#define FILTER_DEPTH_MAX 64
#define FILTER_LIST_MAX  1024
#define FILTER_RE_BUDGET 512 /* regex atoms per filter, see filter.c */

struct filter;

/*
 * Compile a filter. An empty (or all-blank) expression compiles to a
 * filter that matches everything: the flow definition has no filter.
 * Returns NULL on error, with the message in err (errlen bytes, always
 * NUL-terminated when errlen > 0). The caller owns the result.
 */
struct filter *filter_parse(const char *expr, char *err, size_t errlen);

void filter_free(struct filter *);

/* 1 if the record passes the filter, else 0. ctx may be NULL. */
int filter_match(
    const struct filter *, const struct flow_rec *, const struct flowrec_ctx *);

/* The expression as given. */
const char *filter_text(const struct filter *);

/* True if matching needs the topology (a node: or link: key). */
bool filter_uses_topology(const struct filter *);

#endif
