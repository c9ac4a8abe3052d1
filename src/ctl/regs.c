// SPDX-License-Identifier: MIT
/* mshvctl register assignments: "name=value" and "seg.field=value" into a set-regs object. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

static const char *const segments[] = { "cs", "ds", "es", "fs", "gs", "ss", "tr", "ldtr",
					"gdtr", "idtr", NULL };

static bool is_segment(const char *name)
{
	for (const char *const *s = segments; *s; s++)
		if (strcmp(*s, name) == 0)
			return true;
	return false;
}

/* Integers where they fit (always accepted), "0x..." beyond INT64_MAX. */
static json_t *number_json(uint64_t v)
{
	return v <= INT64_MAX ? json_integer((json_int_t)v) : json_hex(v);
}

bool ctl_regs_needs_current(const char *assignment, char *reg, size_t size)
{
	const char *dot = strchr(assignment, '.'), *eq = strchr(assignment, '=');
	size_t n;

	if (!dot || !eq || dot > eq)
		return false;
	n = (size_t)(dot - assignment);
	if (n >= size)
		return false;
	memcpy(reg, assignment, n);
	reg[n] = 0;
	return is_segment(reg);
}

int ctl_regs_assign(json_t *regs, const json_t *current, const char *assignment)
{
	const char *eq = strchr(assignment, '=');
	char name[32], field[32];
	const char *dot;
	uint64_t v;

	if (!eq || eq == assignment || (size_t)(eq - assignment) >= sizeof(name)) {
		ctl_err("invalid register assignment '%s' (NAME=VALUE)", assignment);
		return -EINVAL;
	}
	memcpy(name, assignment, (size_t)(eq - assignment));
	name[eq - assignment] = 0;
	for (char *p = name; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	dot = strchr(name, '.');
	if (!dot) {
		if (eq[1] == '{') {
			json_t *obj = json_loads(eq + 1, 0, NULL);

			if (!json_is_object(obj)) {
				json_decref(obj);
				ctl_err("invalid JSON object in '%s'", assignment);
				return -EINVAL;
			}
			json_object_set_new(regs, name, obj);
			return 0;
		}
		if (parse_u64(eq + 1, &v) < 0) {
			ctl_err("invalid value in '%s'", assignment);
			return -EINVAL;
		}
		if (is_segment(name)) {
			ctl_err("'%s' is a segment: assign its fields (%s.base=..., %s.selector=...)",
				name, name, name);
			return -EINVAL;
		}
		json_object_set_new(regs, name, number_json(v));
		return 0;
	}
	snprintf(field, sizeof(field), "%s", dot + 1);
	name[dot - name] = 0;
	if (!is_segment(name)) {
		ctl_err("'%s' has no sub-fields (segments: cs ds es fs gs ss tr ldtr gdtr idtr)",
			name);
		return -EINVAL;
	}
	if (strcmp(field, "sel") == 0)
		snprintf(field, sizeof(field), "selector");
	else if (strcmp(field, "attr") == 0 || strcmp(field, "attrs") == 0)
		snprintf(field, sizeof(field), "attributes");
	if (strcmp(field, "base") && strcmp(field, "limit") &&
	    ((strcmp(field, "selector") && strcmp(field, "attributes")) ||
	     strcmp(name, "gdtr") == 0 || strcmp(name, "idtr") == 0)) {
		ctl_err("'%s' has no field '%s'", name, field);
		return -EINVAL;
	}
	if (parse_u64(eq + 1, &v) < 0) {
		ctl_err("invalid value in '%s'", assignment);
		return -EINVAL;
	}
	if (!json_object_get(regs, name)) {
		json_t *cur = json_object_get(current, name);

		json_object_set_new(regs, name, json_is_object(cur) ? json_deep_copy(cur) :
				    json_object());
	}
	json_object_set_new(json_object_get(regs, name), field, number_json(v));
	return 0;
}
