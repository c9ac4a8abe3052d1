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

static int map_memory(struct rpc_call *call, json_t *params)
{
	struct vm *vm = call_vm(call, params);
	uint64_t gpa, size, page = (uint64_t)sysconf(_SC_PAGESIZE);
	unsigned flags = HV_MAP_READ | HV_MAP_WRITE | HV_MAP_EXEC;
	json_t *jflags = json_object_get(params, "flags"), *f;
	struct region *r;
	size_t i;
	int ret;

	if (!vm)
		return RPC_DONE;
	param_u64(params, "gpa", &gpa);
	param_u64(params, "size", &size);
	if (jflags) {
		flags = HV_MAP_READ;
		json_array_foreach(jflags, i, f) {
			if (strcmp(json_string_value(f), "write") == 0)
				flags |= HV_MAP_WRITE;
			else if (strcmp(json_string_value(f), "exec") == 0)
				flags |= HV_MAP_EXEC;
		}
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
	if ((!(flags & HV_MAP_WRITE) && !(hv_caps(mshvd.hv) & HV_CAP_READONLY_MEM)) ||
	    (!(flags & HV_MAP_EXEC) && !(hv_caps(mshvd.hv) & HV_CAP_NOEXEC_MEM))) {
		rpc_error_hv(call, -EOPNOTSUPP, 0, "map-memory flags");
		return RPC_DONE;
	}
	ret = vm_map(vm, gpa, size, flags);
	if (ret < 0) {
		rpc_error_hv(call, ret, hv_vm_last_status(vm->hv), "map-memory");
		return RPC_DONE;
	}
	rpc_reply(call, json_pack("{s:o, s:o}", "gpa", json_hex(gpa), "size", json_hex(size)));
	return RPC_DONE;
}

static int unmap_memory(struct rpc_call *call, json_t *params)
{
	struct vm *vm = call_vm(call, params);
	struct region *r;
	uint64_t gpa;
	int ret;

	if (!vm)
		return RPC_DONE;
	param_u64(params, "gpa", &gpa);
	r = vm_region_at(vm, gpa);
	if (!r || r->gpa != gpa) {
		rpc_invalid_params(call, "no region starts at 0x%llx", (unsigned long long)gpa);
		return RPC_DONE;
	}
	ret = vm_unmap(vm, r);
	if (ret < 0) {
		rpc_error_hv(call, ret, hv_vm_last_status(vm->hv), "unmap-memory");
		return RPC_DONE;
	}
	rpc_reply(call, json_pack("{s:o}", "gpa", json_hex(gpa)));
	return RPC_DONE;
}

static int write_memory(struct rpc_call *call, json_t *params)
{
	struct vm *vm = call_vm(call, params);
	const char *data = param_string(params, "data");
	uint8_t *buf;
	size_t len;
	uint64_t gpa;

	if (!vm)
		return RPC_DONE;
	param_u64(params, "gpa", &gpa);
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

static int read_memory(struct rpc_call *call, json_t *params)
{
	struct vm *vm = call_vm(call, params);
	uint64_t gpa, size;
	uint8_t *buf;
	char *b64;

	if (!vm)
		return RPC_DONE;
	param_u64(params, "gpa", &gpa);
	param_u64(params, "size", &size);
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
		{ "vm", PT_VM, true, NULL },
		{ "gpa", PT_U64, true, NULL },
		{ "size", PT_U64, true, NULL },
		{ "flags", PT_ENUMS, false, map_flag_names },
		{ NULL },
	},
	.summary = "back [gpa, gpa+size) with zeroed daemon-allocated RAM",
};

const struct method method_unmap_memory = {
	.name = "unmap-memory",
	.handler = unmap_memory,
	.perm = PERM_OWNER,
	.target = TARGET_VM,
	.params = (const struct param_spec[]){
		{ "vm", PT_VM, true, NULL },
		{ "gpa", PT_U64, true, NULL },
		{ NULL },
	},
	.summary = "remove the region that starts at gpa",
};

const struct method method_write_memory = {
	.name = "write-memory",
	.handler = write_memory,
	.perm = PERM_OWNER,
	.target = TARGET_VM,
	.params = (const struct param_spec[]){
		{ "vm", PT_VM, true, NULL },
		{ "gpa", PT_U64, true, NULL },
		{ "data", PT_STRING, true, NULL },	/* bounded by max-io, not max-string */
		{ NULL },
	},
	.summary = "write base64 data into mapped guest RAM",
};

const struct method method_read_memory = {
	.name = "read-memory",
	.handler = read_memory,
	.perm = PERM_OWNER,
	.target = TARGET_VM,
	.params = (const struct param_spec[]){
		{ "vm", PT_VM, true, NULL },
		{ "gpa", PT_U64, true, NULL },
		{ "size", PT_U64, true, NULL },
		{ NULL },
	},
	.summary = "read mapped guest RAM as base64",
};
