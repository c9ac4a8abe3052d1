// SPDX-License-Identifier: MIT
/* mshvctl events (subscription printer) and call (any method, raw result). */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	interrupted = sig;
}

/* SIGINT/SIGTERM interrupt poll() (no SA_RESTART) so the loop can exit cleanly. */
static void catch_signals(void)
{
	struct sigaction sa = { .sa_handler = on_signal };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

static void print_event(struct ctl *ctl, const json_t *params)
{
	if (ctl->json)
		ctl_print_json(params);
	else
		ctl_print_event(stdout, params);
	fflush(stdout);
}

int cmd_events(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "vm", required_argument, NULL, 'v' },
		{ "kinds", required_argument, NULL, 'k' },
		{ "since", required_argument, NULL, 's' },
		{ "follow", no_argument, NULL, 'f' },
		{ 0 },
	};
	json_t *params = json_object(), *result = NULL, *ev;
	struct mshvd_error error = { 0 };
	struct mshvd_client *client;
	bool follow = false, have_since = false;
	uint64_t barrier, upto = 0;
	int c, r;

	while ((c = ctl_getopt(ctl, argc, argv, "f", opts)) != -1) {
		switch (c) {
		case 'v':
			json_object_set_new(params, "vm", ctl_vm_json(optarg));
			break;
		case 'k': {
			json_t *kinds = json_array();
			char *copy = strdup(optarg), *save = NULL;

			for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
				json_array_append_new(kinds, json_string(t));
			free(copy);
			json_object_set_new(params, "kinds", kinds);
			break;
		}
		case 's':
			json_object_set_new(params, "since",
					    json_integer((json_int_t)ctl_arg_u64(ctl, "--since",
										 optarg)));
			have_since = true;
			break;
		default:
			follow = true;
			break;
		}
	}
	ctl_need_args(ctl, argc - optind, 0, 0);
	/* Without --follow, print what the daemon retains: replay from the start. */
	if (!follow && !have_since)
		json_object_set_new(params, "since", json_integer(0));
	client = ctl_client(ctl);
	catch_signals();
	r = mshvd_client_subscribe(client, params, ctl->timeout_ms, &result, &error);
	if (r == -MSHVD_CLIENT_EREMOTE)
		ctl_fail_remote("subscribe", &error);
	if (r < 0)
		ctl_fail(ctl, "subscribe", r);
	if (mshvd_json_u64(json_object_get(result, "seq"), &upto) < 0)
		upto = 0;
	json_decref(result);
	if (!follow) {
		/* The replay is queued right after the subscribe reply; the reply to one more
		 * request marks its end. */
		r = mshvd_client_send(client, "daemon-info", NULL, &barrier);
		if (r == 0)
			r = mshvd_client_wait(client, barrier, ctl->timeout_ms, NULL, NULL, &error);
		if (r == -MSHVD_CLIENT_EREMOTE)
			ctl_fail_remote("daemon-info", &error);
		if (r < 0)
			ctl_fail(ctl, "events", r);
		while (mshvd_client_next_event(client, 0, &ev) == 0) {
			uint64_t seq = 0;

			mshvd_json_u64(json_object_get(ev, "seq"), &seq);
			if (seq <= upto)
				print_event(ctl, ev);
			json_decref(ev);
		}
		return CTL_EXIT_OK;
	}
	for (;;) {
		/* A signal that lands outside poll() only sets the flag: wake up now and then
		 * to look at it, instead of racing a check against the blocking call. */
		if (interrupted)
			return CTL_EXIT_OK;
		r = mshvd_client_next_event(client, 200, &ev);
		if (r == 0) {
			print_event(ctl, ev);
			json_decref(ev);
			continue;
		}
		if (r == -EINTR || r == -ETIMEDOUT)
			continue;
		if (r == -ECONNRESET) {
			ctl_err("events: the daemon closed the connection");
			return CTL_EXIT_OK;
		}
		ctl_fail(ctl, "events", r);
	}
}

int cmd_call(struct ctl *ctl, int argc, char **argv)
{
	json_t *params = NULL, *result;
	int n;

	while (ctl_getopt(ctl, argc, argv, "", NULL) != -1)
		;
	n = argc - optind;
	ctl_need_args(ctl, n, 1, -1);
	if (n == 2 && (argv[optind + 1][0] == '{' || argv[optind + 1][0] == '[')) {
		json_error_t jerr;

		params = json_loads(argv[optind + 1], 0, &jerr);
		if (!params)
			ctl_usage_error(ctl, "invalid JSON params: %s", jerr.text);
	} else if (n > 1) {
		params = json_object();
		for (int i = optind + 1; i < argc; i++) {
			const char *eq = strchr(argv[i], '=');
			char *key;

			if (!eq || eq == argv[i])
				ctl_usage_error(ctl, "expected KEY=VALUE or one JSON text, got '%s'",
						argv[i]);
			key = strndup(argv[i], (size_t)(eq - argv[i]));
			json_object_set_new(params, key, ctl_value_json(eq + 1));
			free(key);
		}
	}
	result = ctl_call(ctl, argv[optind], params);
	if (ctl->json) {
		ctl_print_json(result);
	} else {
		char *s = json_dumps(result, JSON_INDENT(2) | JSON_ENCODE_ANY);

		if (s)
			puts(s);
		free(s);
	}
	json_decref(result);
	return CTL_EXIT_OK;
}
