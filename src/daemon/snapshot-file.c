// SPDX-License-Identifier: MIT
// Snapshot files (docs/snapshot-format.md): write a snapshot to, and read one from, a descriptor.

#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "snapshot.h"

/*
 * The daemon never opens a path: the client passes the descriptor (save-snapshot,
 * load-snapshot).  Only regular files (memfds included) are accepted, so that reading and
 * writing on the loop thread cannot block on a peer.  All integers are little-endian; the
 * layout is written down in docs/snapshot-format.md, whose version this is.
 */
#define SNAPSHOT_FILE_MAGIC	"MSHVSNAP"
#define SNAPSHOT_FILE_VERSION	1
#define SNAPSHOT_FILE_HEADER	64
#define SNAPSHOT_FILE_OPTIONS	32
#define SNAPSHOT_FILE_REGION	24
#define SNAPSHOT_FILE_VCPU	32
#define SNAPSHOT_FILE_REG	40
#define SNAPSHOT_FILE_REG_NAME	16
/* Sanity bounds of what a file may declare, besides the daemon's limits. */
#define SNAPSHOT_FILE_MAX_BLOB	(1u << 20)
#define SNAPSHOT_FILE_MAX_EXIT	(64u << 10)
#define SNAPSHOT_FILE_MAX_REGS	1024

struct io {
	int fd;
	uint64_t hash;		/* FNV-1a 64 of every byte so far */
	uint64_t bytes;
	uint64_t limit;		/* reading: bytes before the checksum */
	int err;
	char *why;
	size_t nwhy;
};

static void hash_update(struct io *io, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint64_t h = io->hash;

	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	io->hash = h;
}

static void put(struct io *io, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	if (io->err)
		return;
	hash_update(io, buf, len);
	while (len) {
		ssize_t n = write(io->fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			io->err = n < 0 ? -errno : -EIO;
			return;
		}
		p += n;
		len -= (size_t)n;
		io->bytes += (uint64_t)n;
	}
}

static void put_le(struct io *io, uint64_t v, unsigned size)
{
	uint8_t b[8];

	for (unsigned i = 0; i < size; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	put(io, b, size);
}

static void put_str(struct io *io, const char *s, size_t size)
{
	char buf[64] = { 0 };

	snprintf(buf, size < sizeof(buf) ? size : sizeof(buf), "%s", s);
	put(io, buf, size);
}

static int regular_file(int fd)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -errno;
	return S_ISREG(st.st_mode) ? 0 : -EBADFD;
}

static void put_regs(struct io *io, const struct hv_reg_value *regs)
{
	for (unsigned i = 0; i < HV_REG_COUNT; i++) {
		const struct hv_reg_value *r = &regs[i];
		uint64_t a = r->u64, b = 0, c = 0;

		switch (hv_reg_kind(r->reg)) {
		case HV_REG_KIND_SEGMENT:
			a = r->seg.base;
			b = r->seg.limit;
			c = r->seg.selector | (uint64_t)r->seg.attributes << 16;
			break;
		case HV_REG_KIND_TABLE:
			a = r->table.base;
			b = r->table.limit;
			break;
		default:
			break;
		}
		put_str(io, hv_reg_name(r->reg), SNAPSHOT_FILE_REG_NAME);
		put_le(io, a, 8);
		put_le(io, b, 8);
		put_le(io, c, 8);
	}
}

