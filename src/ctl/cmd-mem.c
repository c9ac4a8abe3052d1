// SPDX-License-Identifier: MIT
/* mshvctl memory commands: map, unmap, write, read, load. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctl.h"
#include "shared/base64.h"

/* Bytes per write-memory/read-memory call: well inside the daemon's default I/O limit
 * (128 KiB) and request line limit (256 KiB, base64 grows data by 4/3). */
#define CHUNK_DEFAULT	(64u << 10)

int cmd_map(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "flags", required_argument, NULL, 'f' },
		{ 0 },
	};
	const char *flags = "rwx";
	json_t *params, *fl, *result;
	int c;

	while ((c = ctl_getopt(ctl, argc, argv, "f:", opts)) != -1)
		flags = optarg;
	ctl_need_args(ctl, argc - optind, 3, 3);
	fl = json_array();
	for (const char *f = flags; *f; f++) {
		if (*f == 'r')
			json_array_append_new(fl, json_string("read"));
		else if (*f == 'w')
			json_array_append_new(fl, json_string("write"));
		else if (*f == 'x')
			json_array_append_new(fl, json_string("exec"));
		else if (*f != '-')
			ctl_usage_error(ctl, "invalid --flags '%s' (letters r, w, x)", flags);
	}
	params = json_pack("{s:o, s:o, s:o, s:o}", "vm", ctl_vm_json(argv[optind]),
			   "gpa", json_hex(ctl_arg_u64(ctl, "GPA", argv[optind + 1])),
			   "size", json_integer((json_int_t)ctl_arg_size(ctl, "SIZE", argv[optind + 2])),
			   "flags", fl);
	result = ctl_call(ctl, "map-memory", params);
	if (ctl->json)
		ctl_print_json(result);
	json_decref(result);
	return CTL_EXIT_OK;
}

int cmd_unmap(struct ctl *ctl, int argc, char **argv)
{
	json_t *result;

	while (ctl_getopt(ctl, argc, argv, "", NULL) != -1)
		;
	ctl_need_args(ctl, argc - optind, 2, 2);
	result = ctl_call(ctl, "unmap-memory",
			  json_pack("{s:o, s:o}", "vm", ctl_vm_json(argv[optind]), "gpa",
				    json_hex(ctl_arg_u64(ctl, "GPA", argv[optind + 1]))));
	if (ctl->json)
		ctl_print_json(result);
	json_decref(result);
	return CTL_EXIT_OK;
}

void ctl_write_memory(struct ctl *ctl, struct ctl_pipe *p, json_t *vm, uint64_t gpa,
		      const void *data, size_t len, size_t chunk)
{
	for (size_t off = 0; off < len || (len == 0 && off == 0); off += chunk) {
		size_t n = len - off < chunk ? len - off : chunk;
		char *b64 = base64_encode((const uint8_t *)data + off, n);

		if (!b64) {
			ctl_err("out of memory");
			exit(CTL_EXIT_DAEMON);
		}
		ctl_pipe_send(ctl, p, "write-memory",
			      json_pack("{s:O, s:o, s:s}", "vm", vm, "gpa", json_hex(gpa + off),
					"data", b64));
		free(b64);
		if (len == 0)
			break;
	}
}

/* Write len bytes at gpa in chunks; --json prints every result. */
static void write_chunks(struct ctl *ctl, const char *vm, uint64_t gpa, const uint8_t *data,
			 size_t len, size_t chunk)
{
	/* One chunk after the other: a failed chunk ends the write before the next is sent. */
	struct ctl_pipe p = { .print = ctl->json, .depth = 1 };
	json_t *v = ctl_vm_json(vm);

	ctl_write_memory(ctl, &p, v, gpa, data, len, chunk);
	ctl_pipe_drain(ctl, &p);
	json_decref(v);
}

