/* SPDX-License-Identifier: MIT */
/* mshvctl internals: the command table, global state and the helpers shared by the commands. */
#ifndef MSHVD_CTL_H
#define MSHVD_CTL_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "mshvd/client.h"
#include "shared/num.h"

/* Exit codes (documented in mshvctl(1)). */
#define CTL_EXIT_OK		0
#define CTL_EXIT_DAEMON		1	/* the daemon returned an error, or a command failed */
#define CTL_EXIT_USAGE		2
#define CTL_EXIT_CONNECT	3	/* cannot connect, or the connection was lost */

struct ctl_command;

struct ctl {
	const char *socket_path;
	bool json;		/* --json: print result objects unchanged, one per line */
	int timeout_ms;		/* --timeout, per call; -1 waits forever */
	bool verbose;
	struct mshvd_client *client;	/* connected on first use */
	const struct ctl_command *cmd;	/* the command being run */
};

/* One row of the command table; the table also produces the usage text. */
struct ctl_command {
	const char *name;	/* one or two words: "list", "regs get" */
	const char *args;	/* synopsis of the arguments */
	const char *summary;	/* one line */
	const char *options;	/* option lines for --help, or NULL */
	int (*run)(struct ctl *ctl, int argc, char **argv);	/* argv[0] is the last name word */
};

extern const struct ctl_command ctl_commands[];

/* ---- util.c ---------------------------------------------------------------------------- */

/* Print "mshvctl: ..." on stderr. */
void ctl_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Print a usage error for the current command and exit 2. */
void ctl_usage_error(struct ctl *ctl, const char *fmt, ...)
	__attribute__((noreturn, format(printf, 2, 3)));
/* Print the --help text of a command on stdout. */
void ctl_command_help(const struct ctl_command *cmd);
/* help-rpc.c: print RPC method name (NULL: the list of methods) from the OpenRPC document
 * ($MSHVD_RPC_SCHEMA, else the installed mshvd.openrpc.json, else rpc.discover on the daemon).
 * Returns the exit status. */
int ctl_help_method(struct ctl *ctl, const char *name);

/*
 * getopt_long() for a command: adds -h/--help (prints the command's help, exits 0) and turns
 * unknown options into a usage error (exit 2).  Returns the option character or -1.
 */
int ctl_getopt(struct ctl *ctl, int argc, char **argv, const char *shortopts,
	       const struct option *longopts);
/* Exit 2 unless the number of positional arguments left is within [min, max]. */
void ctl_need_args(struct ctl *ctl, int argc, int min, int max);

/* The connected client (connects on first use; exit 3 with the reason on failure). */
struct mshvd_client *ctl_client(struct ctl *ctl);

/*
 * Call a method.  params is STOLEN.  On success returns a NEW reference to the result.  On a
 * daemon error prints "mshvctl: METHOD: NAME: message" and exits 1; on a lost connection
 * exits 3.
 */
json_t *ctl_call(struct ctl *ctl, const char *method, json_t *params);
/* ctl_call() with descriptor fd (borrowed) sent along with the request (SCM_RIGHTS). */
json_t *ctl_call_with_fd(struct ctl *ctl, const char *method, json_t *params, int fd);
/* Like ctl_call() but returns the negative errno (error filled) instead of exiting on a daemon
 * error; *ret_result is a NEW reference on success. */
int ctl_try_call(struct ctl *ctl, const char *method, json_t *params, json_t **ret_result,
		 struct mshvd_error *error);
/* Report a client-library failure (other than a daemon error) and exit with the right code. */
void ctl_fail(struct ctl *ctl, const char *what, int r) __attribute__((noreturn));
void ctl_fail_remote(const char *what, const struct mshvd_error *error)
	__attribute__((noreturn));

/* Parse or exit 2 naming what: */
uint64_t ctl_arg_u64(struct ctl *ctl, const char *what, const char *s);
uint64_t ctl_arg_size(struct ctl *ctl, const char *what, const char *s);
/* NEW reference: a VM reference, an integer for a decimal argument, otherwise a name. */
json_t *ctl_vm_json(const char *s);
/*
 * Requests sent one after another without waiting for their replies (pipelined: one round
 * trip for all of them), the replies collected in order by ctl_pipe_drain(), which fails like
 * ctl_call() at the first error.  At most depth (0: CTL_PIPE_MAX) are in flight: a full pipe
 * is drained before the next request, so depth 1 is one call after the other, stopping at the
 * first failure.  print: print every result (--json).
 */
#define CTL_PIPE_MAX	64
struct ctl_pipe {
	bool print;
	unsigned depth;
	unsigned n;
	uint64_t ids[CTL_PIPE_MAX];
	const char *methods[CTL_PIPE_MAX];	/* static strings */
};
/* params is STOLEN. */
void ctl_pipe_send(struct ctl *ctl, struct ctl_pipe *p, const char *method, json_t *params);
void ctl_pipe_drain(struct ctl *ctl, struct ctl_pipe *p);
/* write-memory len bytes at gpa in chunks of at most chunk bytes (len 0: one empty write),
 * queued on p; vm is borrowed. */
