/* SPDX-License-Identifier: MIT */
/* The daemon's limits: one table generating the struct, defaults, options, usage, reports. */
#ifndef MSHVD_LIMITS_H
#define MSHVD_LIMITS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include <jansson.h>

#include "hv/hv.h"
#include "mshvd/protocol.h"

/*
 * Every limit a client can hit is one row (Redis config.c's standardConfig is the model):
 *   X(field, C type, name, option, unit, default, min, max, help)
 * name is what daemon-info reports and what limit-exceeded says in data.limit; option is the
 * command line's --option (usually the name).  min/max bound the option; a ceiling of the
 * hypervisor layer (HV_MAX_VCPUS, HV_MAX_MAPPINGS, HV_MAX_GSI) is the max of the limit it
 * backs, so a client never meets the hv layer's own ceiling first.
 * unit: LIMIT_COUNT and LIMIT_MS are integers; LIMIT_SIZE is bytes (K/M/G suffixes, reported as
 * an integer); LIMIT_MEM is bytes of guest RAM (suffixes, reported as "0x...").
 * The man page (man/mshvd.8) and the schema's daemon-info result are checked against this
 * table by tests/rpc/test-limits.py (mshvd --print-limits).
 */
#define MSHVD_LIMITS(X) \
	X(max_clients, unsigned, "max-clients", "max-clients", LIMIT_COUNT, 64, 1, 1u << 20, \
	  "connections") \
	X(max_vms, unsigned, "max-vms", "max-vms", LIMIT_COUNT, 64, 1, 1u << 20, \
	  "partitions") \
	X(max_vcpus, unsigned, "max-vcpus", "max-vcpus", LIMIT_COUNT, 64, 1, HV_MAX_VCPUS, \
	  "vCPUs per VM (index below it)") \
	X(max_regions, unsigned, "max-regions", "max-regions", LIMIT_COUNT, HV_MAX_MAPPINGS, 1, \
	  HV_MAX_MAPPINGS, "memory regions per VM") \
	X(max_mem_per_vm, uint64_t, "max-mem-per-vm", "max-mem-per-vm", LIMIT_MEM, 4ull << 30, 0, \
	  UINT64_MAX, "guest RAM per VM") \
	X(max_request, size_t, "max-request", "max-request", LIMIT_SIZE, 256u << 10, 64, 64u << 20, \
	  "bytes per request line") \
	X(max_batch, unsigned, "max-batch", "max-batch", LIMIT_COUNT, 64, 1, 1u << 20, \
	  "requests per batch") \
	X(max_depth, unsigned, "max-depth", "max-depth", LIMIT_COUNT, 32, 1, 1u << 20, \
	  "JSON nesting depth") \
	X(max_io, size_t, "max-io", "max-io", LIMIT_SIZE, 128u << 10, 64, 64u << 20, \
	  "bytes per read-memory/write-memory") \
	X(max_inflight, unsigned, "max-inflight", "max-inflight", LIMIT_COUNT, 8, 1, 1u << 20, \
	  "unanswered requests per connection") \
	X(max_subs, unsigned, "max-subscriptions", "max-subscriptions", LIMIT_COUNT, 16, 1, \
	  1u << 20, "subscriptions per connection") \
	X(event_ring, unsigned, "event-ring", "event-ring", LIMIT_COUNT, 4096, 1, 1u << 20, \
	  "events kept for subscribe {since}") \
	X(max_eventfds, unsigned, "max-eventfds", "max-eventfds", LIMIT_COUNT, 64, 1, HV_MAX_GSI, \
	  "ioeventfds + irqfds per VM") \
	X(max_msi_routes, unsigned, "max-msi-routes", "max-msi-routes", LIMIT_COUNT, 256, 1, \
	  HV_MAX_GSI, "entries of an MSI routing table") \
	X(max_clients_per_uid, unsigned, "max-clients-per-uid", "max-clients-per-uid", \
	  LIMIT_COUNT, 16, 1, 1u << 30, "connections of one non-root uid") \
	X(max_vms_per_uid, unsigned, "max-vms-per-uid", "max-vms-per-uid", LIMIT_COUNT, 32, 1, \
	  1u << 30, "partitions of one non-root uid") \
	X(max_vcpus_per_uid, unsigned, "max-vcpus-per-uid", "max-vcpus-per-uid", LIMIT_COUNT, \
	  256, 1, 1u << 30, "vCPUs of one non-root uid") \
	X(max_mem_per_uid, uint64_t, "max-mem-per-uid", "max-mem-per-uid", LIMIT_MEM, 16ull << 30, \
	  0, UINT64_MAX, "guest RAM of one non-root uid") \
	X(max_eventfds_per_uid, unsigned, "max-eventfds-per-uid", "max-eventfds-per-uid", \
	  LIMIT_COUNT, 1024, 1, 1u << 30, "ioeventfds + irqfds of one non-root uid") \
	X(max_snapshots, unsigned, "max-snapshots", "max-snapshots", LIMIT_COUNT, 64, 1, 1u << 20, \
	  "snapshots") \
	X(max_snapshots_per_uid, unsigned, "max-snapshots-per-uid", "max-snapshots-per-uid", \
	  LIMIT_COUNT, 32, 1, 1u << 30, "snapshots of one non-root uid") \
	X(max_snapshot_mem_per_uid, uint64_t, "max-snapshot-mem-per-uid", \
	  "max-snapshot-mem-per-uid", LIMIT_MEM, 16ull << 30, 0, UINT64_MAX, \
	  "bytes of snapshots (RAM copies + vCPU and partition state) of one non-root uid") \
	X(max_string, size_t, "max-string", "max-string", LIMIT_SIZE, 4096, 64, 1u << 30, \
	  "bytes per string in a request (write-memory data: max-io)") \
	X(max_array, unsigned, "max-array", "max-array", LIMIT_COUNT, 1024, 1, 1u << 30, \
	  "elements per array or object in a request") \
	X(max_output, size_t, "max-output", "max-output", LIMIT_SIZE, 1u << 20, 64, 1u << 30, \
	  "bytes queued per connection; events beyond are dropped (events-lost)") \
	X(output_timeout_ms, unsigned, "output-timeout-ms", "output-timeout", LIMIT_MS, 30000, 1, \
	  1u << 30, "drop a connection whose output is stuck") \
	X(frame_timeout_ms, unsigned, "frame-timeout-ms", "frame-timeout", LIMIT_MS, 10000, 1, \
	  1u << 30, "drop a connection sending a partial line")