static int parse_hex_bytes(const char *s, uint8_t **ret, size_t *ret_len)
{
	uint8_t *out = malloc(strlen(s) / 2 + 1);
	size_t n = 0;
	int hi = -1;

	if (!out)
		return -ENOMEM;
	for (; *s; s++) {
		int v;

		if (isspace((unsigned char)*s) || *s == ':' || *s == ',')
			continue;
		if (!isxdigit((unsigned char)*s)) {
			free(out);
			return -EINVAL;
		}
		v = isdigit((unsigned char)*s) ? *s - '0' : (tolower((unsigned char)*s) - 'a' + 10);
		if (hi < 0) {
			hi = v;
		} else {
			out[n++] = (uint8_t)(hi << 4 | v);
			hi = -1;
		}
	}
	if (hi >= 0) {
		free(out);
		return -EINVAL;
	}
	*ret = out;
	*ret_len = n;
	return 0;
}

/* Read a whole file (or stdin for "-"), at most max bytes. */
static int slurp(const char *path, uint8_t **ret, size_t *ret_len, size_t max)
{
	int fd = strcmp(path, "-") == 0 ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
	size_t len = 0, size = 65536;
	uint8_t *buf;

	if (fd < 0)
		return -errno;
	buf = malloc(size);
	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t n;

		if (len == size) {
			uint8_t *p;

			if (size >= max) {
				free(buf);
				return -EFBIG;
			}
			p = realloc(buf, size * 2);
			if (!p) {
				free(buf);
				return -ENOMEM;
			}
			buf = p;
			size *= 2;
		}
		n = read(fd, buf + len, size - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int r = -errno;

			free(buf);
			return r;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (fd != STDIN_FILENO)
		close(fd);
	*ret = buf;
	*ret_len = len;
	return 0;
}

int cmd_write(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "hex", required_argument, NULL, 'x' },
		{ "string", required_argument, NULL, 's' },
		{ 0 },
	};
	const char *hex = NULL, *str = NULL;
	uint8_t *data = NULL;
	size_t len = 0;
	uint64_t gpa;
	int c, r;

	while ((c = ctl_getopt(ctl, argc, argv, "", opts)) != -1) {
		if (c == 'x')
			hex = optarg;
		else
			str = optarg;
	}
	ctl_need_args(ctl, argc - optind, 2, 3);
	gpa = ctl_arg_u64(ctl, "GPA", argv[optind + 1]);
	if ((hex != NULL) + (str != NULL) + (argc - optind == 3) > 1)
		ctl_usage_error(ctl, "give one of --hex, --string or FILE");
	if (hex) {
		if (parse_hex_bytes(hex, &data, &len) < 0)
			ctl_usage_error(ctl, "invalid --hex '%s'", hex);
	} else if (str) {
		data = (uint8_t *)strdup(str);
		len = strlen(str);
	} else {
		const char *path = argc - optind == 3 ? argv[optind + 2] : "-";

		r = slurp(path, &data, &len, 1u << 30);
		if (r < 0) {
			ctl_err("write: %s: %s", path, strerror(-r));
			return CTL_EXIT_DAEMON;
		}
	}
	write_chunks(ctl, argv[optind], gpa, data, len, CHUNK_DEFAULT);
	free(data);
	return CTL_EXIT_OK;
}

