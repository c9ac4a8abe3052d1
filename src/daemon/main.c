// SPDX-License-Identifier: MIT
// mshvd: options, the hypervisor backend, the event loop, signals and orderly shutdown.

#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stddef.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "mshvd.h"
#include "mshvd/version.h"
#include "systemd.h"

struct mshvd mshvd = {
	.limits = MSHVD_LIMITS_DEFAULT,
};

enum {
	OPT_MAX_CLIENTS = 256, OPT_MAX_VMS, OPT_MAX_VCPUS, OPT_MAX_MEM, OPT_MAX_REQUEST,
	OPT_MAX_BATCH, OPT_MAX_DEPTH, OPT_MAX_IO, OPT_MAX_INFLIGHT, OPT_MAX_SUBS, OPT_EVENT_RING,
	OPT_SOCKET_GROUP, OPT_LOG_LEVEL, OPT_PRINT_METHODS, OPT_DEVICE, OPT_MAX_EVENTFDS,
	OPT_MAX_MSI_ROUTES, OPT_MAX_CLIENTS_PER_UID, OPT_MAX_VMS_PER_UID, OPT_MAX_VCPUS_PER_UID,
	OPT_MAX_MEM_PER_UID, OPT_MAX_EVENTFDS_PER_UID, OPT_MAX_STRING, OPT_MAX_ARRAY,
	OPT_MAX_OUTPUT, OPT_OUTPUT_TIMEOUT, OPT_FRAME_TIMEOUT,
};