int snapshot_write(const struct snapshot *s, int fd, uint64_t *ret_bytes)
{
	struct io io = { .fd = fd, .hash = 0xcbf29ce484222325ull };
	char **exits;
	size_t *exit_len;
	uint64_t size;
	int r = regular_file(fd);

	if (r < 0)
		return r;
	exits = calloc(s->nvcpus ? s->nvcpus : 1, sizeof(*exits));
	exit_len = calloc(s->nvcpus ? s->nvcpus : 1, sizeof(*exit_len));
	if (!exits || !exit_len) {
		r = -ENOMEM;
		goto out;
	}
	size = SNAPSHOT_FILE_HEADER + SNAPSHOT_FILE_OPTIONS +
	       (uint64_t)s->nregions * SNAPSHOT_FILE_REGION + s->vm_blob_size + s->memory + 8;
	for (unsigned i = 0; i < s->nvcpus; i++) {
		if (s->vcpus[i].last_exit) {
			exits[i] = json_dumps(s->vcpus[i].last_exit, JSON_COMPACT);
			if (!exits[i]) {
				r = -ENOMEM;
				goto out;
			}
			exit_len[i] = strlen(exits[i]);
		}
		size += SNAPSHOT_FILE_VCPU + (uint64_t)HV_REG_COUNT * SNAPSHOT_FILE_REG +
			s->vcpus[i].blob_size + exit_len[i];
	}
	/* header */
	put(&io, SNAPSHOT_FILE_MAGIC, 8);
	put_le(&io, SNAPSHOT_FILE_VERSION, 4);
	put_le(&io, SNAPSHOT_FILE_HEADER, 4);
	put_str(&io, s->backend, 16);
	put_le(&io, size, 8);
	put_le(&io, s->nregions, 4);
	put_le(&io, s->nvcpus, 4);
	put_le(&io, s->memory, 8);
	put_le(&io, s->vm_blob_size, 4);
	put_le(&io, HV_REG_COUNT, 4);
	/* options */
	{
		uint8_t o[8] = { s->opts.lapic, s->opts.x2apic, s->opts.gpa_super_pages,
				 s->opts.irqchip, s->opts.nested_virtualization, s->opts.smt_guest,
				 s->opts.cpu_features, 0 };

		put(&io, o, sizeof(o));
		put_le(&io, s->opts.disabled_cpu_features[0], 8);
		put_le(&io, s->opts.disabled_cpu_features[1], 8);
		put_le(&io, s->opts.disabled_xsave_features, 8);
	}
	for (unsigned i = 0; i < s->nregions; i++) {
		put_le(&io, s->regions[i].gpa, 8);
		put_le(&io, s->regions[i].size, 8);
		put_le(&io, s->regions[i].flags, 4);
		put_le(&io, 0, 4);
	}
	for (unsigned i = 0; i < s->nvcpus; i++) {
		const struct snapshot_vcpu *sv = &s->vcpus[i];

		put_le(&io, sv->index, 4);
		put_le(&io, sv->state, 4);
		put_le(&io, sv->pending_exit ? 1 : 0, 4);
		put_le(&io, sv->blob_size, 4);
		put_le(&io, sv->parked_exit.kind, 4);
		put_le(&io, exit_len[i], 4);
		put_le(&io, sv->parked_exit.rip, 8);
		put_regs(&io, sv->regs);
		put(&io, sv->blob, sv->blob_size);
		put(&io, exits[i], exit_len[i]);
	}
	put(&io, s->vm_blob, s->vm_blob_size);
	for (unsigned i = 0; i < s->nregions; i++)
		put(&io, s->regions[i].data, s->regions[i].size);
	put_le(&io, io.hash, 8);
	r = io.err;
	if (r == 0)
		*ret_bytes = io.bytes;
out:
	for (unsigned i = 0; exits && i < s->nvcpus; i++)
		free(exits[i]);
	free(exits);
	free(exit_len);
	return r;
}

/* ---- reading -------------------------------------------------------------------------------- */

__attribute__((format(printf, 3, 4)))
static void bad(struct io *io, int err, const char *fmt, ...)
{
	va_list ap;

	if (io->err)
		return;
	io->err = err;
	va_start(ap, fmt);
	vsnprintf(io->why, io->nwhy, fmt, ap);
	va_end(ap);
}

static void get(struct io *io, void *buf, size_t len)
{
	uint8_t *p = buf;
	size_t want = len;

	if (io->err)
		return;
	if (io->limit != UINT64_MAX && (uint64_t)len > io->limit - io->bytes) {
		bad(io, -EINVAL, "the file declares fewer bytes than its contents need");
		return;
	}
	while (len) {
		ssize_t n = read(io->fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			bad(io, -errno, "read: %s", strerror(errno));
			return;
		}
		if (n == 0) {
			bad(io, -EINVAL, "the file is truncated");
			return;
		}
		p += n;
		len -= (size_t)n;
	}
	io->bytes += want;
	hash_update(io, buf, want);
}

static uint64_t get_le(struct io *io, unsigned size)
{
	uint8_t b[8] = { 0 };
	uint64_t v = 0;

	get(io, b, size);
	for (unsigned i = 0; i < size; i++)
		v |= (uint64_t)b[i] << (8 * i);
	return io->err ? 0 : v;
}

