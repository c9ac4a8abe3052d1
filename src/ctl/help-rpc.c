// SPDX-License-Identifier: MIT
/* mshvctl help METHOD: one RPC method (or the list of them) rendered from the OpenRPC document. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

#ifndef MSHVD_RPC_SCHEMA_PATH
#define MSHVD_RPC_SCHEMA_PATH "/usr/share/mshvd/mshvd.openrpc.json"
#endif

/*
 * The document, new reference: $MSHVD_RPC_SCHEMA, else the installed file, else rpc.discover on
 * the daemon (so an uninstalled mshvctl still works against a running daemon).  NULL with a
 * message when none answers.
 */
static json_t *load_document(struct ctl *ctl)
{
	const char *env = getenv("MSHVD_RPC_SCHEMA");
	const char *path = env && *env ? env : MSHVD_RPC_SCHEMA_PATH;
	struct mshvd_error error = { 0 };
	struct mshvd_client *c = NULL;
	json_t *doc;
	json_error_t jerr;
	int r;

	doc = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (doc)
		return doc;
	if (env && *env) {
		ctl_err("%s: %s", path, jerr.text);
		return NULL;
	}
	r = mshvd_client_connect(ctl->socket_path, &c);
	if (r == 0)
		r = mshvd_client_call(c, "rpc.discover", NULL, ctl->timeout_ms, &doc, &error);
	mshvd_client_free(c);
	if (r < 0) {
		ctl_err("no RPC schema: %s is not readable and rpc.discover on %s failed%s%s",
			path, ctl->socket_path, error.message[0] ? ": " : "", error.message);
		mshvd_error_clear(&error);
		return NULL;
	}
	return doc;
}

/* Borrowed: the schema a "#/components/..." reference names, or s itself. */
static json_t *resolve(json_t *doc, json_t *s)
{
	for (int depth = 0; depth < 16; depth++) {
		const char *ref = json_string_value(json_object_get(s, "$ref"));
		char buf[256], *part, *save;
		json_t *node = doc;

		if (!ref || strncmp(ref, "#/", 2) != 0 || strlen(ref) >= sizeof(buf))
			return s;
		strcpy(buf, ref + 2);
		for (part = strtok_r(buf, "/", &save); part && node; part = strtok_r(NULL, "/", &save))
			node = json_object_get(node, part);
		if (!node)
			return s;
		s = node;
	}
	return s;
}

/* A short description of a schema ("u64", "integer 0..255", "step|stream", "array of ..."). */
static void print_type(json_t *s)
{
	const char *ref = json_string_value(json_object_get(s, "$ref"));
	const char *type = json_string_value(json_object_get(s, "type"));
	json_t *v, *e;
	size_t i;

	if (ref) {
		printf("%s", strrchr(ref, '/') + 1);
	} else if ((v = json_object_get(s, "const"))) {
		char *t = json_dumps(v, JSON_ENCODE_ANY);

		printf("%s", t ? t : "?");
		free(t);
	} else if ((v = json_object_get(s, "oneOf"))) {
		json_array_foreach(v, i, e) {
			printf("%s", i ? " | " : "");
			print_type(e);
		}
	} else if ((v = json_object_get(s, "enum"))) {
		json_array_foreach(v, i, e) {
			char *t = json_is_string(e) ? NULL : json_dumps(e, JSON_ENCODE_ANY);

			printf("%s%s", i ? "|" : "", t ? t : json_string_value(e));
			free(t);
		}
	} else if (type && strcmp(type, "array") == 0 && json_object_get(s, "items")) {
		printf("array of ");
		print_type(json_object_get(s, "items"));
	} else if (type && strcmp(type, "integer") == 0 && json_object_get(s, "minimum") &&
		   json_object_get(s, "maximum")) {
		printf("integer %lld..%lld",
		       (long long)json_integer_value(json_object_get(s, "minimum")),
		       (long long)json_integer_value(json_object_get(s, "maximum")));
	} else {
		printf("%s", type ? type : "any");
	}
}

