// SPDX-License-Identifier: MIT
// mshvd: options, the hypervisor backend, the event loop, signals and orderly shutdown.

#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "model.h"
#include "snapshot.h"
#include "rpc.h"
#include "server.h"
#include "mshvd/version.h"
#include "systemd.h"

struct mshvd mshvd = {
	.limits = MSHVD_LIMITS_DEFAULT,
};

enum {
	OPT_SOCKET_GROUP = 256, OPT_LOG_LEVEL, OPT_PRINT_METHODS, OPT_PRINT_LIMITS, OPT_DEVICE,
	OPT_LIMIT,	/* OPT_LIMIT + enum limit_id: the options of the limits table */
};

static const struct option options[] = {
	{ "socket", required_argument, NULL, 's' },
	{ "backend", required_argument, NULL, 'b' },
	{ "device", required_argument, NULL, OPT_DEVICE },
	{ "foreground", no_argument, NULL, 'f' },
	{ "log-level", required_argument, NULL, OPT_LOG_LEVEL },
	{ "socket-group", required_argument, NULL, OPT_SOCKET_GROUP },
#define X(field, type, name, option, unit, def, min, max, help) \
	{ option, required_argument, NULL, OPT_LIMIT + LIMIT_##field },
	MSHVD_LIMITS(X)
#undef X
	{ "print-methods", no_argument, NULL, OPT_PRINT_METHODS },
	{ "print-limits", no_argument, NULL, OPT_PRINT_LIMITS },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

static void usage(FILE *f)
{
	fputs(
"Usage: mshvd [OPTION]...\n"
"Serve partitions of the Microsoft Hypervisor (/dev/mshv), KVM or a software CPU over\n"
"JSON-RPC 2.0.\n"
"\n"
"  -s, --socket PATH         listening socket (default " MSHVD_DEFAULT_SOCKET ")\n"
"  -b, --backend NAME        auto, mshv, kvm or emu (default auto: mshv, then kvm);\n"
"                            emu is a software CPU for development and CI, NOT an\n"
"                            isolation boundary\n"
"      --device PATH         hypervisor device instead of the backend's default\n"
"  -f, --foreground          do not detach\n"
"      --log-level LEVEL     error, warning, info or debug (default info)\n"
"      --socket-group GROUP  group of the socket (mode 0660)\n"
"\n"
"Limits (sizes take K, M, G suffixes):\n", f);
	limits_usage(f);
	fputs(
"\n"
"      --print-methods       print the method table as JSON and exit\n"
"      --print-limits        print the limits table as JSON and exit\n"
"  -h, --help                this text\n"
"  -V, --version             the version\n", f);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct vm *vm, *next;
	struct client *c, *cn;
	static const struct timeval grace = { 10, 0 };

	if (mshvd.shutting_down)
		return;
	log_info("signal %d: shutting down", (int)sig);
	mshvd.shutting_down = true;
	systemd_stopping();
	server_stop_listening();
	TAILQ_FOREACH_SAFE(c, &clients, entry, cn)
		client_close(c);
	TAILQ_FOREACH_SAFE(vm, &vms, entry, next)
		vm_destroy(vm, "daemon shutdown");
	snapshot_shutdown();
	if (TAILQ_EMPTY(&dying_vms))
		event_base_loopexit(mshvd.base, NULL);
	else
		event_base_loopexit(mshvd.base, &grace);	/* a stuck teardown must not hang us */
}

int main(int argc, char **argv)
{
	enum hv_backend backend = HV_BACKEND_AUTO;
	const char *socket_group = NULL, *device = NULL;
	bool foreground = false;
	struct event *sig_term = NULL, *sig_int = NULL;
	int opt, r, status = EXIT_FAILURE, inherited_fd = -1;

	log_init();
	mshvd.socket_path = MSHVD_DEFAULT_SOCKET;
	while ((opt = getopt_long(argc, argv, "s:b:fhV", options, NULL)) != -1) {
		bool bad = false;

		switch (opt) {
		case 's':
			mshvd.socket_path = optarg;
			break;
		case 'b':
			bad = hv_backend_from_name(optarg, &backend) < 0;
			break;
		case OPT_DEVICE:
			device = optarg;
			break;
		case 'f':
			foreground = true;
			break;
		case OPT_LOG_LEVEL:
			bad = log_level_from_name(optarg, &log_level) < 0;
			break;
		case OPT_SOCKET_GROUP:
			socket_group = optarg;
			break;
		case OPT_PRINT_LIMITS: {
			json_t *t = limits_table_json();

			json_dumpf(t, stdout, JSON_INDENT(2));
			putchar('\n');
			json_decref(t);
			return EXIT_SUCCESS;
		}
		case OPT_PRINT_METHODS: {
			json_t *m = methods_to_json();

			json_dumpf(m, stdout, JSON_INDENT(2));
			putchar('\n');
			json_decref(m);
			return EXIT_SUCCESS;
		}
		case 'h':
			usage(stdout);
			return EXIT_SUCCESS;
		case 'V':
			printf("mshvd %s\n", MSHVD_VERSION);
			return EXIT_SUCCESS;
		default:
			if (opt >= OPT_LIMIT && opt < OPT_LIMIT + LIMIT__COUNT) {
				bad = limit_parse(&mshvd.limits, opt - OPT_LIMIT, optarg) < 0;
				break;
			}
			usage(stderr);
			return 2;
		}
		if (bad) {
			fprintf(stderr, "mshvd: bad value \"%s\"\n", optarg);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "mshvd: unexpected argument \"%s\"\n", argv[optind]);
		return 2;
	}

	signal(SIGPIPE, SIG_IGN);
	mshvd.started_us = now_us();
	/* Checked before the hypervisor is opened: a bad unit must fail fast and clearly. */
	r = systemd_listen_fd(&inherited_fd);
	if (r < 0 && r != -ENOENT)
		return EXIT_FAILURE;
	/* Forking would hide us from the service manager (notify, watchdog, MAINPID). */
	if (systemd_managed())
		foreground = true;
	if (backend == HV_BACKEND_EMU && !hv_backend_available(backend)) {
		log_error("backend emu is not built into this mshvd (configure --with-unicorn)");
		return EXIT_FAILURE;
	}
	if (backend == HV_BACKEND_EMU && device) {
		log_error("backend emu has no device: --device does not apply");
		return EXIT_FAILURE;
	}
	r = hv_open(backend, device, &mshvd.hv);
	if (r < 0) {
		/* auto never picks emu (no isolation boundary); say how to ask for it. */
		log_full(LOG_LVL_ERROR, 0, -1, NULL, -r, "cannot open the hypervisor (%s%s): %s%s",
			 backend == HV_BACKEND_AUTO ? "/dev/mshv, /dev/kvm" :
			 backend == HV_BACKEND_MSHV ? "/dev/mshv" :
			 backend == HV_BACKEND_KVM ? "/dev/kvm" : "emu",
			 device ? ", --device" : "", strerror(-r),
			 backend == HV_BACKEND_EMU ? "" :
			 hv_backend_available(HV_BACKEND_EMU) ?
			 "; --backend emu runs guests on a software CPU (development and CI only, "
			 "not an isolation boundary)" :
			 "; --backend emu (a software CPU for development and CI) needs an mshvd "
			 "built with libunicorn");
		return EXIT_FAILURE;
	}
	if (!hv_hardware_isolation(mshvd.hv))
		log_warning("backend %s is a software CPU: guests are NOT isolated from this "
			    "process; use it for development and CI only", hv_name(mshvd.hv));
	mshvd.base = event_base_new();
	if (!mshvd.base || events_init(mshvd.limits.event_ring) < 0 || model_init() < 0 ||
	    rpc_init() < 0) {
		log_error("cannot set up the event loop");
		goto out;
	}
	/* Signals first: a client may connect, and a test may signal, once we listen. */
	sig_term = evsignal_new(mshvd.base, SIGTERM, on_signal, NULL);
	sig_int = evsignal_new(mshvd.base, SIGINT, on_signal, NULL);
	if (!sig_term || !sig_int || evsignal_add(sig_term, NULL) < 0 ||
	    evsignal_add(sig_int, NULL) < 0) {
		log_error("cannot handle signals");
		goto out;
	}
	if (inherited_fd >= 0) {
		if (socket_group)
			log_warning("--socket-group is ignored with socket activation "
				    "(SocketGroup= in the socket unit sets it)");
		r = server_listen_fd(inherited_fd);
		inherited_fd = -1;	/* closed by server_stop_listening() from now on */
	} else {
		r = server_listen(mshvd.socket_path, socket_group);
	}
	if (r < 0 || systemd_init() < 0)
		goto out;
	if (!foreground) {
		if (daemon(0, 1) < 0 || event_reinit(mshvd.base) < 0) {
			log_error("cannot detach: %s", strerror(errno));
			goto out;
		}
	}
	log_info("mshvd %s on %s, backend %s", MSHVD_VERSION, mshvd.socket_path,
		 hv_name(mshvd.hv));
	systemd_ready();
	event_base_dispatch(mshvd.base);
	systemd_stopping();
	status = EXIT_SUCCESS;
	if (!TAILQ_EMPTY(&dying_vms)) {
		log_error("VM teardown did not finish in time");
		status = EXIT_FAILURE;
		/* Threads may still use the hypervisor objects: leave them to process exit. */
		_exit(status);
	}
out:
	systemd_stopping();
	server_stop_listening();
	{
		struct client *c, *cn;

		/* Force out whatever is left; the deferred frees run in one last loop turn. */
		TAILQ_FOREACH_SAFE(c, &clients, entry, cn)
			client_kill(c);
	}
	if (mshvd.base)
		event_base_loop(mshvd.base, EVLOOP_NONBLOCK);
	if (sig_term)
		event_free(sig_term);
	if (sig_int)
		event_free(sig_int);
	systemd_fini();
	model_fini();
	events_fini();
	if (mshvd.base)
		event_base_free(mshvd.base);
	mshvd.hv = hv_free(mshvd.hv);
	log_info("exiting with status %d", status);
	return status;
}
