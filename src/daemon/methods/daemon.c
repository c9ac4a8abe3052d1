// SPDX-License-Identifier: MIT
// daemon-info: version, backend, capabilities, limits and counts.

#include "config.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "mshvd/version.h"
#include "methods.h"

/*
 * The kernel driver's generation and features where the backend has driver generations
 * (mshv), else JSON null.  New reference.
 */
static json_t *driver_json(void)
{
	const struct hv_driver_info *d = model_driver_info();
	json_t *features;

	if (!d)
		return json_null();
	features = json_array();
	for (unsigned i = 0; d->features[i]; i++)
		json_array_append_new(features, json_string(d->features[i]));
	return json_pack("{s:s, s:o, s:o}", "generation", d->generation, "features", features,
			 "vmm_capabilities", d->vmm_caps_known ? json_hex(d->vmm_caps) : json_null());
}

/*
 * daemon-info is asked for often (clients probe with it, mshvctl events uses it as a barrier)
 * and is mostly constant: its text is kept serialised in three pieces around the parts that
 * change from call to call (seq, and the counts of what the caller may see), which are
 * spliced in.  The pieces are rebuilt when what they show changes: the limits, the backend's
 * capabilities (a different hv).  The result is byte for byte what one json_dumps of the
 * whole object gives.
 */
static struct {
	bool valid;
	struct limits limits;		/* what the pieces were built from */
	const void *hv;
	uint32_t caps;
	struct textbuf head;		/* {"version":..,"pid":N,"seq": */
	struct textbuf mid;		/* ,"started":N,"limits":{..},"counts":{"clients": */
	struct textbuf tail;		/* ,"isolation":..,"driver":..} */
	struct textbuf out;		/* the result being spliced */
} info_cache;

static int info_cache_build(void)
{
	uint32_t bits = model_caps();
	json_t *caps = json_array(), *efd, *head, *v;
	int r = -ENOMEM;

	for (unsigned i = 0; i < 32; i++) {
		const char *name = (bits & (1u << i)) ? model_cap_name(1u << i) : NULL;

		if (name)
			json_array_append_new(caps, json_string(name));
	}
	/* Which eventfd combination this backend has, and the create-vm option irqfds need. */
	efd = json_pack("{s:b, s:b, s:b, s:b, s:b, s:b, s:s}",
			"ioeventfd_mmio", !!(bits & HV_CAP_IOEVENTFD_MMIO),
			"ioeventfd_pio", !!(bits & HV_CAP_IOEVENTFD_PIO),
			"irqfd", !!(bits & HV_CAP_IRQFD),
			"irqfd_resample", !!(bits & HV_CAP_IRQFD_RESAMPLE),
			"msi_routing", !!(bits & HV_CAP_MSI_ROUTING),
			"assert_interrupt", !!(bits & HV_CAP_ASSERT_INTERRUPT),
			"needs", vm_irqchip_option());
	head = json_pack("{s:s, s:s, s:o, s:o, s:i}",
			 "version", MSHVD_VERSION,
			 "backend", model_backend_name(),
			 "capabilities", caps,
			 "eventfds", efd,
			 "pid", (int)getpid());
	info_cache.head.len = info_cache.mid.len = info_cache.tail.len = 0;
	if (!head || textbuf_json(&info_cache.head, head) < 0)
		goto out;
	/* The object without its closing brace, continued by the members that follow. */
	info_cache.head.len--;
	if (textbuf_puts(&info_cache.head, ",\"seq\":") < 0 ||
	    textbuf_printf(&info_cache.mid, ",\"started\":%lld,\"limits\":",
			   (long long)mshvd.started_us) < 0)
		goto out;
	v = limits_to_json(&mshvd.limits);
	r = textbuf_json(&info_cache.mid, v);
	json_decref(v);
	if (r < 0 || textbuf_puts(&info_cache.mid, ",\"counts\":{\"clients\":") < 0)
		goto out;
	/* Hardware virtualization (mshv, kvm) or a software CPU in this process (emu), which is
	 * for development and CI and is not an isolation boundary. */
	v = json_string(model_hardware_isolation() ? "hardware" : "none-emulated");
	r = textbuf_puts(&info_cache.tail, ",\"isolation\":") < 0 ? -ENOMEM :
	    textbuf_json(&info_cache.tail, v);
	json_decref(v);
	if (r < 0 || textbuf_puts(&info_cache.tail, ",\"driver\":") < 0)
		goto out;
	v = driver_json();
	r = textbuf_json(&info_cache.tail, v);
	json_decref(v);
	if (r < 0 || textbuf_put(&info_cache.tail, "}", 1) < 0)
		goto out;
	memcpy(&info_cache.limits, &mshvd.limits, sizeof(mshvd.limits));
	info_cache.hv = mshvd.hv;
	info_cache.caps = bits;
	info_cache.valid = true;
	r = 0;
out:
	json_decref(head);
	return r < 0 ? r : 0;
}

static enum rpc_retval daemon_info(struct rpc_call *call, const void *args)
{
	struct textbuf *out = &info_cache.out;
	uint64_t snap_bytes = 0;
	struct snapshot *s;
	struct vm_counts vc;
	unsigned nsnaps = 0;

	if (!info_cache.valid || info_cache.hv != mshvd.hv || info_cache.caps != model_caps() ||
	    memcmp(&info_cache.limits, &mshvd.limits, sizeof(mshvd.limits)) != 0) {
		info_cache.valid = false;
		if (info_cache_build() < 0) {
			rpc_error(call, MSHVD_ERR_INTERNAL, MSHVD_ERRNAME_INTERNAL, NULL,
				  "out of memory");
			return RPC_DONE;
		}
	}
	/* Counts of what the caller may see: other users' VMs stay invisible.  The model keeps
	 * them (no walk over the VMs); snapshots are few (max-snapshots) and counted here. */
	vm_counts_get(call->uid, auth_is_admin(call->uid), &vc);
	TAILQ_FOREACH(s, &snapshots, entry) {
		if (auth_can_see_snapshot(call->uid, s)) {
			nsnaps++;
			snap_bytes += snapshot_charge(s);
		}
	}
	out->len = 0;
	if (textbuf_put(out, info_cache.head.p, info_cache.head.len) < 0 ||
	    textbuf_printf(out, "%llu", (unsigned long long)events_last_seq()) < 0 ||
	    textbuf_put(out, info_cache.mid.p, info_cache.mid.len) < 0 ||
	    textbuf_printf(out, "%u,\"vms\":%u,\"vcpus\":%u,\"eventfds\":%u,\"snapshots\":%u,"
			   "\"snapshot_bytes\":\"0x%llx\"}", nclients, vc.vms, vc.vcpus, vc.eventfds,
			   nsnaps, (unsigned long long)snap_bytes) < 0 ||
	    textbuf_put(out, info_cache.tail.p, info_cache.tail.len) < 0) {
		rpc_error(call, MSHVD_ERR_INTERNAL, MSHVD_ERRNAME_INTERNAL, NULL, "out of memory");
		return RPC_DONE;
	}
	rpc_reply_text(call, out->p, out->len);
	return RPC_DONE;
}

const struct method method_daemon_info = {
	.name = "daemon-info",
	.handler = daemon_info,
	.perm = PERM_READ,
	.target = TARGET_NONE,
	.params = (const struct param_spec[]){ PARAM_END },
	.summary = "version, backend, driver, isolation, capabilities, limits and counts",
};
