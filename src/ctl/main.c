// SPDX-License-Identifier: MIT
/* mshvctl: global options, the command table (which also generates the usage text), dispatch. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "mshvd/version.h"

#define VM	"VM"
#define VMV	"VM VCPU"

const struct ctl_command ctl_commands[] = {
	{ "info", "", "version, backend, MSHV driver, isolation, capabilities, limits", NULL, cmd_info },
	{ "create", "[NAME]", "create a VM",
	  "  --lapic          give the partition a local APIC\n"
	  "  --x2apic         enable x2APIC\n"
	  "  --irqchip        in-kernel interrupt controller (needed for irqfds on kvm)\n"
	  "  --nested-virtualization  let the guest run a hypervisor (mshv driver 7.0+)\n"
	  "  --smt-guest      schedule the VPs as SMT siblings (mshv driver 7.0+)\n"
	  "  --autodestroy    destroy the VM when this connection closes (i.e. at once)\n",
	  cmd_create },
	{ "destroy", VM, "destroy a VM (teardown finishes in the background)", NULL, cmd_destroy },
	{ "list", "", "list the VMs you can see", NULL, cmd_list },
	{ "show", VM, "show a VM: regions, vCPUs and their states, eventfds, exit counters", NULL,
	  cmd_show },
	{ "pause", VM, "pause all vCPUs of a VM", NULL, cmd_pause },
	{ "resume", VM, "resume a paused VM", NULL, cmd_resume },
	{ "snapshot", VM, "snapshot a VM (memory and vCPU states; it keeps running)",
	  "  --name NAME      name of the snapshot (default snap-N)\n"
	  "  --autodestroy    destroy the snapshot when this connection closes (i.e. at once)\n"
	  "  --warm           keep a spare VM built from it: clone hands it out\n",
	  cmd_snapshot },
	{ "restore", VM " SNAPSHOT", "return a VM to a snapshot (only written pages are copied)",
	  NULL, cmd_restore },
	{ "clone", "SNAPSHOT [NAME]", "create a VM in a snapshot's state",
	  "  --autodestroy    destroy the VM when this connection closes (i.e. at once)\n",
	  cmd_clone },
	{ "snapshots", "", "list the snapshots you can see", NULL, cmd_snapshots },
	{ "snapshot-destroy", "SNAPSHOT", "free a snapshot", NULL, cmd_snapshot_destroy },
	{ "snapshot-save", "SNAPSHOT FILE", "write a snapshot to FILE (mshvctl opens it)", NULL,
	  cmd_snapshot_save },
	{ "snapshot-load", "FILE [NAME]", "read a snapshot file into a new snapshot",
	  "  --autodestroy    destroy the snapshot when this connection closes (i.e. at once)\n"
	  "  --warm           keep a spare VM built from it: clone hands it out\n",
	  cmd_snapshot_load },
	{ "map", VM " GPA SIZE", "map fresh zeroed guest RAM at GPA",
	  "  --flags rwx      access of the mapping (default rwx)\n", cmd_map },
	{ "unmap", VM " GPA", "unmap the region that starts at GPA", NULL, cmd_unmap },
	{ "write", VM " GPA [FILE|-]", "write bytes into guest memory (from stdin by default)",
	  "  --hex HEX        write these bytes (\"90 90 f4\" or \"9090f4\")\n"
	  "  --string TEXT    write this text (no terminating NUL)\n", cmd_write },
	{ "read", VM " GPA SIZE", "read guest memory: a hexdump on a terminal, raw bytes when piped",
	  "  --hexdump        always print a hexdump\n"
	  "  --raw            always print raw bytes\n", cmd_read },
	{ "load", VM " FILE", "stream a file into guest memory in bounded chunks",
	  "  --gpa ADDR       guest physical address to load at (required)\n"
	  "  --chunk SIZE     bytes per write-memory call (default 64K)\n"
	  "  --no-progress    no progress bar, even on a terminal\n", cmd_load },
	{ "vcpu create", VM " INDEX", "create a vCPU", NULL, cmd_vcpu_create },
	{ "regs get", VMV " [NAME...]", "print registers (all, or the named ones)", NULL,
	  cmd_regs_get },
	{ "regs set", VMV " NAME=VALUE...",
	  "set registers: rip=0x1000 rax=2 cs.base=0 cs.selector=0 gdtr.limit=0x17",
	  "  Segment (cs ds es fs gs ss tr ldtr) and table (gdtr idtr) sub-fields base, limit,\n"
	  "  selector, attributes are merged with the current value.\n", cmd_regs_set },
	{ "run", VMV, "start or resume a vCPU",
	  "  --mode MODE      step (every exit parks; default) or stream\n"
	  "  --wait           wait for the first parking exit and print it\n"
	  "  --run-timeout MS give up waiting after MS (daemon side, with --wait)\n"
	  "  --default-read V value for port/MMIO reads in stream mode\n", cmd_run },
	{ "complete", VMV " [NAME=VALUE...]",
	  "finish the parked exit (the read value, RIP advanced unless rip= is given)",
	  "  --value V        value returned to the guest's read\n", cmd_complete },
	{ "stop", VMV, "stop a running vCPU; returns once it is parked", NULL, cmd_stop },
	{ "translate", VMV " GVA", "translate a guest virtual address",
	  "  --access A       read, write or exec (default read)\n", cmd_translate },
	{ "ioeventfd add", VM " ADDR", "add an ioeventfd (guest doorbell without an exit)",
	  "  --space S        mmio (default) or pio\n"
	  "  --len N          0, 1, 2, 4 or 8 (default 4; 0 matches any length)\n"
	  "  --datamatch V    only writes of this value\n", cmd_ioeventfd_add },
	{ "ioeventfd remove", VM " ID", "remove an ioeventfd", NULL, cmd_ioeventfd_remove },
	{ "irqfd add", VM " GSI", "add an irqfd for GSI",
	  "  --resample       level-triggered with a resample fd\n", cmd_irqfd_add },
	{ "irqfd remove", VM " ID", "remove an irqfd", NULL, cmd_irqfd_remove },
	{ "irqfd trigger", VM " GSI", "signal the irqfd of GSI (trigger-irq)", NULL,
	  cmd_irqfd_trigger },
	{ "msi-routing", VM " [GSI:ADDR_LO:ADDR_HI:DATA...]",
	  "replace the MSI routing table (no entries: clear it)", NULL, cmd_msi_routing },
	{ "interrupt", VM " VECTOR", "assert an interrupt",
	  "  --apic-id N      destination APIC id (default 0)\n"
	  "  --type T         fixed, lowest, nmi, init, sipi or extint (default fixed)\n"
	  "  --level          level-triggered\n"
	  "  --logical        logical destination mode\n", cmd_interrupt },
	{ "events", "", "print events: the retained ones, or new ones as they come with --follow",
	  "  --vm VM          only this VM\n"
	  "  --kinds K,K      only these kinds (exit, vcpu-state, vm-state, ioevent, ...)\n"
	  "  --since SEQ      start at sequence number SEQ\n"
	  "  --follow, -f     keep printing until interrupted or the daemon exits\n",
	  cmd_events },
	{ "call", "METHOD [JSON | KEY=VALUE...]", "call any method and print its raw result",
	  "  Values that parse as JSON (numbers, true, [..], {..}) are sent as JSON, others as\n"
	  "  strings.\n", cmd_call },
	{ "boot", "IMAGE", "run a flat binary in a new VM and print its console output",
	  "  --gpa ADDR       load address (default 0x1000)\n"
	  "  --entry ADDR     entry point (default: the load address)\n"
	  "  --mode M         real (default), protected or long: the CPU mode set up host side\n"
	  "  --mem SIZE       guest RAM at GPA 0 (default 768K)\n"
	  "  --reg NAME=VALUE set a register before starting (repeatable); real mode starts\n"
	  "                   with CS=0, RAX=RBX=2 like the mshv-ioctls example\n"
	  "  --step           run with run/wait per exit instead of stream mode\n"
	  "  --max-time MS    stop the guest after MS milliseconds (exit 4)\n"
	  "  Exit status: the status the guest wrote to port 0x604 (0-255), else 0 when it\n"
	  "  halts; 4 on shutdown, an unexpected exit or --max-time.\n", cmd_boot },
	{ NULL, NULL, NULL, NULL, NULL },
};

static void usage(FILE *f)
{
	size_t width = 0;

	fprintf(f, "usage: mshvctl [--socket PATH] [--json] [--timeout MS] COMMAND [ARGS]\n\n"
		   "Drive the mshvd daemon.\n\n"
		   "Options:\n"
		   "  -s, --socket PATH  daemon socket (default $MSHVD_SOCKET or %s)\n"
		   "  -j, --json         print the daemon's result objects, one JSON text per line\n"
		   "  -t, --timeout MS   give up on a call after MS milliseconds (default: none)\n"
		   "  -v, --verbose      more output (boot: non-console port I/O on stderr)\n"
		   "  -h, --help         this help; COMMAND --help for a command's options;\n"
		   "                     help METHOD, help --method M, help --methods: RPC methods\n"
		   "  -V, --version      print the version\n\n"
		   "Commands:\n", MSHVD_CLIENT_DEFAULT_SOCKET);
	for (const struct ctl_command *c = ctl_commands; c->name; c++) {
		size_t w = strlen(c->name) + 1 + strlen(c->args);

		if (w > width && w <= 24)
			width = w;
	}
	for (const struct ctl_command *c = ctl_commands; c->name; c++) {
		size_t w = strlen(c->name) + 1 + strlen(c->args);

		if (w > width)
			fprintf(f, "  %s %s\n  %*s  %s\n", c->name, c->args, (int)width, "",
				c->summary);
		else
			fprintf(f, "  %s %s%*s  %s\n", c->name, c->args, (int)(width - w), "",
				c->summary);
	}
	fprintf(f, "\nVM is a VM id or name.  Numbers take 0x prefixes, sizes K/M/G suffixes.\n"
		   "Exit status: 0 success, 1 daemon error, 2 usage, 3 cannot connect.\n");
}

/* Match argv against the table: one-word names, then two-word names. */
static const struct ctl_command *find_command(int argc, char **argv, int *ret_words,
					      bool *ret_group)
{
	size_t l0 = strlen(argv[0]);

	*ret_group = false;
	for (const struct ctl_command *c = ctl_commands; c->name; c++) {
		if (strcmp(c->name, argv[0]) == 0) {
			*ret_words = 1;
			return c;
		}
		if (strncmp(c->name, argv[0], l0) == 0 && c->name[l0] == ' ') {
			*ret_group = true;
			if (argc > 1 && strcmp(c->name + l0 + 1, argv[1]) == 0) {
				*ret_words = 2;
				return c;
			}
		}
	}
	return NULL;
}

