/*
 * fuzz_fabtop_frame.c: fabtop's frame parser and views on arbitrary
 * input. The input is split at newlines into messages (as the /ws
 * server would send them), each applied to one model that follows
 * "trace/2"; then every view is drawn at two sizes, in UTF-8 and in
 * ASCII, with a selection far down the list. What it checks: the kept
 * names are bounded and printable, and every cell drawn is a printable
 * character (ASCII in ASCII mode).
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "grid.h"
#include "model.h"
#include "view.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_name(const char *s)
{
	assert(s != NULL);
	assert(strlen(s) <= MODEL_NAME_MAX);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		assert(*p >= 0x20 && *p != 0x7f);
}

static void
draw_all(const struct model *m, int w, int h, int utf8)
{
	struct ui u;
	struct grid *g = grid_new(w, h, utf8);

	ui_init(&u);
	u.now_ms = 1795337700000ULL;
	for (int v = 0; v < V_COUNT; v++) {
		u.view = (enum view_id)v;
		u.sel[v] = 3;
		view_draw(g, m, &u);
		for (int y = 0; y < g->h; y++)
			for (int x = 0; x < g->w; x++) {
				uint32_t ch = grid_at(g, x, y)->ch;

				assert(ch >= 0x20 && ch != 0x7f);
				assert(utf8 || ch < 0x80);
			}
		(void)view_key(&u, m, K_ENTER);
	}
	grid_free(g);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct model *m = model_new();
	size_t i = 0;
	char topic[MODEL_NAME_MAX + 1];

	model_set_trace(m, 2, "ipsource=10.2.1.11");
	while (i < size) {
		size_t j = i;

		while (j < size && data[j] != '\n')
			j++;
		(void)model_apply(m, (const char *)data + i, j - i, 1000 + i);
		(void)model_frame_topic(
		    (const char *)data + i, j - i, topic, sizeof(topic));
		check_name(topic);
		i = j + 1;
	}
	for (size_t k = 0; k < m->nnodes; k++) {
		check_name(m->nodes[k].name);
		for (size_t p = 0; p < m->nodes[k].nports; p++)
			check_name(m->nodes[k].ports[p].name);
	}
	for (size_t k = 0; k < m->nhops; k++)
		check_name(m->hops[k].node);
	assert(strlen(m->error) <= MODEL_TEXT_MAX);
	draw_all(m, 80, 24, 1);
	draw_all(m, 33, 9, 0);
	model_free(m);
	return 0;
}
