#!/bin/sh
# SPDX-License-Identifier: MIT
# libmshv.so exports exactly its API: every function that maps an mshv-ioctls operation
# (include/mshv/mshv.h) is present, and nothing outside the mshv_ prefix.
builddir=${top_builddir:-.}
lib=$builddir/src/libmshv/.libs/libmshv.so
command -v nm >/dev/null || { echo "SKIP: nm is not installed"; exit 77; }
[ -r "$lib" ] || { echo "ERROR: $lib is not built"; exit 99; }

exports=$(nm -D --defined-only "$lib" | awk '$2 == "T" { print $3 }')
status=0
for f in \
	mshv_open mshv_open_path mshv_free mshv_create_vm mshv_create_vm_with_args \
	mshv_create_vm_with_type mshv_get_host_partition_property mshv_get_msr_index_list \
	mshv_probe mshv_generation_name mshv_feature_name mshv_caps_has_feature mshv_get_vmm_caps \
	mshv_vm_get_partition_property_ex mshv_vm_initialize mshv_vm_map_user_memory mshv_vm_unmap_user_memory \
	mshv_vm_create_vcpu mshv_vm_register_irqfd mshv_vm_register_irqfd_with_resample \
	mshv_vm_unregister_irqfd mshv_vm_register_ioevent mshv_vm_unregister_ioevent \
	mshv_vm_set_msi_routing mshv_vm_request_virtual_interrupt mshv_vm_install_intercept \
	mshv_vm_get_partition_property mshv_vm_set_partition_property mshv_vm_signal_event_direct \
	mshv_vm_post_message_direct mshv_vm_register_deliverability_notifications \
	mshv_vm_enable_dirty_page_tracking mshv_vm_disable_dirty_page_tracking \
	mshv_vm_get_dirty_log mshv_vm_set_dirty_bits mshv_vm_get_gpap_access_bitmap \
	mshv_vm_modify_gpa_host_access \
	mshv_vm_import_isolated_pages mshv_vm_complete_isolated_import \
	mshv_vm_psp_issue_guest_request mshv_vm_sev_snp_ap_create mshv_vm_create_device \
	mshv_device_set_attr mshv_device_get_attr mshv_device_has_attr mshv_vm_hvcall \
	mshv_vcpu_hvcall mshv_vcpu_get_reg mshv_vcpu_set_reg mshv_vcpu_get_regs mshv_vcpu_set_regs \
	mshv_vcpu_get_sregs mshv_vcpu_set_sregs mshv_vcpu_get_fpu mshv_vcpu_set_fpu \
	mshv_vcpu_get_msrs mshv_vcpu_set_msrs mshv_vcpu_get_xcrs mshv_vcpu_set_xcrs \
	mshv_vcpu_get_debug_regs mshv_vcpu_set_debug_regs mshv_vcpu_get_misc_regs \
	mshv_vcpu_set_misc_regs mshv_vcpu_get_vcpu_events mshv_vcpu_set_vcpu_events \
	mshv_vcpu_get_lapic mshv_vcpu_set_lapic mshv_vcpu_get_xsave mshv_vcpu_set_xsave \
	mshv_vcpu_get_vp_state mshv_vcpu_set_vp_state mshv_vcpu_reg_page mshv_vcpu_run \
	mshv_vcpu_translate_gva mshv_vcpu_gpa_read mshv_vcpu_gpa_write \
	mshv_vcpu_get_cpuid_values mshv_vcpu_register_intercept_result_cpuid \
	mshv_msg_io_port mshv_msg_memory mshv_msg_cpuid mshv_msg_msr mshv_msg_exception \
	mshv_msg_apic_eoi mshv_msg_sipi mshv_vcpu_set_registers64 mshv_strerror \
	mshv_vcpu_get_reg_list mshv_vcpu_get_all_regs mshv_vcpu_set_all_regs \
	mshv_vcpu_get_vp_state_components mshv_vcpu_set_vp_state_components \
	mshv_vp_state_components_free; do
	if ! printf '%s\n' "$exports" | grep -qx "$f"; then
		echo "FAIL: libmshv.so does not export $f"
		status=1
	fi
done
stray=$(printf '%s\n' "$exports" | grep -v '^mshv_')
if [ -n "$stray" ]; then
	echo "FAIL: libmshv.so exports symbols outside its API:"
	printf '%s\n' "$stray"
	status=1
fi
[ $status = 0 ] && echo "ok: $(printf '%s\n' "$exports" | wc -l) functions exported, all mshv_*"
exit $status
