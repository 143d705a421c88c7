/*
 * ha.c: see ha.h. (Being written: until then only STANDALONE.)
 */
#include <stdio.h>

#include "ha.h"

struct ha *
ha_start(const struct ha_in *in, bool *failed, char *err, size_t errlen)
{
	*failed = false;
	if (in->conf->ha_notify_fifo == NULL)
		return NULL;
	*failed = true;
	snprintf(err, errlen, "ha.notify_fifo: HA is not built yet");
	return NULL;
}

void
ha_stop(struct ha *h)
{
	(void)h;
}

json_t *
ha_json(struct ha *h, uint64_t started_ms)
{
	(void)h;
	return json_pack("{s:s, s:I, s:n, s:n, s:n}", "role", "STANDALONE",
	    "since", (json_int_t)started_ms, "instance", "peer", "vip");
}
