// SPDX-License-Identifier: MIT
// The limits table (limits.h) turned into options, usage text, reports and error names.

#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "limits.h"
#include "shared/num.h"

struct limit_row {
	const char *name;
	const char *option;
	enum limit_unit unit;
	uint64_t def, min, max;
	size_t offset, size;
	const char *help;
};

static const struct limit_row rows[LIMIT__COUNT] = {
#define X(field, type, name_, option_, unit_, def_, min_, max_, help_) \
	[LIMIT_##field] = { .name = name_, .option = option_, .unit = unit_, .def = def_, \
			    .min = min_, .max = max_, .offset = offsetof(struct limits, field), \
			    .size = sizeof(type), .help = help_ },
	MSHVD_LIMITS(X)
#undef X
};

const char *limit_name(enum limit_id id)
{
	return id < LIMIT__COUNT ? rows[id].name : "?";
}

uint64_t limit_value(const struct limits *l, enum limit_id id)
{
	const char *p = (const char *)l + rows[id].offset;

	switch (rows[id].size) {
	case sizeof(uint32_t): {
		uint32_t v;

		memcpy(&v, p, sizeof(v));
		return v;
	}
	default: {
		uint64_t v;

		memcpy(&v, p, sizeof(v));
		return v;
	}
	}
}

static void limit_store(struct limits *l, enum limit_id id, uint64_t v)
{
	char *p = (char *)l + rows[id].offset;

	if (rows[id].size == sizeof(uint32_t)) {
		uint32_t w = (uint32_t)v;

		memcpy(p, &w, sizeof(w));
	} else {
		memcpy(p, &v, sizeof(v));
	}
}

int limit_parse(struct limits *l, enum limit_id id, const char *arg)
{
	uint64_t v;

	if (parse_size(arg, &v) < 0 || v < rows[id].min || v > rows[id].max)
		return -EINVAL;
	limit_store(l, id, v);
	return 0;
}

/* A default as the options take it: sizes with the largest exact suffix. */
static void format_default(const struct limit_row *r, char *buf, size_t len)
{
	static const char suffix[] = "KMG";
	uint64_t v = r->def;
	int s = -1;

	if (r->unit == LIMIT_SIZE || r->unit == LIMIT_MEM)
		while (s < 2 && v && v % 1024 == 0)
			v /= 1024, s++;
	if (s >= 0)
		snprintf(buf, len, "%llu%c", (unsigned long long)v, suffix[s]);
	else
		snprintf(buf, len, "%llu", (unsigned long long)v);
}

void limits_usage(FILE *f)
{
	for (unsigned i = 0; i < LIMIT__COUNT; i++) {
		const struct limit_row *r = &rows[i];
		char arg[64], def[32];

		snprintf(arg, sizeof(arg), "--%s %s", r->option,
			 r->unit == LIMIT_COUNT ? "N" : r->unit == LIMIT_MS ? "MS" : "SIZE");
		format_default(r, def, sizeof(def));
		fprintf(f, "      %-26s %s (default %s", arg, r->help, def);
		if (r->max != UINT64_MAX && r->max != (1u << 20) && r->max != (1u << 30) &&
		    r->unit == LIMIT_COUNT)
			fprintf(f, ", at most %llu", (unsigned long long)r->max);
		fputs(")\n", f);
	}
}

json_t *limits_to_json(const struct limits *l)
{
	json_t *o = json_object();

	for (unsigned i = 0; i < LIMIT__COUNT; i++) {
		uint64_t v = limit_value(l, i);

		json_object_set_new(o, rows[i].name, rows[i].unit == LIMIT_MEM ? json_hex(v) :
				    json_integer((json_int_t)v));
	}
	/* A fixed bound, not an option. */
	json_object_set_new(o, "max-name", json_integer(MSHVD_DEFAULT_MAX_NAME));
	return o;
}

json_t *limits_table_json(void)
{
	static const char *const units[] = { "count", "size", "mem", "ms" };
	json_t *a = json_array();

	for (unsigned i = 0; i < LIMIT__COUNT; i++) {
		const struct limit_row *r = &rows[i];

		json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:I, s:I, s:o, s:s}",
						   "name", r->name, "option", r->option,
						   "unit", units[r->unit], "default", (json_int_t)r->def,
						   "min", (json_int_t)r->min,
						   "max", r->max == UINT64_MAX ? json_null() :
						   json_integer((json_int_t)r->max),
						   "help", r->help));
	}
	return a;
}
