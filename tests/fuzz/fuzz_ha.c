/*
 * fuzz_ha.c: the HA thread's untrusted inputs. The whole input goes
 * through the FIFO line splitter in two chunks (split where the first
 * byte says), and each line through ha_fifo_parse(); then it is parsed as
 * the peer's HTTP answer (ha_peer_parse). Invariants: a parsed line has a
 * non-empty printable name, a known state and a priority in 0..255; a
 * parsed answer is a 200 with a known role and clean strings.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ha_fifo.h"
#include "ha_judge.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
line(void *arg, const char *s, size_t len)
{
	struct ha_fifo_msg m;
	size_t *n = arg;

	assert(len <= HA_LINE_MAX);
	(*n)++;
	if (ha_fifo_parse(s, len, &m) != 0)
		return;
	assert(m.name[0] != '\0' && strlen(m.name) < HA_NAME_MAX);
	for (const char *p = m.name; *p; p++)
		assert((unsigned char)*p >= 0x20 && *p != 0x7f && *p != '"');
	assert(m.priority >= 0 && m.priority <= 255);
	assert(strcmp(ha_vrrp_name(m.state), "NONE") != 0);
	(void)ha_role_of(m.state, HA_ROLE_BACKUP);
}

static void
clean(const char *s, size_t cap)
{
	size_t n = strnlen(s, cap);

	assert(n < cap);
	for (size_t i = 0; i < n; i++)
		assert((unsigned char)s[i] >= 0x20 && s[i] != 0x7f);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ha_linebuf lb;
	struct ha_peer_answer a;
	size_t cut = size ? data[0] % (size + 1) : 0, n = 0;

	memset(&lb, 0, sizeof(lb));
	ha_linebuf_feed(&lb, (const char *)data, cut, line, &n);
	ha_linebuf_feed(&lb, (const char *)data + cut, size - cut, line, &n);
	assert(lb.len <= HA_LINE_MAX);
	if (ha_peer_parse((const char *)data, size, &a) == 0) {
		assert(a.status == 200);
		assert(a.role_valid);
		clean(a.instance, sizeof(a.instance));
		clean(a.address, sizeof(a.address));
	}
	return 0;
}
