// SPDX-License-Identifier: MIT
/* mshvctl helpers: option handling, calls with CLI error reporting, number parsing, output. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "ctl.h"

void ctl_err(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("mshvctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void ctl_command_help(const struct ctl_command *cmd)
{
	printf("usage: mshvctl [OPTIONS] %s%s%s\n\n%s\n", cmd->name, *cmd->args ? " " : "",
	       cmd->args, cmd->summary);
	printf("\nOptions:\n%s  -h, --help       this help\n", cmd->options ? cmd->options : "");
}

void ctl_usage_error(struct ctl *ctl, const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "mshvctl: %s: ", ctl->cmd ? ctl->cmd->name : "usage");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (ctl->cmd)
		fprintf(stderr, "usage: mshvctl %s %s\nTry 'mshvctl %s --help'.\n", ctl->cmd->name,
			ctl->cmd->args, ctl->cmd->name);
	exit(CTL_EXIT_USAGE);
}

int ctl_getopt(struct ctl *ctl, int argc, char **argv, const char *shortopts,
	       const struct option *longopts)
{
	struct option all[32];
	char sopts[64];
	size_t n = 0;
	int c;

	for (; longopts && longopts[n].name && n < 30; n++)
		all[n] = longopts[n];
	all[n++] = (struct option){ "help", no_argument, NULL, 'h' };
	all[n] = (struct option){ 0 };
	snprintf(sopts, sizeof(sopts), "%sh", shortopts);
	opterr = 0;
	c = getopt_long(argc, argv, sopts, all, NULL);
	if (c == 'h') {
		ctl_command_help(ctl->cmd);
		exit(CTL_EXIT_OK);
	}
	if (c == '?' || c == ':') {
		if (optopt && optopt != '?')
			ctl_usage_error(ctl, "invalid option '-%c' or missing argument", optopt);
		ctl_usage_error(ctl, "invalid option '%s' or missing argument", argv[optind - 1]);
	}
	return c;
}

void ctl_need_args(struct ctl *ctl, int argc, int min, int max)
{
	if (argc < min)
		ctl_usage_error(ctl, "missing argument");
	if (max >= 0 && argc > max)
		ctl_usage_error(ctl, "too many arguments");
}

struct mshvd_client *ctl_client(struct ctl *ctl)
{
	int r;

	if (ctl->client)
		return ctl->client;
	r = mshvd_client_connect(ctl->socket_path, &ctl->client);
	if (r < 0) {
		ctl_err("cannot connect to %s: %s", ctl->socket_path, strerror(-r));
		exit(CTL_EXIT_CONNECT);
	}
	return ctl->client;
}

void ctl_fail(struct ctl *ctl, const char *what, int r)
{
	if (r == -ECONNRESET || r == -EPIPE) {
		ctl_err("%s: lost the connection to %s", what, ctl->socket_path);
		exit(CTL_EXIT_CONNECT);
	}
	if (r == -ETIMEDOUT) {
		ctl_err("%s: no reply within %d ms", what, ctl->timeout_ms);
		exit(CTL_EXIT_DAEMON);
	}
	ctl_err("%s: %s", what, strerror(-r));
	exit(CTL_EXIT_DAEMON);
}

void ctl_fail_remote(const char *what, const struct mshvd_error *error)
{
	char extra[96] = "";

	if (error->err || error->hv_status >= 0)
		snprintf(extra, sizeof(extra), " (errno %d%s%s, hv_status 0x%" PRIx64 ")",
			 error->err, error->err ? ": " : "", error->err ? strerror(error->err) : "",
			 (uint64_t)error->hv_status);
	ctl_err("%s: %s: %s%s", what, error->name, error->message, extra);
	exit(CTL_EXIT_DAEMON);
}

int ctl_try_call(struct ctl *ctl, const char *method, json_t *params, json_t **ret_result,
		 struct mshvd_error *error)
{
	struct mshvd_client *c = ctl_client(ctl);
	int r;

	r = mshvd_client_call(c, method, params, ctl->timeout_ms, ret_result, error);
	if (r < 0 && r != -MSHVD_CLIENT_EREMOTE)
		ctl_fail(ctl, method, r);
	return r;
}

json_t *ctl_call_with_fd(struct ctl *ctl, const char *method, json_t *params, int fd)
{
	struct mshvd_client *c = ctl_client(ctl);
	struct mshvd_error error = { 0 };
	json_t *result = NULL;
	uint64_t id;
	int r;

	r = mshvd_client_send_fd(c, method, params, fd, &id);
	if (r == 0)
		r = mshvd_client_wait(c, id, ctl->timeout_ms, &result, NULL, &error);
	if (r == -MSHVD_CLIENT_EREMOTE)
		ctl_fail_remote(method, &error);
	if (r < 0)
		ctl_fail(ctl, method, r);
	return result;
}

void ctl_pipe_send(struct ctl *ctl, struct ctl_pipe *p, const char *method, json_t *params)
{
	int r;

	if (p->n == (p->depth && p->depth < CTL_PIPE_MAX ? p->depth : CTL_PIPE_MAX))
		ctl_pipe_drain(ctl, p);
	r = mshvd_client_send(ctl_client(ctl), method, params, &p->ids[p->n]);
	if (r < 0)
		ctl_fail(ctl, method, r);
	p->methods[p->n++] = method;
}

void ctl_pipe_drain(struct ctl *ctl, struct ctl_pipe *p)
{
	struct mshvd_error error = { 0 };

	for (unsigned i = 0; i < p->n; i++) {
		json_t *result = NULL;
		int r = mshvd_client_wait(ctl_client(ctl), p->ids[i], ctl->timeout_ms, &result,
					  NULL, &error);

		if (r == -MSHVD_CLIENT_EREMOTE)
			ctl_fail_remote(p->methods[i], &error);
		if (r < 0)
			ctl_fail(ctl, p->methods[i], r);
		if (p->print)
			ctl_print_json(result);
		json_decref(result);
	}
	p->n = 0;
}

json_t *ctl_call(struct ctl *ctl, const char *method, json_t *params)
{
	struct mshvd_error error = { 0 };
	json_t *result = NULL;

	if (ctl_try_call(ctl, method, params, &result, &error) < 0)
		ctl_fail_remote(method, &error);
	mshvd_error_clear(&error);
	return result;
}

uint64_t ctl_arg_u64(struct ctl *ctl, const char *what, const char *s)
{
	uint64_t v;

	if (parse_u64(s, &v) < 0)
		ctl_usage_error(ctl, "invalid %s '%s'", what, s);
	return v;
}

uint64_t ctl_arg_size(struct ctl *ctl, const char *what, const char *s)
{
	uint64_t v;

	if (parse_size(s, &v) < 0)
		ctl_usage_error(ctl, "invalid %s '%s'", what, s);
	return v;
}

json_t *ctl_vm_json(const char *s)
{
	uint64_t v;

	if (*s && strspn(s, "0123456789") == strlen(s) && parse_u64(s, &v) == 0 &&
	    v <= INT64_MAX)
		return json_integer((json_int_t)v);
	return json_string(s);
}

void ctl_format_size(uint64_t v, char *buf, size_t size)
{
	static const char *units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
	unsigned u = 0;
	uint64_t div = 1;

	while (u + 1 < sizeof(units) / sizeof(units[0]) && v / div >= 1024) {
		div <<= 10;
		u++;
	}
	if (v % div == 0)
		snprintf(buf, size, "%" PRIu64 " %s", v / div, units[u]);
	else
		snprintf(buf, size, "%.1f %s", (double)v / (double)div, units[u]);
}

json_t *ctl_value_json(const char *s)
{
	json_t *v = json_loads(s, JSON_DECODE_ANY, NULL);

	return v ? v : json_string(s);
}

void ctl_print_json(const json_t *value)
{
	char *s = json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY);

	if (s) {
		puts(s);
		free(s);
	}
}

/* ---- human output ------------------------------------------------------------------------ */