enum limit_unit { LIMIT_COUNT, LIMIT_SIZE, LIMIT_MEM, LIMIT_MS };

/* LIMIT_max_clients, ...: the rows, for limit_name()/limit_value() and rpc_error_limit(). */
enum limit_id {
#define X(field, type, name, option, unit, def, min, max, help) LIMIT_##field,
	MSHVD_LIMITS(X)
#undef X
	LIMIT__COUNT
};

struct limits {
#define X(field, type, name, option, unit, def, min, max, help) type field;
	MSHVD_LIMITS(X)
#undef X
};

/* Every limit at its default: the initializer of mshvd.limits (main.c, test harnesses). */
#define MSHVD_LIMITS_DEFAULT { \
	MSHVD_LIMITS(MSHVD_LIMIT_DEFAULT_) \
}
#define MSHVD_LIMIT_DEFAULT_(field, type, name, option, unit, def, min, max, help) .field = def,

/* The name of a limit (daemon-info key, data.limit). */
const char *limit_name(enum limit_id id);
/* Its current value in l. */
uint64_t limit_value(const struct limits *l, enum limit_id id);
/* Parse the argument of the limit's option into l.  0 or -EINVAL (syntax or range). */
int limit_parse(struct limits *l, enum limit_id id, const char *arg);
/* The usage lines of every limit option, with defaults. */
void limits_usage(FILE *f);
/* New reference: { name: value } of l, as daemon-info reports it. */
json_t *limits_to_json(const struct limits *l);
/* New reference: the table (name, option, unit, default, min, max, help) for --print-limits. */
json_t *limits_table_json(void);

#endif