int snapshot_read_header(int fd, struct snapshot_file_header *h, char *why, size_t nwhy)
{
	struct io io = { .fd = fd, .hash = 0xcbf29ce484222325ull, .limit = UINT64_MAX, .why = why,
			 .nwhy = nwhy };
	char magic[8];
	int r = regular_file(fd);

	if (r < 0) {
		snprintf(why, nwhy, "the descriptor is not a regular file");
		return r;
	}
	get(&io, magic, sizeof(magic));
	if (!io.err && memcmp(magic, SNAPSHOT_FILE_MAGIC, 8) != 0)
		bad(&io, -EINVAL, "not a snapshot file (wrong magic)");
	h->version = (uint32_t)get_le(&io, 4);
	if (!io.err && h->version != SNAPSHOT_FILE_VERSION)
		bad(&io, -EPROTO, "snapshot file version %u; this daemon reads version %u",
		    h->version, SNAPSHOT_FILE_VERSION);
	if (!io.err && get_le(&io, 4) != SNAPSHOT_FILE_HEADER)
		bad(&io, -EINVAL, "wrong header size");
	get(&io, h->backend, 16);
	h->backend[15] = 0;
	h->file_size = get_le(&io, 8);
	h->nregions = (uint32_t)get_le(&io, 4);
	h->nvcpus = (uint32_t)get_le(&io, 4);
	h->memory = get_le(&io, 8);
	h->vm_blob_size = (uint32_t)get_le(&io, 4);
	h->nregs = (uint32_t)get_le(&io, 4);
	if (io.err)
		return io.err;
	/* Everything the body allocates in proportion to the file is bounded by file_size, which
	 * the caller checks against the limits before reading on. */
	if (h->file_size < SNAPSHOT_FILE_HEADER + 8 || h->vm_blob_size > SNAPSHOT_FILE_MAX_BLOB ||
	    h->nregs > SNAPSHOT_FILE_MAX_REGS ||
	    h->memory > h->file_size - SNAPSHOT_FILE_HEADER - 8 - h->vm_blob_size) {
		snprintf(why, nwhy, "malformed header");
		return -EINVAL;
	}
	h->hash = io.hash;
	return 0;
}

/* The normalized registers of a file: by name, those this daemon knows. */
static void get_regs(struct io *io, unsigned nregs, struct hv_reg_value *regs)
{
	for (unsigned i = 0; i < HV_REG_COUNT; i++)
		regs[i].reg = i;
	for (unsigned i = 0; i < nregs && !io->err; i++) {
		char name[SNAPSHOT_FILE_REG_NAME + 1] = { 0 };
		uint64_t a, b, c;
		enum hv_reg reg;

		get(io, name, SNAPSHOT_FILE_REG_NAME);
		a = get_le(io, 8);
		b = get_le(io, 8);
		c = get_le(io, 8);
		if (io->err || hv_reg_from_name(name, &reg) < 0)
			continue;
		switch (hv_reg_kind(reg)) {
		case HV_REG_KIND_SEGMENT:
			regs[reg].seg.base = a;
			regs[reg].seg.limit = (uint32_t)b;
			regs[reg].seg.selector = (uint16_t)c;
			regs[reg].seg.attributes = (uint16_t)(c >> 16);
			break;
		case HV_REG_KIND_TABLE:
			regs[reg].table.base = a;
			regs[reg].table.limit = (uint16_t)b;
			break;
		default:
			regs[reg].u64 = a;
			break;
		}
	}
}