static void group_usage(FILE *f, const char *group)
{
	size_t l = strlen(group);

	fprintf(f, "usage:\n");
	for (const struct ctl_command *c = ctl_commands; c->name; c++)
		if (strncmp(c->name, group, l) == 0 && c->name[l] == ' ')
			fprintf(f, "  mshvctl %s %s\n      %s\n", c->name, c->args, c->summary);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "timeout", required_argument, NULL, 't' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 },
	};
	struct ctl ctl = { .timeout_ms = -1 };
	const struct ctl_command *cmd;
	bool group;
	int c, words, r;

	ctl.socket_path = mshvd_client_default_socket();
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+s:jt:vhV", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			ctl.socket_path = optarg;
			break;
		case 'j':
			ctl.json = true;
			break;
		case 't': {
			uint64_t v;

			if (parse_u64(optarg, &v) < 0 || v > 86400000) {
				ctl_err("invalid --timeout '%s' (milliseconds)", optarg);
				return CTL_EXIT_USAGE;
			}
			ctl.timeout_ms = (int)v;
			break;
		}
		case 'v':
			ctl.verbose = true;
			break;
		case 'h':
			usage(stdout);
			return CTL_EXIT_OK;
		case 'V':
			printf("mshvctl %s\n", MSHVD_VERSION);
			return CTL_EXIT_OK;
		default:
			if (optopt)
				ctl_err("invalid option '-%c' or missing argument", optopt);
			else
				ctl_err("invalid option '%s' or missing argument", argv[optind - 1]);
			fprintf(stderr, "Try 'mshvctl --help'.\n");
			return CTL_EXIT_USAGE;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1) {
		usage(stderr);
		return CTL_EXIT_USAGE;
	}
	if (strcmp(argv[0], "help") == 0) {
		/* RPC methods render from the OpenRPC document; --method for names that are
		 * also commands (run, stop, complete). */
		if (argc == 2 && strcmp(argv[1], "--methods") == 0)
			return ctl_help_method(&ctl, NULL);
		if (argc == 3 && strcmp(argv[1], "--method") == 0)
			return ctl_help_method(&ctl, argv[2]);
		if (argc > 1 && (cmd = find_command(argc - 1, argv + 1, &words, &group))) {
			ctl_command_help(cmd);
			return CTL_EXIT_OK;
		}
		if (argc > 1 && group) {
			group_usage(stdout, argv[1]);
			return CTL_EXIT_OK;
		}
		if (argc == 2)
			return ctl_help_method(&ctl, argv[1]);
		usage(stdout);
		return CTL_EXIT_OK;
	}
	cmd = find_command(argc, argv, &words, &group);
	if (!cmd) {
		if (group) {
			bool help = argc > 1 && (strcmp(argv[1], "--help") == 0 ||
						 strcmp(argv[1], "-h") == 0);

			if (!help)
				ctl_err("%s: %s", argv[0], argc > 1 ? "unknown subcommand" :
					"missing subcommand");
			group_usage(help ? stdout : stderr, argv[0]);
			return help ? CTL_EXIT_OK : CTL_EXIT_USAGE;
		}
		ctl_err("unknown command '%s'", argv[0]);
		fprintf(stderr, "Try 'mshvctl --help'.\n");
		return CTL_EXIT_USAGE;
	}
	ctl.cmd = cmd;
	argc -= words - 1;
	argv += words - 1;
	optind = 0;	/* GNU: reinitialize getopt for the command's own options */
	r = cmd->run(&ctl, argc, argv);
	mshvd_client_free(ctl.client);
	if (fflush(stdout) != 0) {
		ctl_err("writing output: %s", strerror(errno));
		return CTL_EXIT_DAEMON;
	}
	return r;
}