int cmd_read(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "hexdump", no_argument, NULL, 'x' },
		{ "raw", no_argument, NULL, 'r' },
		{ 0 },
	};
	int mode = isatty(STDOUT_FILENO) ? 'x' : 'r', c;
	uint64_t gpa, size;

	while ((c = ctl_getopt(ctl, argc, argv, "", opts)) != -1)
		mode = c;
	ctl_need_args(ctl, argc - optind, 3, 3);
	gpa = ctl_arg_u64(ctl, "GPA", argv[optind + 1]);
	size = ctl_arg_size(ctl, "SIZE", argv[optind + 2]);
	for (uint64_t off = 0; off < size; off += CHUNK_DEFAULT) {
		uint64_t n = size - off < CHUNK_DEFAULT ? size - off : CHUNK_DEFAULT;
		json_t *result, *b64;
		uint8_t *data;
		size_t len;

		result = ctl_call(ctl, "read-memory",
				  json_pack("{s:o, s:o, s:I}", "vm", ctl_vm_json(argv[optind]),
					    "gpa", json_hex(gpa + off), "size", (json_int_t)n));
		if (ctl->json) {
			ctl_print_json(result);
			json_decref(result);
			continue;
		}
		b64 = json_object_get(result, "data");
		if (!json_is_string(b64) ||
		    base64_decode(json_string_value(b64), json_string_length(b64), &data, &len) < 0) {
			ctl_err("read: the daemon sent no valid base64 data");
			json_decref(result);
			return CTL_EXIT_DAEMON;
		}
		if (mode == 'x')
			ctl_hexdump(data, len, gpa + off);
		else
			fwrite(data, 1, len, stdout);
		free(data);
		json_decref(result);
	}
	return CTL_EXIT_OK;
}

static void progress(uint64_t done, uint64_t total)
{
	char a[32], b[32];
	int width = 40, fill = total ? (int)(done * (uint64_t)width / total) : width;

	ctl_format_size(done, a, sizeof(a));
	ctl_format_size(total, b, sizeof(b));
	fprintf(stderr, "\r[%.*s%*s] %3d%% %s / %s ", fill,
		"########################################", width - fill, "",
		total ? (int)(done * 100 / total) : 100, a, b);
	if (done == total)
		fputc('\n', stderr);
}

int cmd_load(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "gpa", required_argument, NULL, 'g' },
		{ "chunk", required_argument, NULL, 'c' },
		{ "no-progress", no_argument, NULL, 'n' },
		{ 0 },
	};
	bool have_gpa = false, bar = isatty(STDERR_FILENO);
	uint64_t gpa = 0, chunk = CHUNK_DEFAULT, total = 0, done = 0;
	uint8_t *buf;
	struct stat st;
	char hs[32];
	int c, fd;

	while ((c = ctl_getopt(ctl, argc, argv, "", opts)) != -1) {
		if (c == 'g') {
			gpa = ctl_arg_u64(ctl, "--gpa", optarg);
			have_gpa = true;
		} else if (c == 'c') {
			chunk = ctl_arg_size(ctl, "--chunk", optarg);
			if (chunk == 0 || chunk > (1u << 20))
				ctl_usage_error(ctl, "--chunk must be between 1 and 1M");
		} else {
			bar = false;
		}
	}
	ctl_need_args(ctl, argc - optind, 2, 2);
	if (!have_gpa)
		ctl_usage_error(ctl, "--gpa is required");
	if (ctl->json)
		bar = false;
	fd = open(argv[optind + 1], O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		ctl_err("load: %s: %s", argv[optind + 1], strerror(errno));
		return CTL_EXIT_DAEMON;
	}
	if (S_ISREG(st.st_mode))
		total = (uint64_t)st.st_size;
	else
		bar = false;
	buf = malloc(chunk);
	if (!buf) {
		ctl_err("out of memory");
		return CTL_EXIT_DAEMON;
	}
	for (;;) {
		size_t n = 0;

		/* Fill a whole chunk (pipes return short reads). */
		while (n < chunk) {
			ssize_t r = read(fd, buf + n, chunk - n);

			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0) {
				ctl_err("load: %s: %s", argv[optind + 1], strerror(errno));
				return CTL_EXIT_DAEMON;
			}
			if (r == 0)
				break;
			n += (size_t)r;
		}
		if (n == 0)
			break;
		write_chunks(ctl, argv[optind], gpa + done, buf, n, n);
		done += n;
		if (bar)
			progress(done, total > done ? total : done);
		if (n < chunk)
			break;
	}
	free(buf);
	close(fd);
	if (!ctl->json) {
		ctl_format_size(done, hs, sizeof(hs));
		printf("loaded %s (%" PRIu64 " bytes) at 0x%" PRIx64 "\n", hs, done, gpa);
	}
	return CTL_EXIT_OK;
}