int snapshot_read_body(int fd, const struct snapshot_file_header *h, struct snapshot **ret,
		       char *why, size_t nwhy)
{
	struct io io = { .fd = fd, .hash = h->hash, .bytes = SNAPSHOT_FILE_HEADER,
			 .limit = h->file_size - 8, .why = why, .nwhy = nwhy };
	struct snapshot *s = snapshot_alloc();
	uint64_t memory = 0, sum;
	uint8_t o[8];

	if (!s)
		return -ENOMEM;
	snprintf(s->backend, sizeof(s->backend), "%s", h->backend);
	get(&io, o, sizeof(o));
	s->opts.lapic = o[0];
	s->opts.x2apic = o[1];
	s->opts.gpa_super_pages = o[2];
	s->opts.irqchip = o[3];
	s->opts.nested_virtualization = o[4];
	s->opts.smt_guest = o[5];
	s->opts.cpu_features = o[6];
	s->opts.disabled_cpu_features[0] = get_le(&io, 8);
	s->opts.disabled_cpu_features[1] = get_le(&io, 8);
	s->opts.disabled_xsave_features = get_le(&io, 8);
	s->regions = calloc(h->nregions ? h->nregions : 1, sizeof(*s->regions));
	s->vcpus = calloc(h->nvcpus ? h->nvcpus : 1, sizeof(*s->vcpus));
	if (!s->regions || !s->vcpus) {
		snapshot_free(s);
		return -ENOMEM;
	}
	for (unsigned i = 0; i < h->nregions && !io.err; i++) {
		struct snapshot_region *sr = &s->regions[i];

		sr->gpa = get_le(&io, 8);
		sr->size = get_le(&io, 8);
		sr->flags = (unsigned)get_le(&io, 4) | HV_MAP_READ;
		get_le(&io, 4);
		if (io.err)
			break;
		if (!sr->size || sr->size % 4096 || sr->gpa % 4096 || sr->gpa + sr->size < sr->gpa ||
		    sr->flags & ~(HV_MAP_READ | HV_MAP_WRITE | HV_MAP_EXEC))
			bad(&io, -EINVAL, "region %u is malformed", i);
		for (unsigned j = 0; j < i && !io.err; j++)
			if (sr->gpa < s->regions[j].gpa + s->regions[j].size &&
			    s->regions[j].gpa < sr->gpa + sr->size)
				bad(&io, -EINVAL, "regions %u and %u overlap", j, i);
		memory += sr->size;
		s->nregions = i + 1;
	}
	if (!io.err && memory != h->memory)
		bad(&io, -EINVAL, "the regions do not add up to the declared memory");
	for (unsigned i = 0; i < h->nvcpus && !io.err; i++) {
		struct snapshot_vcpu *sv = &s->vcpus[i];
		uint32_t flags, exit_len;
		char *text;

		sv->index = (unsigned)get_le(&io, 4);
		sv->state = (enum vcpu_state)get_le(&io, 4);
		flags = (uint32_t)get_le(&io, 4);
		sv->blob_size = (size_t)get_le(&io, 4);
		sv->parked_exit.kind = (enum hv_exit_kind)get_le(&io, 4);
		exit_len = (uint32_t)get_le(&io, 4);
		sv->parked_exit.rip = get_le(&io, 8);
		sv->pending_exit = flags & 1;
		if (io.err)
			break;
		if (sv->index >= mshvd.limits.max_vcpus || sv->state > VCPU_PARKED ||
		    sv->blob_size > SNAPSHOT_FILE_MAX_BLOB || exit_len > SNAPSHOT_FILE_MAX_EXIT ||
		    sv->parked_exit.kind > HV_EXIT_UNKNOWN) {
			bad(&io, -EINVAL, "vcpu entry %u is malformed or over max-vcpus", i);
			break;
		}
		for (unsigned j = 0; j < i; j++)
			if (s->vcpus[j].index == sv->index)
				bad(&io, -EINVAL, "vcpu %u appears twice", sv->index);
		if (!io.err && (uint64_t)sv->blob_size + exit_len > io.limit - io.bytes)
			bad(&io, -EINVAL, "the file is shorter than its vcpu %u entry", sv->index);
		if (io.err)
			break;
		get_regs(&io, h->nregs, sv->regs);
		sv->blob = malloc(sv->blob_size ? sv->blob_size : 1);
		text = malloc(exit_len + 1);
		if (!sv->blob || !text) {
			free(text);
			bad(&io, -ENOMEM, "out of memory");
			break;
		}
		s->nvcpus = i + 1;
		get(&io, sv->blob, sv->blob_size);
		get(&io, text, exit_len);
		text[exit_len] = 0;
		if (!io.err && exit_len && !(sv->last_exit = json_loads(text, 0, NULL)))
			bad(&io, -EINVAL, "vcpu %u: its exit is not JSON", sv->index);
		free(text);
		s->bytes += sv->blob_size;
	}
	s->vm_blob_size = h->vm_blob_size;
	if (!io.err && !(s->vm_blob = malloc(s->vm_blob_size ? s->vm_blob_size : 1)))
		bad(&io, -ENOMEM, "out of memory");
	get(&io, s->vm_blob, s->vm_blob_size);
	for (unsigned i = 0; i < s->nregions && !io.err; i++) {
		/* The declared sizes were checked against the limits before the call read on. */
		s->regions[i].data = malloc(s->regions[i].size);
		if (!s->regions[i].data) {
			bad(&io, -ENOMEM, "out of memory");
			break;
		}
		get(&io, s->regions[i].data, s->regions[i].size);
		if (!io.err && snapshot_region_scan(&s->regions[i]) < 0)
			bad(&io, -ENOMEM, "out of memory");
	}
	if (!io.err && io.bytes != h->file_size - 8)
		bad(&io, -EINVAL, "the file declares more bytes than its contents");
	sum = io.hash;
	io.limit = UINT64_MAX;
	if (!io.err && get_le(&io, 8) != sum)
		bad(&io, -EINVAL, "checksum mismatch");
	if (io.err) {
		snapshot_free(s);
		return io.err;
	}
	s->memory = memory;
	s->bytes += memory + s->vm_blob_size;
	*ret = s;
	return 0;
}