/* The properties of an object result (each alternative of a oneOf). */
static void print_fields(json_t *doc, json_t *s, int depth)
{
	json_t *req, *props, *p, *alts, *alt;
	const char *key;
	size_t i;

	s = resolve(doc, s);
	if ((alts = json_object_get(s, "oneOf")) && depth < 2) {
		json_array_foreach(alts, i, alt) {
			printf("  %s ", i ? "or" : "either");
			print_type(alt);
			printf(":\n");
			print_fields(doc, alt, depth + 1);
		}
		return;
	}
	req = json_object_get(s, "required");
	props = json_object_get(s, "properties");
	json_object_foreach(props, key, p) {
		bool required = false;
		json_t *r;

		json_array_foreach(req, i, r)
			required |= strcmp(json_string_value(r) ? json_string_value(r) : "", key) == 0;
		printf("    %-14s ", key);
		print_type(p);
		printf("%s\n", required ? "" : " (optional)");
	}
}

static json_t *find_method(json_t *doc, const char *name)
{
	json_t *m;
	size_t i;

	json_array_foreach(json_object_get(doc, "methods"), i, m)
		if (strcmp(json_string_value(json_object_get(m, "name")) ?: "", name) == 0)
			return m;
	return NULL;
}

static void print_method(json_t *doc, json_t *m)
{
	json_t *p, *e, *result = json_object_get(m, "result");
	const char *desc = json_string_value(json_object_get(m, "description"));
	size_t i;

	printf("%s - %s\n\n", json_string_value(json_object_get(m, "name")),
	       json_string_value(json_object_get(m, "summary")) ?: "");
	if (desc)
		printf("%s\n\n", desc);
	printf("Permission: %s\n\n",
	       json_string_value(json_object_get(m, "x-permission")) ?: "unspecified");
	if (json_array_size(json_object_get(m, "params")) == 0)
		printf("Params: none\n");
	else
		printf("Params (by name):\n");
	json_array_foreach(json_object_get(m, "params"), i, p) {
		printf("  %-14s ", json_string_value(json_object_get(p, "name")) ?: "?");
		print_type(json_object_get(p, "schema"));
		printf("%s\n", json_is_true(json_object_get(p, "required")) ? "" : " (optional)");
		if (json_string_value(json_object_get(p, "description")))
			printf("      %s\n", json_string_value(json_object_get(p, "description")));
	}
	desc = json_string_value(json_object_get(result, "description"));
	printf("\nResult%s%s\n", desc && *desc ? ": " : ":", desc && *desc ? desc : "");
	print_fields(doc, json_object_get(result, "schema"), 0);
	printf("\nErrors:");
	json_array_foreach(json_object_get(m, "errors"), i, e) {
		json_t *err = resolve(doc, e);

		printf("%s %s (%lld)", i ? "," : "",
		       json_string_value(json_object_get(err, "message")) ?: "?",
		       (long long)json_integer_value(json_object_get(err, "code")));
	}
	printf("\n");
}

int ctl_help_method(struct ctl *ctl, const char *name)
{
	json_t *doc = load_document(ctl), *m;
	size_t i;

	if (!doc)
		return CTL_EXIT_DAEMON;
	if (!name) {
		printf("RPC methods (mshvctl help METHOD for one; mshvctl call METHOD calls it):\n");
		json_array_foreach(json_object_get(doc, "methods"), i, m)
			printf("  %-18s %s\n", json_string_value(json_object_get(m, "name")) ?: "?",
			       json_string_value(json_object_get(m, "summary")) ?: "");
		json_decref(doc);
		return CTL_EXIT_OK;
	}
	m = find_method(doc, name);
	if (!m) {
		ctl_err("'%s' is neither a command nor an RPC method (mshvctl help --methods "
			"lists them)", name);
		json_decref(doc);
		return CTL_EXIT_USAGE;
	}
	print_method(doc, m);
	json_decref(doc);
	return CTL_EXIT_OK;
}