static bool is_size_key(const char *key)
{
	return strstr(key, "size") || strstr(key, "memory") || strstr(key, "bytes") ||
	       strstr(key, "mem_") || strcmp(key, "mem") == 0;
}

/* Scalar to text; sizes get a readable form next to the number. */
static void format_scalar(const char *key, const json_t *v, char *buf, size_t size)
{
	uint64_t n;

	switch (json_typeof(v)) {
	case JSON_STRING:
		if (key && is_size_key(key) && mshvd_json_u64(v, &n) == 0) {
			char h[32];

			ctl_format_size(n, h, sizeof(h));
			snprintf(buf, size, "%s (%s)", h, json_string_value(v));
		} else {
			snprintf(buf, size, "%s", json_string_value(v));
		}
		break;
	case JSON_INTEGER:
		if (key && is_size_key(key) && json_integer_value(v) >= 1024) {
			char h[32];

			ctl_format_size((uint64_t)json_integer_value(v), h, sizeof(h));
			snprintf(buf, size, "%s", h);
		} else {
			snprintf(buf, size, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		}
		break;
	case JSON_REAL:
		snprintf(buf, size, "%g", json_real_value(v));
		break;
	case JSON_TRUE:
		snprintf(buf, size, "yes");
		break;
	case JSON_FALSE:
		snprintf(buf, size, "no");
		break;
	case JSON_NULL:
		snprintf(buf, size, "-");
		break;
	case JSON_ARRAY: {
		size_t i, off = 0;
		json_t *e;

		buf[0] = 0;
		if (json_array_size(v) == 0) {
			snprintf(buf, size, "-");
			break;
		}
		json_array_foreach(v, i, e) {
			char item[256];

			if (json_is_object(e) || json_is_array(e)) {
				char *s = json_dumps(e, JSON_COMPACT);

				snprintf(item, sizeof(item), "%s", s ? s : "?");
				free(s);
			} else {
				format_scalar(NULL, e, item, sizeof(item));
			}
			if (off < size)
				off += (size_t)snprintf(buf + off, size - off, "%s%s", i ? ", " : "",
							item);
		}
		break;
	}
	case JSON_OBJECT: {
		char *s;

		if (json_is_string(json_object_get(v, "type"))) {
			/* An exit object: the same one-line form as run --wait prints. */
			ctl_format_exit(v, buf, size);
			break;
		}
		s = json_dumps(v, JSON_COMPACT);

		snprintf(buf, size, "%s", s ? s : "?");
		free(s);
		break;
	}
	}
}

static bool is_object_array(const json_t *v)
{
	size_t i;
	json_t *e;

	if (!json_is_array(v) || json_array_size(v) == 0)
		return false;
	json_array_foreach(v, i, e)
		if (!json_is_object(e))
			return false;
	return true;
}

/* An array of objects as an aligned table: columns are the keys in order of appearance. */
static void print_table(const json_t *rows, int indent)
{
	const char *cols[32];
	size_t width[32], ncols = 0, i, c;
	json_t *row, *v;
	const char *key;
	char cell[256];

	json_array_foreach(rows, i, row) {
		json_object_foreach((json_t *)row, key, v) {
			for (c = 0; c < ncols && strcmp(cols[c], key); c++)
				;
			if (c == ncols && ncols < 32) {
				cols[ncols] = key;
				width[ncols++] = strlen(key);
			}
		}
	}
	json_array_foreach(rows, i, row) {
		for (c = 0; c < ncols; c++) {
			v = json_object_get(row, cols[c]);
			format_scalar(cols[c], v ? v : json_null(), cell, sizeof(cell));
			if (strlen(cell) > width[c])
				width[c] = strlen(cell);
		}
	}
	printf("%*s", indent, "");
	for (c = 0; c < ncols; c++) {
		char up[64];
		size_t k;

		for (k = 0; cols[c][k] && k < sizeof(up) - 1; k++)
			up[k] = (char)toupper((unsigned char)cols[c][k]);
		up[k] = 0;
		printf("%-*s%s", c + 1 < ncols ? (int)width[c] : 0, up, c + 1 < ncols ? "  " : "\n");
	}
	json_array_foreach(rows, i, row) {
		printf("%*s", indent, "");
		for (c = 0; c < ncols; c++) {
			v = json_object_get(row, cols[c]);
			format_scalar(cols[c], v ? v : json_null(), cell, sizeof(cell));
			printf("%-*s%s", c + 1 < ncols ? (int)width[c] : 0, cell,
			       c + 1 < ncols ? "  " : "\n");
		}
	}
}

static void print_object(const json_t *obj, int indent)
{
	size_t width = 0;
	const char *key;
	json_t *v;
	char buf[1024];

	json_object_foreach((json_t *)obj, key, v)
		if (strlen(key) > width)
			width = strlen(key);
	json_object_foreach((json_t *)obj, key, v) {
		if (json_is_object(v) && json_object_size(v)) {
			printf("%*s%s:\n", indent, "", key);
			print_object(v, indent + 2);
		} else if (is_object_array(v)) {
			printf("%*s%s:\n", indent, "", key);
			print_table(v, indent + 2);
		} else {
			format_scalar(key, v, buf, sizeof(buf));
			printf("%*s%s:%*s %s\n", indent, "", key, (int)(width - strlen(key)), "", buf);
		}
	}
}

void ctl_print_human(const json_t *value)
{
	char buf[1024];

	if (json_is_object(value))
		print_object(value, 0);
	else if (is_object_array(value))
		print_table(value, 0);
	else {
		format_scalar(NULL, value, buf, sizeof(buf));
		puts(buf);
	}
}

/* Append " key=value" for every member not in skip[]. */
static size_t append_fields(char *buf, size_t size, size_t off, const json_t *obj,
			    const char *const *skip)
{
	const char *key;
	json_t *v;
	char val[512];

	json_object_foreach((json_t *)obj, key, v) {
		bool skipped = false;

		for (const char *const *s = skip; *s; s++)
			if (strcmp(*s, key) == 0)
				skipped = true;
		if (skipped)
			continue;
		format_scalar(NULL, v, val, sizeof(val));
		if (off < size)
			off += (size_t)snprintf(buf + off, size - off, " %s=%s", key, val);
	}
	return off;
}

void ctl_format_exit(const json_t *exit_obj, char *buf, size_t size)
{
	static const char *const skip[] = { "type", "direction", NULL };
	const char *type = json_string_value(json_object_get(exit_obj, "type"));
	const char *dir = json_string_value(json_object_get(exit_obj, "direction"));
	size_t off;

	off = (size_t)snprintf(buf, size, "%s%s%s", type ? type : "?", dir ? " " : "",
			       dir ? dir : "");
	if (off >= size)
		return;
	append_fields(buf, size, off, exit_obj, skip);
}

void ctl_print_event(FILE *f, const json_t *p)
{
	static const char *const skip[] = { "seq", "time", "kind", "vm", "vcpu", "exit", NULL };
	const char *kind = json_string_value(json_object_get(p, "kind"));
	json_t *t = json_object_get(p, "time"), *vm = json_object_get(p, "vm");
	json_t *vcpu = json_object_get(p, "vcpu"), *ex = json_object_get(p, "exit");
	char line[2048], tbuf[48] = "-", v[64];
	size_t off;

	if (json_is_integer(t)) {
		int64_t us = json_integer_value(t);
		time_t sec = (time_t)(us / 1000000);
		struct tm tm;

		if (localtime_r(&sec, &tm)) {
			strftime(tbuf, sizeof(tbuf), "%H:%M:%S", &tm);
			snprintf(tbuf + strlen(tbuf), sizeof(tbuf) - strlen(tbuf), ".%06d",
				 (int)(us % 1000000));
		}
	}
	off = (size_t)snprintf(line, sizeof(line), "%s #%" JSON_INTEGER_FORMAT " %s", tbuf,
			       json_integer_value(json_object_get(p, "seq")), kind ? kind : "?");
	if (vm) {
		format_scalar(NULL, vm, v, sizeof(v));
		off += (size_t)snprintf(line + off, sizeof(line) - off, " vm=%s", v);
	}
	if (vcpu && off < sizeof(line)) {
		format_scalar(NULL, vcpu, v, sizeof(v));
		off += (size_t)snprintf(line + off, sizeof(line) - off, " vcpu=%s", v);
	}
	if (json_is_object(ex) && off < sizeof(line)) {
		line[off++] = ' ';
		line[off] = 0;
		ctl_format_exit(ex, line + off, sizeof(line) - off);
		off += strlen(line + off);
	}
	if (off < sizeof(line))
		append_fields(line, sizeof(line), off, p, skip);
	fprintf(f, "%s\n", line);
}

void ctl_hexdump(const uint8_t *data, size_t len, uint64_t base)
{
	for (size_t off = 0; off < len; off += 16) {
		size_t n = len - off < 16 ? len - off : 16;

		printf("%08" PRIx64 "  ", base + off);
		for (size_t i = 0; i < 16; i++) {
			if (i < n)
				printf("%02x ", data[off + i]);
			else
				printf("   ");
			if (i == 7)
				putchar(' ');
		}
		printf(" |");
		for (size_t i = 0; i < n; i++)
			putchar(isprint(data[off + i]) ? data[off + i] : '.');
		printf("|\n");
	}
}

