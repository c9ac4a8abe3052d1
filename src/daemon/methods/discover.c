// SPDX-License-Identifier: MIT
// rpc.discover: the OpenRPC document of this daemon, compiled in from rpc-schema/.

#include "config.h"

#include <stddef.h>

#include "methods.h"

/* rpc-schema/mshvd.openrpc.json as text, generated at build time (rpc-schema/include.am), so a
 * relocated or uninstalled binary answers with exactly the contract it was built against and
 * the daemon never opens a file for it. */
extern const char mshvd_openrpc_doc[];
extern const size_t mshvd_openrpc_doc_len;

static enum rpc_retval rpc_discover(struct rpc_call *call, const void *args)
{
	/* The compact text of the document, made once: it is constant for the life of the
	 * process (a few tens of KiB that the parse and dump per call cost far more than). */
	static struct textbuf text;
	json_error_t err;
	json_t *doc;

	if (!text.len) {
		doc = json_loadb(mshvd_openrpc_doc, mshvd_openrpc_doc_len, JSON_REJECT_DUPLICATES,
				 &err);
		if (!doc) {
			rpc_error(call, MSHVD_ERR_INTERNAL, MSHVD_ERRNAME_INTERNAL, NULL,
				  "the compiled-in OpenRPC document does not parse: %s", err.text);
			return RPC_DONE;
		}
		if (textbuf_json(&text, doc) < 0) {
			json_decref(doc);
			rpc_error(call, MSHVD_ERR_INTERNAL, MSHVD_ERRNAME_INTERNAL, NULL,
				  "out of memory");
			return RPC_DONE;
		}
		json_decref(doc);
	}
	rpc_reply_text(call, text.p, text.len);
	return RPC_DONE;
}

const struct method method_rpc_discover = {
	.name = "rpc.discover",
	.handler = rpc_discover,
	.perm = PERM_READ,
	.target = TARGET_NONE,
	.params = (const struct param_spec[]){ PARAM_END },
	.summary = "the OpenRPC document describing every method, event and error",
};
