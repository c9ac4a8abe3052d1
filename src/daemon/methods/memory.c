// SPDX-License-Identifier: MIT
// Memory methods: map-memory, unmap-memory, write-memory, read-memory.

#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "methods.h"
#include "shared/base64.h"

static const char *const map_flag_names[] = { "read", "write", "exec", NULL };

struct map_memory_args {
	uint64_t gpa, size;
	unsigned flags;		/* mask of map_flag_names indexes */
	bool has_flags;
};

static enum rpc_retval map_memory(struct rpc_call *call, const void *args)
{
	const struct map_memory_args *a = args;
	struct vm *vm = call->vm;
	uint64_t gpa = a->gpa, size = a->size, page = (uint64_t)sysconf(_SC_PAGESIZE);
	unsigned flags = HV_MAP_READ | HV_MAP_WRITE | HV_MAP_EXEC;
	struct region *r;
	int ret;

	if (a->has_flags) {
		flags = HV_MAP_READ;
		if (a->flags & 2)
			flags |= HV_MAP_WRITE;
		if (a->flags & 4)
			flags |= HV_MAP_EXEC;
	}
	/* Every check before the hypervisor is called. */
	if (size == 0 || gpa % page || size % page || gpa + size < gpa) {
		rpc_invalid_params(call, "gpa and size must be multiples of 0x%llx, size > 0",
				   (unsigned long long)page);
		return RPC_DONE;
	}
	TAILQ_FOREACH(r, &vm->regions, entry) {
		if (gpa < r->gpa + r->size && r->gpa < gpa + size) {
			rpc_invalid_params(call, "overlaps the region at 0x%llx",
					   (unsigned long long)r->gpa);
			return RPC_DONE;
		}
	}
	if (vm->nregions >= mshvd.limits.max_regions) {
		rpc_error_limit(call, LIMIT_max_regions);
		return RPC_DONE;
	}
	if (size > mshvd.limits.max_mem_per_vm ||
	    vm->mem_total + size > mshvd.limits.max_mem_per_vm) {
		rpc_error_limit(call, LIMIT_max_mem_per_vm);
		return RPC_DONE;
	}
	if (auth_uid_over(call->uid, LIMIT_max_mem_per_uid, size)) {
		rpc_error_limit(call, LIMIT_max_mem_per_uid);
		return RPC_DONE;
	}
	if ((!(flags & HV_MAP_WRITE) && !(model_caps() & HV_CAP_READONLY_MEM)) ||
	    (!(flags & HV_MAP_EXEC) && !(model_caps() & HV_CAP_NOEXEC_MEM))) {
		rpc_error_hv(call, -EOPNOTSUPP, 0, "map-memory flags");
		return RPC_DONE;
	}
	ret = vm_map(vm, gpa, size, flags);
	if (ret < 0) {
		rpc_error_hv(call, ret, vm_last_status(vm), "map-memory");
		return RPC_DONE;
	}
	rpc_reply(call, json_pack("{s:o, s:o}", "gpa", json_hex(gpa), "size", json_hex(size)));
	return RPC_DONE;
}

struct unmap_memory_args {
	uint64_t gpa;
};

static enum rpc_retval unmap_memory(struct rpc_call *call, const void *args)
{
	const struct unmap_memory_args *a = args;
	struct vm *vm = call->vm;
	uint64_t gpa = a->gpa;
	struct region *r;
	int ret;

	r = vm_region_at(vm, gpa);
	if (!r || r->gpa != gpa) {
		rpc_invalid_params(call, "no region starts at 0x%llx", (unsigned long long)gpa);
		return RPC_DONE;
	}
	ret = vm_unmap(vm, r);
	if (ret < 0) {
		rpc_error_hv(call, ret, vm_last_status(vm), "unmap-memory");
		return RPC_DONE;
	}
	rpc_reply(call, json_pack("{s:o}", "gpa", json_hex(gpa)));
	return RPC_DONE;
}

struct write_memory_args {
	uint64_t gpa;
	const char *data;
};

static enum rpc_retval write_memory(struct rpc_call *call, const void *args)
{
	const struct write_memory_args *a = args;
	struct vm *vm = call->vm;
	const char *data = a->data;
	uint64_t gpa = a->gpa;
	uint8_t *buf;
	size_t len;

