/* SPDX-License-Identifier: MIT */
/* The mshvd wire protocol: socket path, JSON-RPC error codes and names, default limits. */
#ifndef MSHVD_PROTOCOL_H
#define MSHVD_PROTOCOL_H

/*
 * Framing: one JSON-RPC 2.0 text per line, terminated by '\n', in both directions.  Server to
 * client notifications use the method name MSHVD_EVENT_METHOD.  64-bit quantities (addresses,
 * register values, port numbers, data) are accepted as JSON integers or "0x..." strings and
 * always sent as "0x..." strings; counts and sizes are plain integers.
 */

#define MSHVD_DEFAULT_SOCKET		"/run/mshvd/mshvd.sock"
#define MSHVD_EVENT_METHOD		"event"

/* JSON-RPC 2.0 errors (every error also carries data.name, the symbolic name below). */
#define MSHVD_ERR_PARSE			(-32700)	/* "parse-error" */
#define MSHVD_ERR_INVALID_REQUEST	(-32600)	/* "invalid-request" */
#define MSHVD_ERR_METHOD_NOT_FOUND	(-32601)	/* "method-not-found" */
#define MSHVD_ERR_INVALID_PARAMS	(-32602)	/* "invalid-params" */
#define MSHVD_ERR_INTERNAL		(-32603)	/* "internal-error" */

/* Application errors: the codes and data.name values are stable. */
#define MSHVD_ERR_NO_SUCH_VM		1	/* "no-such-vm": missing, or owned by another uid */
#define MSHVD_ERR_NO_SUCH_VCPU		2	/* "no-such-vcpu" */
#define MSHVD_ERR_PERMISSION_DENIED	3	/* "permission-denied" */
#define MSHVD_ERR_LIMIT_EXCEEDED	4	/* "limit-exceeded": data.limit names the limit */
#define MSHVD_ERR_INVALID_STATE		5	/* "invalid-state": data.state is the current state */
#define MSHVD_ERR_HYPERVISOR		6	/* "hypervisor-error": data.errno, data.hv_status */
#define MSHVD_ERR_UNSUPPORTED		7	/* "unsupported": the backend lacks the capability */
#define MSHVD_ERR_TIMEOUT		8	/* "timeout" */
#define MSHVD_ERR_NO_SUCH_SNAPSHOT	9	/* "no-such-snapshot": missing, or another uid's */

#define MSHVD_ERRNAME_PARSE		"parse-error"
#define MSHVD_ERRNAME_INVALID_REQUEST	"invalid-request"
#define MSHVD_ERRNAME_METHOD_NOT_FOUND	"method-not-found"
#define MSHVD_ERRNAME_INVALID_PARAMS	"invalid-params"
#define MSHVD_ERRNAME_INTERNAL		"internal-error"
#define MSHVD_ERRNAME_NO_SUCH_VM	"no-such-vm"
#define MSHVD_ERRNAME_NO_SUCH_VCPU	"no-such-vcpu"
#define MSHVD_ERRNAME_PERMISSION_DENIED	"permission-denied"
#define MSHVD_ERRNAME_LIMIT_EXCEEDED	"limit-exceeded"
#define MSHVD_ERRNAME_INVALID_STATE	"invalid-state"
#define MSHVD_ERRNAME_HYPERVISOR	"hypervisor-error"
#define MSHVD_ERRNAME_UNSUPPORTED	"unsupported"
#define MSHVD_ERRNAME_TIMEOUT		"timeout"
#define MSHVD_ERRNAME_NO_SUCH_SNAPSHOT	"no-such-snapshot"

/* Default limits (each one is a daemon option and is reported by daemon-info). */
#define MSHVD_DEFAULT_MAX_CLIENTS	64
#define MSHVD_DEFAULT_MAX_VMS		64		/* partitions, daemon-wide */
#define MSHVD_DEFAULT_MAX_VCPUS		64		/* vCPUs per VM (index < this) */
#define MSHVD_DEFAULT_MAX_MEM_PER_VM	(4ull << 30)	/* bytes of guest RAM per VM */
#define MSHVD_DEFAULT_MAX_REQUEST	(256u << 10)	/* bytes per request line */
#define MSHVD_DEFAULT_MAX_BATCH		64		/* requests per batch */
#define MSHVD_DEFAULT_MAX_DEPTH		32		/* JSON nesting depth */
#define MSHVD_DEFAULT_MAX_IO		(128u << 10)	/* bytes per read-memory/write-memory */
#define MSHVD_DEFAULT_MAX_INFLIGHT	8		/* unanswered requests per connection */
#define MSHVD_DEFAULT_MAX_SUBS		16		/* subscriptions per connection */
#define MSHVD_DEFAULT_EVENT_RING	4096		/* events kept for subscribe {since} */
#define MSHVD_DEFAULT_MAX_NAME		64		/* bytes in a VM name */

#endif
