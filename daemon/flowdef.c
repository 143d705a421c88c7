/*
 * flowdef.c: parse and render sFlow-RT flow definitions. PURE: no I/O.
 * Strict about what it does not know: a misspelt field ("fliter") is an
 * error the operator sees, not a silently unfiltered flow.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "flowdef.h"

bool
flowdef_name_ok(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > FLOWDEF_NAME_MAX)
		return false;
	return strspn(name,
	           "abcdefghijklmnopqrstuvwxyz"
	           "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == n;
}

#define FAIL(...)                                                              \
	do {                                                                   \
		snprintf(err, errlen, __VA_ARGS__);                            \
		json_decref(root);                                             \
		return -1;                                                     \
	} while (0)

static int
copy_str(json_t *v, char *dst, size_t max)
{
	const char *s;

	if (!json_is_string(v))
		return -1;
	s = json_string_value(v);
	if (json_string_length(v) > max || strlen(s) != json_string_length(v))
		return -2;
	memcpy(dst, s, strlen(s) + 1);
	return 0;
}

int
flowdef_parse(const char *name, const char *json, size_t len, struct flowdef *d,
    char *err, size_t errlen)
{
	json_error_t je;
	json_t *root, *v;
	const char *k;
	bool have_keys = false;

	memset(d, 0, sizeof(*d));
	if (!flowdef_name_ok(name)) {
		snprintf(err, errlen,
		    "flow name '%.80s': 1 to %d of "
		    "[A-Za-z0-9_.-]",
		    name, FLOWDEF_NAME_MAX);
		return -1;
	}
	memcpy(d->name, name, strlen(name) + 1);
	d->value = FLOWDEF_BYTES;
	d->t = 2;
	d->n = 5;
	d->active_timeout = 60;
	root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
	if (root == NULL) {
		snprintf(err, errlen, "bad JSON at line %d column %d: %s",
		    je.line, je.column, je.text);
		return -1;
	}
	if (!json_is_object(root))
		FAIL("a flow definition is a JSON object");
	json_object_foreach(root, k, v)
	{
		if (strcmp(k, "keys") == 0) {
			int rc = copy_str(v, d->keys, FLOWDEF_KEYS_MAX);

			if (rc == -1)
				FAIL("keys: not a string");
			if (rc == -2 || d->keys[0] == '\0')
				FAIL("keys: empty or longer than %d bytes",
				    FLOWDEF_KEYS_MAX);
			have_keys = true;
		} else if (strcmp(k, "value") == 0) {
			const char *s = json_string_value(v);

			if (s == NULL)
				FAIL("value: not a string");
			if (strcmp(s, "bytes") == 0)
				d->value = FLOWDEF_BYTES;
			else if (strcmp(s, "frames") == 0)
				d->value = FLOWDEF_FRAMES;
			else
				FAIL(
				    "value: '%.40s' is not bytes or frames", s);
		} else if (strcmp(k, "filter") == 0) {
			int rc;

			if (json_is_null(v)) { /* as GET shows "no filter" */
				d->filter[0] = '\0';
				continue;
			}
			rc = copy_str(v, d->filter, FLOWDEF_FILTER_MAX);

			if (rc == -1)
				FAIL("filter: not a string");
			if (rc == -2)
				FAIL("filter: longer than %d bytes",
				    FLOWDEF_FILTER_MAX);
		} else if (strcmp(k, "t") == 0) {
			if (!json_is_number(v) ||
			    !isfinite(json_number_value(v)) ||
			    json_number_value(v) <= 0 ||
			    json_number_value(v) > 3600)
				FAIL("t: a number of seconds in (0, 3600]");
			d->t = json_number_value(v);
		} else if (strcmp(k, "n") == 0) {
			if (!json_is_integer(v) || json_integer_value(v) < 1 ||
			    json_integer_value(v) > 1000)
				FAIL("n: an integer in 1..1000");
			d->n = (int)json_integer_value(v);
		} else if (strcmp(k, "log") == 0) {
			if (!json_is_boolean(v))
				FAIL("log: not true or false");
			d->log = json_is_true(v);
		} else if (strcmp(k, "flowStart") == 0) {
			if (!json_is_boolean(v))
				FAIL("flowStart: not true or false");
			d->flow_start = json_is_true(v);
		} else if (strcmp(k, "activeTimeout") == 0) {
			if (!json_is_integer(v) || json_integer_value(v) < 1 ||
			    json_integer_value(v) > 3600)
				FAIL("activeTimeout: an integer number of "
				     "seconds in 1..3600");
			d->active_timeout = (int)json_integer_value(v);
		} else if (strcmp(k, "name") == 0) {
			/* GET output echoed back: must agree with the URL */
			if (!json_is_string(v) ||
			    strcmp(json_string_value(v), name) != 0)
				FAIL("name: does not match the URL ('%s')",
				    name);
		} else {
			FAIL("unknown field '%.60s'", k);
		}
	}
	if (!have_keys)
		FAIL("keys: missing");
	json_decref(root);
	return 0;
}

json_t *
flowdef_json(const struct flowdef *d)
{
	json_t *o = json_object();

	json_object_set_new(o, "name", json_string(d->name));
	json_object_set_new(o, "keys", json_string(d->keys));
	json_object_set_new(o, "value",
	    json_string(d->value == FLOWDEF_FRAMES ? "frames" : "bytes"));
	json_object_set_new(
	    o, "filter", d->filter[0] ? json_string(d->filter) : json_null());
	json_object_set_new(o, "t", json_real(d->t));
	json_object_set_new(o, "n", json_integer(d->n));
	json_object_set_new(o, "log", json_boolean(d->log));
	json_object_set_new(o, "flowStart", json_boolean(d->flow_start));
	json_object_set_new(
	    o, "activeTimeout", json_integer(d->active_timeout));
	return o;
}
