// SPDX-License-Identifier: MIT
// daemon-info: version, backend, capabilities, limits and counts.

#include "config.h"

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

static enum rpc_retval daemon_info(struct rpc_call *call, const void *args)
{
	json_t *caps = json_array();
	uint32_t bits = model_caps();
	unsigned visible = 0, vcpus = 0, eventfds = 0, nsnaps = 0;
	uint64_t snap_bytes = 0;
	struct snapshot *s;
	json_t *efd, *reply;
	struct vm *vm;

	/* Counts of what the caller may see: other users' VMs stay invisible. */
	TAILQ_FOREACH(vm, &vms, entry) {
		if (auth_can_see(call->uid, vm)) {
			visible++;
			vcpus += vm_nvcpus(vm);
			eventfds += vm->neventfds;
		}
	}

	TAILQ_FOREACH(s, &snapshots, entry) {
		if (auth_can_see_snapshot(call->uid, s)) {
			nsnaps++;
			snap_bytes += s->bytes;
		}
	}
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
	reply = json_pack("{s:s, s:s, s:o, s:o, s:i, s:I, s:I, s:o, s:{s:i, s:i, s:i, s:i}}",
			  "version", MSHVD_VERSION,
			  "backend", model_backend_name(),
			  "capabilities", caps,
			  "eventfds", efd,
			  "pid", (int)getpid(),
			  "seq", (json_int_t)events_last_seq(),
			  "started", (json_int_t)mshvd.started_us,
			  "limits", limits_to_json(&mshvd.limits),
			  "counts",
			  "clients", nclients,
			  "vms", visible,
			  "vcpus", vcpus,
			  "eventfds", eventfds);
	/* Hardware virtualization (mshv, kvm) or a software CPU in this process (emu), which is
	 * for development and CI and is not an isolation boundary. */
	json_object_set_new(reply, "isolation",
			    json_string(model_hardware_isolation() ? "hardware" : "none-emulated"));
	json_object_set_new(reply, "driver", driver_json());
	json_object_set_new(json_object_get(reply, "counts"), "snapshots", json_integer(nsnaps));
	json_object_set_new(json_object_get(reply, "counts"), "snapshot_bytes",
			    json_hex(snap_bytes));
	rpc_reply(call, reply);
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