	/* Refused before decoding: base64 carries 3 bytes per 4 characters. */
	if (strlen(data) / 4 * 3 > mshvd.limits.max_io + 3) {
		rpc_error_limit(call, LIMIT_max_io);
		return RPC_DONE;
	}
	if (base64_decode(data, strlen(data), &buf, &len) < 0) {
		rpc_invalid_params(call, "data is not base64");
		return RPC_DONE;
	}
	if (len > mshvd.limits.max_io) {
		free(buf);
		rpc_error_limit(call, LIMIT_max_io);
		return RPC_DONE;
	}
	if (vm_access(vm, gpa, buf, len, true) < 0) {
		free(buf);
		rpc_invalid_params(call, "[0x%llx, +0x%zx) is not inside mapped RAM",
				   (unsigned long long)gpa, len);
		return RPC_DONE;
	}
	free(buf);
	rpc_reply(call, json_pack("{s:o, s:I}", "gpa", json_hex(gpa), "size", (json_int_t)len));
	return RPC_DONE;
}

struct read_memory_args {
	uint64_t gpa, size;
};

static enum rpc_retval read_memory(struct rpc_call *call, const void *args)
{
	const struct read_memory_args *a = args;
	struct vm *vm = call->vm;
	uint64_t gpa = a->gpa, size = a->size;
	uint8_t *buf;
	char *b64;

	if (size > mshvd.limits.max_io) {
		rpc_error_limit(call, LIMIT_max_io);
		return RPC_DONE;
	}
	buf = malloc(size ? size : 1);
	if (!buf) {
		rpc_error(call, MSHVD_ERR_INTERNAL, MSHVD_ERRNAME_INTERNAL, NULL, "out of memory");
		return RPC_DONE;
	}
	if (vm_access(vm, gpa, buf, size, false) < 0) {
		free(buf);
		rpc_invalid_params(call, "[0x%llx, +0x%llx) is not inside mapped RAM",
				   (unsigned long long)gpa, (unsigned long long)size);
		return RPC_DONE;
	}
	b64 = base64_encode(buf, size);
	free(buf);
	if (!b64) {
		rpc_error(call, MSHVD_ERR_INTERNAL, MSHVD_ERRNAME_INTERNAL, NULL, "out of memory");
		return RPC_DONE;
	}
	rpc_reply(call, json_pack("{s:o, s:I, s:s}", "gpa", json_hex(gpa), "size",
				  (json_int_t)size, "data", b64));
	free(b64);
	return RPC_DONE;
}

const struct method method_map_memory = {
	.name = "map-memory",
	.handler = map_memory,
	.perm = PERM_OWNER,
	.target = TARGET_VM,
	.params = (const struct param_spec[]){
		PARAM_TARGET("vm", PT_VM),
		PARAM("gpa", PT_U64, true, struct map_memory_args, gpa),
		PARAM("size", PT_U64, true, struct map_memory_args, size),
		PARAM_VALUES_HAS("flags", PT_ENUMS, map_flag_names, struct map_memory_args, flags, has_flags),
		PARAM_END,
	},
	.args_size = sizeof(struct map_memory_args),
	.summary = "back [gpa, gpa+size) with zeroed daemon-allocated RAM",
};

const struct method method_unmap_memory = {
	.name = "unmap-memory",
	.handler = unmap_memory,
	.perm = PERM_OWNER,
	.target = TARGET_VM,
	.params = (const struct param_spec[]){
		PARAM_TARGET("vm", PT_VM),
		PARAM("gpa", PT_U64, true, struct unmap_memory_args, gpa),
		PARAM_END,
	},
	.args_size = sizeof(struct unmap_memory_args),
	.summary = "remove the region that starts at gpa",
};

const struct method method_write_memory = {
	.name = "write-memory",
	.handler = write_memory,
	.perm = PERM_OWNER,
	.target = TARGET_VM,
	.params = (const struct param_spec[]){
		PARAM_TARGET("vm", PT_VM),
		PARAM("gpa", PT_U64, true, struct write_memory_args, gpa),
		/* bounded by max-io, not max-string */
		PARAM("data", PT_STRING, true, struct write_memory_args, data),
		PARAM_END,
	},
	.args_size = sizeof(struct write_memory_args),
	.summary = "write base64 data into mapped guest RAM",
};

const struct method method_read_memory = {
	.name = "read-memory",
	.handler = read_memory,
	.perm = PERM_OWNER,
	.target = TARGET_VM,
	.params = (const struct param_spec[]){
		PARAM_TARGET("vm", PT_VM),
		PARAM("gpa", PT_U64, true, struct read_memory_args, gpa),
		PARAM("size", PT_U64, true, struct read_memory_args, size),
		PARAM_END,
	},
	.args_size = sizeof(struct read_memory_args),
	.summary = "read mapped guest RAM as base64",
};