void ctl_write_memory(struct ctl *ctl, struct ctl_pipe *p, json_t *vm, uint64_t gpa,
		      const void *data, size_t len, size_t chunk);
/* Human size: "768 KiB", "4 GiB", "1.5 MiB", "123 B". */
void ctl_format_size(uint64_t v, char *buf, size_t size);
/*
 * NEW reference: a JSON value from command-line text: valid JSON as is (numbers, true, null,
 * [..], {..}, "..."), anything else as a string.
 */
json_t *ctl_value_json(const char *s);

/* Print a JSON value compactly on one line of stdout (value BORROWED). */
void ctl_print_json(const json_t *value);
/* Human rendering of any result (BORROWED): aligned "key: value", tables for arrays of objects. */
void ctl_print_human(const json_t *value);
/* One readable line for an event's params (BORROWED). */
void ctl_print_event(FILE *f, const json_t *params);
/* One readable description of an exit object (BORROWED) into buf. */
void ctl_format_exit(const json_t *exit, char *buf, size_t size);
/* Hexdump of data on stdout, offsets starting at base. */
void ctl_hexdump(const uint8_t *data, size_t len, uint64_t base);


/* ---- regs.c (shared by "regs set" and "boot") ------------------------------------------ */

/*
 * Apply "name=value" assignments to a set-regs "regs" object (BORROWED, modified).  Segment and
 * table sub-fields ("cs.base=0") are merged into the object found in current (BORROWED, the
 * get-regs "regs" object; may be NULL).  Returns 0 or -EINVAL after printing the reason.
 */
int ctl_regs_assign(json_t *regs, const json_t *current, const char *assignment);
/* Whether an assignment names a segment/table sub-field, and the register it needs. */
bool ctl_regs_needs_current(const char *assignment, char *reg, size_t size);

/* ---- commands ---------------------------------------------------------------------------- */

int cmd_info(struct ctl *ctl, int argc, char **argv);
int cmd_create(struct ctl *ctl, int argc, char **argv);
int cmd_destroy(struct ctl *ctl, int argc, char **argv);
int cmd_list(struct ctl *ctl, int argc, char **argv);
int cmd_show(struct ctl *ctl, int argc, char **argv);
int cmd_pause(struct ctl *ctl, int argc, char **argv);
int cmd_resume(struct ctl *ctl, int argc, char **argv);
int cmd_snapshot(struct ctl *ctl, int argc, char **argv);
int cmd_restore(struct ctl *ctl, int argc, char **argv);
int cmd_clone(struct ctl *ctl, int argc, char **argv);
int cmd_snapshots(struct ctl *ctl, int argc, char **argv);
int cmd_snapshot_destroy(struct ctl *ctl, int argc, char **argv);
int cmd_snapshot_save(struct ctl *ctl, int argc, char **argv);
int cmd_snapshot_load(struct ctl *ctl, int argc, char **argv);
int cmd_map(struct ctl *ctl, int argc, char **argv);
int cmd_unmap(struct ctl *ctl, int argc, char **argv);
int cmd_write(struct ctl *ctl, int argc, char **argv);
int cmd_read(struct ctl *ctl, int argc, char **argv);
int cmd_load(struct ctl *ctl, int argc, char **argv);
int cmd_vcpu_create(struct ctl *ctl, int argc, char **argv);
int cmd_regs_get(struct ctl *ctl, int argc, char **argv);
int cmd_regs_set(struct ctl *ctl, int argc, char **argv);
int cmd_run(struct ctl *ctl, int argc, char **argv);
int cmd_complete(struct ctl *ctl, int argc, char **argv);
int cmd_stop(struct ctl *ctl, int argc, char **argv);
int cmd_translate(struct ctl *ctl, int argc, char **argv);
int cmd_ioeventfd_add(struct ctl *ctl, int argc, char **argv);
int cmd_ioeventfd_remove(struct ctl *ctl, int argc, char **argv);
int cmd_irqfd_add(struct ctl *ctl, int argc, char **argv);
int cmd_irqfd_remove(struct ctl *ctl, int argc, char **argv);
int cmd_irqfd_trigger(struct ctl *ctl, int argc, char **argv);
int cmd_msi_routing(struct ctl *ctl, int argc, char **argv);
int cmd_interrupt(struct ctl *ctl, int argc, char **argv);
int cmd_events(struct ctl *ctl, int argc, char **argv);
int cmd_call(struct ctl *ctl, int argc, char **argv);
int cmd_boot(struct ctl *ctl, int argc, char **argv);

#endif