static const struct option options[] = {
	{ "socket", required_argument, NULL, 's' },
	{ "backend", required_argument, NULL, 'b' },
	{ "device", required_argument, NULL, OPT_DEVICE },
	{ "foreground", no_argument, NULL, 'f' },
	{ "log-level", required_argument, NULL, OPT_LOG_LEVEL },
	{ "socket-group", required_argument, NULL, OPT_SOCKET_GROUP },
	{ "max-clients", required_argument, NULL, OPT_MAX_CLIENTS },
	{ "max-vms", required_argument, NULL, OPT_MAX_VMS },
	{ "max-vcpus", required_argument, NULL, OPT_MAX_VCPUS },
	{ "max-mem-per-vm", required_argument, NULL, OPT_MAX_MEM },
	{ "max-request", required_argument, NULL, OPT_MAX_REQUEST },
	{ "max-batch", required_argument, NULL, OPT_MAX_BATCH },
	{ "max-depth", required_argument, NULL, OPT_MAX_DEPTH },
	{ "max-io", required_argument, NULL, OPT_MAX_IO },
	{ "max-inflight", required_argument, NULL, OPT_MAX_INFLIGHT },
	{ "max-subscriptions", required_argument, NULL, OPT_MAX_SUBS },
	{ "event-ring", required_argument, NULL, OPT_EVENT_RING },
	{ "max-eventfds", required_argument, NULL, OPT_MAX_EVENTFDS },
	{ "max-msi-routes", required_argument, NULL, OPT_MAX_MSI_ROUTES },
	{ "max-clients-per-uid", required_argument, NULL, OPT_MAX_CLIENTS_PER_UID },
	{ "max-vms-per-uid", required_argument, NULL, OPT_MAX_VMS_PER_UID },
	{ "max-vcpus-per-uid", required_argument, NULL, OPT_MAX_VCPUS_PER_UID },
	{ "max-mem-per-uid", required_argument, NULL, OPT_MAX_MEM_PER_UID },
	{ "max-eventfds-per-uid", required_argument, NULL, OPT_MAX_EVENTFDS_PER_UID },
	{ "max-string", required_argument, NULL, OPT_MAX_STRING },
	{ "max-array", required_argument, NULL, OPT_MAX_ARRAY },
	{ "max-output", required_argument, NULL, OPT_MAX_OUTPUT },
	{ "output-timeout", required_argument, NULL, OPT_OUTPUT_TIMEOUT },
	{ "frame-timeout", required_argument, NULL, OPT_FRAME_TIMEOUT },
	{ "print-methods", no_argument, NULL, OPT_PRINT_METHODS },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

static void usage(FILE *f)
{
	fprintf(f,
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
"Limits (sizes take K, M, G suffixes):\n"
"      --max-clients N       connections (default %u)\n"
"      --max-vms N           partitions (default %u)\n"
"      --max-vcpus N         vCPUs per VM (default %u)\n"
"      --max-mem-per-vm SIZE guest RAM per VM (default %lluM)\n"
"      --max-request SIZE    bytes per request line (default %uK)\n"
"      --max-batch N         requests per batch (default %u)\n"
"      --max-depth N         JSON nesting depth (default %u)\n"
"      --max-io SIZE         bytes per read-memory/write-memory (default %uK)\n"
"      --max-inflight N      unanswered requests per connection (default %u)\n"
"      --max-subscriptions N subscriptions per connection (default %u)\n"
"      --event-ring N        events kept for subscribe {since} (default %u)\n"
"      --max-eventfds N      ioeventfds + irqfds per VM (default %u)\n"
"      --max-msi-routes N    entries of an MSI routing table (default %u, at most 4096)\n"
"      --max-clients-per-uid N   connections of one non-root uid (default %u)\n"
"      --max-vms-per-uid N       partitions of one non-root uid (default %u)\n"
"      --max-vcpus-per-uid N     vCPUs of one non-root uid (default %u)\n"
"      --max-mem-per-uid SIZE    guest RAM of one non-root uid (default %lluG)\n"
"      --max-eventfds-per-uid N  ioeventfds + irqfds of one non-root uid (default %u)\n"
"      --max-string SIZE     bytes per string in a request; write-memory data is\n"
"                            bounded by --max-io instead (default %u)\n"
"      --max-array N         elements per array or object in a request (default %u)\n"
"      --max-output SIZE     bytes queued per connection; events beyond are dropped\n"
"                            and reported as events-lost (default %uK)\n"
"      --output-timeout MS   drop a connection whose output is stuck (default %u)\n"
"      --frame-timeout MS    drop a connection sending a partial line (default %u)\n"
"\n"
"      --print-methods       print the method table as JSON and exit\n"
"  -h, --help                this text\n"
"  -V, --version             the version\n",
		MSHVD_DEFAULT_MAX_CLIENTS, MSHVD_DEFAULT_MAX_VMS, MSHVD_DEFAULT_MAX_VCPUS,
		MSHVD_DEFAULT_MAX_MEM_PER_VM >> 20, MSHVD_DEFAULT_MAX_REQUEST >> 10,
		MSHVD_DEFAULT_MAX_BATCH, MSHVD_DEFAULT_MAX_DEPTH, MSHVD_DEFAULT_MAX_IO >> 10,
		MSHVD_DEFAULT_MAX_INFLIGHT, MSHVD_DEFAULT_MAX_SUBS, MSHVD_DEFAULT_EVENT_RING,
		MSHVD_DEFAULT_MAX_EVENTFDS, MSHVD_DEFAULT_MAX_MSI_ROUTES,
		MSHVD_DEFAULT_MAX_CLIENTS_PER_UID, MSHVD_DEFAULT_MAX_VMS_PER_UID,
		MSHVD_DEFAULT_MAX_VCPUS_PER_UID, MSHVD_DEFAULT_MAX_MEM_PER_UID >> 30,
		MSHVD_DEFAULT_MAX_EVENTFDS_PER_UID, MSHVD_DEFAULT_MAX_STRING,
		MSHVD_DEFAULT_MAX_ARRAY, MSHVD_DEFAULT_MAX_OUTPUT >> 10,
		MSHVD_DEFAULT_OUTPUT_TIMEOUT_MS, MSHVD_DEFAULT_FRAME_TIMEOUT_MS);
}

static int parse_size(const char *s, uint64_t max, uint64_t *ret)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || *s == '-')
		return -EINVAL;
	switch (*end) {
	case 'k': case 'K':
		v <<= 10, end++;
		break;
	case 'm': case 'M':
		v <<= 20, end++;
		break;
	case 'g': case 'G':
		v <<= 30, end++;
		break;
	}
	if (*end || v > max)
		return -EINVAL;
	*ret = v;
	return 0;
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
	uint64_t v;

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
		case OPT_MAX_MEM:
			bad = parse_size(optarg, UINT64_MAX, &mshvd.limits.max_mem_per_vm) < 0;
			break;
		case OPT_MAX_REQUEST:
		case OPT_MAX_IO:
			bad = parse_size(optarg, 64u << 20, &v) < 0 || v < 64;
			if (!bad && opt == OPT_MAX_REQUEST)
				mshvd.limits.max_request = v;
			else if (!bad)
				mshvd.limits.max_io = v;
			break;
		case OPT_MAX_CLIENTS: case OPT_MAX_VMS: case OPT_MAX_VCPUS: case OPT_MAX_BATCH:
		case OPT_MAX_DEPTH: case OPT_MAX_INFLIGHT: case OPT_MAX_SUBS: case OPT_EVENT_RING:
			bad = parse_size(optarg, 1u << 20, &v) < 0 || v == 0;
			if (bad)
				break;
			if (opt == OPT_MAX_CLIENTS)
				mshvd.limits.max_clients = v;
			else if (opt == OPT_MAX_VMS)
				mshvd.limits.max_vms = v;
			else if (opt == OPT_MAX_VCPUS)
				bad = (mshvd.limits.max_vcpus = v) > 1024;
			else if (opt == OPT_MAX_BATCH)
				mshvd.limits.max_batch = v;
			else if (opt == OPT_MAX_DEPTH)
				mshvd.limits.max_depth = v;
			else if (opt == OPT_MAX_INFLIGHT)
				mshvd.limits.max_inflight = v;
			else if (opt == OPT_MAX_SUBS)
				mshvd.limits.max_subs = v;
			else
				mshvd.limits.event_ring = v;
			break;
		case OPT_MAX_EVENTFDS:
		case OPT_MAX_MSI_ROUTES:
			bad = parse_size(optarg, MSHVD_MAX_GSI, &v) < 0 || v == 0;
			if (!bad && opt == OPT_MAX_EVENTFDS)
				mshvd.limits.max_eventfds = (unsigned)v;
			else if (!bad)
				mshvd.limits.max_msi_routes = (unsigned)v;
			break;
		case OPT_MAX_MEM_PER_UID:
			bad = parse_size(optarg, UINT64_MAX, &mshvd.limits.max_mem_per_uid) < 0;
			break;
		case OPT_MAX_STRING:
		case OPT_MAX_OUTPUT:
			bad = parse_size(optarg, 1u << 30, &v) < 0 || v < 64;
			if (!bad && opt == OPT_MAX_STRING)
				mshvd.limits.max_string = v;
			else if (!bad)
				mshvd.limits.max_output = v;
			break;
		case OPT_MAX_CLIENTS_PER_UID: case OPT_MAX_VMS_PER_UID: case OPT_MAX_VCPUS_PER_UID:
		case OPT_MAX_EVENTFDS_PER_UID: case OPT_MAX_ARRAY:
		case OPT_OUTPUT_TIMEOUT: case OPT_FRAME_TIMEOUT: {
			static const struct { int opt; size_t off; } fields[] = {
				{ OPT_MAX_CLIENTS_PER_UID, offsetof(struct limits, max_clients_per_uid) },
				{ OPT_MAX_VMS_PER_UID, offsetof(struct limits, max_vms_per_uid) },
				{ OPT_MAX_VCPUS_PER_UID, offsetof(struct limits, max_vcpus_per_uid) },
				{ OPT_MAX_EVENTFDS_PER_UID,
				  offsetof(struct limits, max_eventfds_per_uid) },
				{ OPT_MAX_ARRAY, offsetof(struct limits, max_array) },
				{ OPT_OUTPUT_TIMEOUT, offsetof(struct limits, output_timeout_ms) },
				{ OPT_FRAME_TIMEOUT, offsetof(struct limits, frame_timeout_ms) },
			};

			bad = parse_size(optarg, 1u << 30, &v) < 0 || v == 0;
			for (size_t i = 0; !bad && i < sizeof(fields) / sizeof(fields[0]); i++)
				if (fields[i].opt == opt)
					*(unsigned *)((char *)&mshvd.limits + fields[i].off) =
						(unsigned)v;
			break;
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
	if (!mshvd.base || events_init(mshvd.limits.event_ring) < 0 || mailbox_init() < 0) {
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
	mailbox_fini();
	events_fini();
	if (mshvd.base)
		event_base_free(mshvd.base);
	mshvd.hv = hv_free(mshvd.hv);
	log_info("exiting with status %d", status);
	return status;
}
