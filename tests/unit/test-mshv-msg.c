// SPDX-License-Identifier: MIT
// libmshv message decoders on crafted hv_messages: right type, wrong type, truncated payloads.

#include <string.h>

#include <mshv/mshv.h>

#include "check.h"

static struct hv_message make(uint32_t type, uint8_t payload_size)
{
	struct hv_message msg;
	uint8_t *p = (uint8_t *)msg.u.payload;

	memset(&msg, 0, sizeof(msg));
	msg.header.message_type = type;
	msg.header.payload_size = payload_size;
	for (size_t i = 0; i < sizeof(msg.u.payload); i++)
		p[i] = (uint8_t)(i + 1);	/* recognisable bytes at every offset */
	return msg;
}

/* An OUT %al,(%dx) to 0x3f8 as the hypervisor reports it (fact sheet §5.4, §8.1). */
static void test_io_port(void)
{
	struct hv_message msg = make(HVMSG_X64_IO_PORT_INTERCEPT, 128);
	struct hv_x64_io_port_intercept_message io, untouched;
	uint8_t *p = (uint8_t *)msg.u.payload;

	memset(p, 0, 128);
	p[0] = 3;			/* vp_index */
	p[4] = 0x01;			/* instruction_length 1, cr8 0 */
	p[5] = HV_X64_INTERCEPT_ACCESS_WRITE;
	p[6] = HV_X64_EXECUTION_STATE_CR0_PE;
	memcpy(p + 24, &(uint64_t){ 0x1007 }, 8);	/* rip */
	memcpy(p + 32, &(uint64_t){ 0x2 }, 8);		/* rflags */
	memcpy(p + 40, &(uint16_t){ 0x3f8 }, 2);	/* port */
	p[42] = 1 | HV_X64_IO_PORT_ACCESS_REP_PREFIX;	/* size 1, rep */
	p[43] = 1;
	memcpy(p + 48, &(uint64_t){ '4' }, 8);		/* rax */
	p[56] = 0xee;					/* instruction byte */
	memcpy(p + 104, &(uint64_t){ 0x11 }, 8);	/* rcx */
	memcpy(p + 120, &(uint64_t){ 0x33 }, 8);	/* rdi */

	check_ok(mshv_msg_io_port(&msg, &io));
	check_eq_u64(io.header.vp_index, 3);
	check_eq_u64(io.header.instruction_length, 1);
	check_eq_u64(io.header.cr8, 0);
	check_eq_u64(io.header.intercept_access_type, HV_X64_INTERCEPT_ACCESS_WRITE);
	check_eq_u64(io.header.execution_state.cr0_pe, 1);
	check_eq_u64(io.header.execution_state.efer_lma, 0);
	check_eq_u64(io.header.rip, 0x1007);
	check_eq_u64(io.header.rflags, 0x2);
	check_eq_u64(io.port_number, 0x3f8);
	check_eq_u64(io.access_info.access_size, 1);
	check_eq_u64(io.access_info.string_op, 0);
	check_eq_u64(io.access_info.rep_prefix, 1);
	check_eq_u64(io.instruction_byte_count, 1);
	check_eq_u64(io.rax, '4');
	check_eq_u64(io.instruction_bytes[0], 0xee);
	check_eq_u64(io.rcx, 0x11);
	check_eq_u64(io.rdi, 0x33);

	/* Truncated by one byte, empty, oversized, wrong type: -EINVAL and *ret untouched. */
	memset(&untouched, 0x5a, sizeof(untouched));
	io = untouched;
	msg.header.payload_size = 127;
	check_eq_int(mshv_msg_io_port(&msg, &io), -EINVAL);
	msg.header.payload_size = 0;
	check_eq_int(mshv_msg_io_port(&msg, &io), -EINVAL);
	msg.header.payload_size = 241;
	check_eq_int(mshv_msg_io_port(&msg, &io), -EINVAL);
	msg.header.payload_size = 240;		/* larger than needed but valid: accepted */
	check_ok(mshv_msg_io_port(&msg, &io));
	io = untouched;
	msg.header.payload_size = 128;
	msg.header.message_type = HVMSG_X64_MSR_INTERCEPT;
	check_eq_int(mshv_msg_io_port(&msg, &io), -EINVAL);
	check(memcmp(&io, &untouched, sizeof(io)) == 0);
	check_eq_int(mshv_msg_io_port(NULL, &io), -EINVAL);
	msg.header.message_type = HVMSG_X64_IO_PORT_INTERCEPT;
	check_eq_int(mshv_msg_io_port(&msg, NULL), -EINVAL);
}

static void test_memory(void)
{
	static const uint32_t ok_types[] = {
		HVMSG_UNMAPPED_GPA, HVMSG_GPA_INTERCEPT, HVMSG_UNACCEPTED_GPA,
	};
	struct hv_x64_memory_intercept_message mem;

	for (size_t i = 0; i < 3; i++) {
		struct hv_message msg = make(ok_types[i], 80);
		uint8_t *p = (uint8_t *)msg.u.payload;

		p[44] = 3;				/* instruction_byte_count */
		p[45] = HV_X64_MEMORY_ACCESS_GVA_VALID | HV_X64_MEMORY_ACCESS_GVA_GPA_VALID;
		memcpy(p + 48, &(uint64_t){ 0xffff8000000d0000ULL }, 8);
		memcpy(p + 56, &(uint64_t){ 0xd0000 }, 8);
		memcpy(p + 64, "\x88\x07\xf4", 3);
		check_ok(mshv_msg_memory(&msg, &mem));
		check_eq_u64(mem.instruction_byte_count, 3);
		check_eq_u64(mem.memory_access_info.gva_valid, 1);
		check_eq_u64(mem.memory_access_info.gva_gpa_valid, 1);
		check_eq_u64(mem.memory_access_info.hypercall_output_pending, 0);
		check_eq_u64(mem.guest_virtual_address, 0xffff8000000d0000ULL);
		check_eq_u64(mem.guest_physical_address, 0xd0000);
		check(memcmp(mem.instruction_bytes, "\x88\x07\xf4", 3) == 0);
		check_eq_u64(mem.cache_type, 0x2c2b2a29);	/* bytes 41..44 of the pattern */

		msg.header.payload_size = 79;
		check_eq_int(mshv_msg_memory(&msg, &mem), -EINVAL);
	}
	struct hv_message io = make(HVMSG_X64_IO_PORT_INTERCEPT, 128);
	check_eq_int(mshv_msg_memory(&io, &mem), -EINVAL);
	struct hv_message attr = make(HVMSG_GPA_ATTRIBUTE_INTERCEPT, 80);
	check_eq_int(mshv_msg_memory(&attr, &mem), -EINVAL);
}

static void test_cpuid_msr(void)
{
	struct hv_message msg = make(HVMSG_X64_CPUID_INTERCEPT, 104);
	struct hv_x64_cpuid_intercept_message cpuid;
	struct hv_x64_msr_intercept_message msr;
	uint8_t *p = (uint8_t *)msg.u.payload;

	/* Register order in the message is rax, rcx, rdx, rbx. */
	memcpy(p + 40, &(uint64_t){ 0xa }, 8);
	memcpy(p + 48, &(uint64_t){ 0xc }, 8);
	memcpy(p + 56, &(uint64_t){ 0xd }, 8);
	memcpy(p + 64, &(uint64_t){ 0xb }, 8);
	memcpy(p + 96, &(uint64_t){ 0xbb }, 8);
	check_ok(mshv_msg_cpuid(&msg, &cpuid));
	check_eq_u64(cpuid.rax, 0xa);
	check_eq_u64(cpuid.rcx, 0xc);
	check_eq_u64(cpuid.rdx, 0xd);
	check_eq_u64(cpuid.rbx, 0xb);
	check_eq_u64(cpuid.default_result_rbx, 0xbb);
	msg.header.payload_size = 103;
	check_eq_int(mshv_msg_cpuid(&msg, &cpuid), -EINVAL);
	check_eq_int(mshv_msg_msr(&msg, &msr), -EINVAL);

	msg = make(HVMSG_X64_MSR_INTERCEPT, 64);
	p = (uint8_t *)msg.u.payload;
	p[5] = HV_X64_INTERCEPT_ACCESS_WRITE;
	memcpy(p + 40, &(uint32_t){ 0xc0000080 }, 4);
	memcpy(p + 48, &(uint64_t){ 0x1 }, 8);
	memcpy(p + 56, &(uint64_t){ 0x500 }, 8);
	check_ok(mshv_msg_msr(&msg, &msr));
	check_eq_u64(msr.header.intercept_access_type, HV_X64_INTERCEPT_ACCESS_WRITE);
	check_eq_u64(msr.msr_number, 0xc0000080);
	check_eq_u64(msr.rdx, 1);
	check_eq_u64(msr.rax, 0x500);
	msg.header.payload_size = 63;
	check_eq_int(mshv_msg_msr(&msg, &msr), -EINVAL);
	check_eq_int(mshv_msg_cpuid(&msg, &cpuid), -EINVAL);
}

static void test_exception(void)
{
	struct hv_message msg = make(HVMSG_X64_EXCEPTION_INTERCEPT, 240);
	struct hv_x64_exception_intercept_message ex;
	uint8_t *p = (uint8_t *)msg.u.payload;

	memcpy(p + 40, &(uint16_t){ 14 }, 2);
	p[42] = HV_X64_EXCEPTION_INFO_ERROR_CODE_VALID;
	memcpy(p + 44, &(uint32_t){ 0x6 }, 4);
	memcpy(p + 48, &(uint64_t){ 0xdead000 }, 8);
	memcpy(p + 232, &(uint64_t){ 0x1515 }, 8);
	check_ok(mshv_msg_exception(&msg, &ex));
	check_eq_u64(ex.exception_vector, 14);
	check_eq_u64(ex.exception_info.error_code_valid, 1);
	check_eq_u64(ex.exception_info.software_exception, 0);
	check_eq_u64(ex.error_code, 6);
	check_eq_u64(ex.exception_parameter, 0xdead000);
	check_eq_u64(ex.r15, 0x1515);
	msg.header.payload_size = 239;
	check_eq_int(mshv_msg_exception(&msg, &ex), -EINVAL);
}

static void test_apic_eoi_sipi(void)
{
	struct hv_message msg = make(HVMSG_X64_APIC_EOI, 8);
	struct hv_x64_apic_eoi_message eoi;
	struct hv_x64_sipi_intercept_message sipi;
	struct hv_x64_intercept_message_header hdr;
	uint8_t *p = (uint8_t *)msg.u.payload;

	memcpy(p, &(uint32_t){ 2 }, 4);
	memcpy(p + 4, &(uint32_t){ 0x31 }, 4);
	check_ok(mshv_msg_apic_eoi(&msg, &eoi));
	check_eq_u64(eoi.vp_index, 2);
	check_eq_u64(eoi.interrupt_vector, 0x31);
	msg.header.payload_size = 7;
	check_eq_int(mshv_msg_apic_eoi(&msg, &eoi), -EINVAL);
	/* APIC EOI has no intercept header. */
	msg.header.payload_size = 240;
	check_eq_int(mshv_msg_intercept_header(&msg, &hdr), -EINVAL);

	msg = make(HVMSG_X64_SIPI_INTERCEPT, 48);
	p = (uint8_t *)msg.u.payload;
	memcpy(p + 40, &(uint32_t){ 1 }, 4);
	memcpy(p + 44, &(uint32_t){ 0x9a }, 4);
	check_ok(mshv_msg_sipi(&msg, &sipi));
	check_eq_u64(sipi.target_vp_index, 1);
	check_eq_u64(sipi.interrupt_vector, 0x9a);
	msg.header.payload_size = 47;
	check_eq_int(mshv_msg_sipi(&msg, &sipi), -EINVAL);
	check_eq_int(mshv_msg_apic_eoi(&msg, &eoi), -EINVAL);
}

static void test_header(void)
{
	static const uint32_t with_header[] = {
		HVMSG_X64_HALT, HVMSG_UNRECOVERABLE_EXCEPTION, HVMSG_X64_IO_PORT_INTERCEPT,
		HVMSG_UNMAPPED_GPA, HVMSG_X64_INTERRUPTION_DELIVERABLE, HVMSG_X64_CPUID_INTERCEPT,
	};
	struct hv_x64_intercept_message_header hdr;

	for (size_t i = 0; i < sizeof(with_header) / sizeof(with_header[0]); i++) {
		struct hv_message msg = make(with_header[i], 40);
		uint8_t *p = (uint8_t *)msg.u.payload;

		p[4] = 0x52;	/* instruction length 2, cr8 5 */
		check_ok(mshv_msg_intercept_header(&msg, &hdr));
		check_eq_u64(hdr.instruction_length, 2);
		check_eq_u64(hdr.cr8, 5);
		check_eq_u64(hdr.vp_index, 0x04030201);
		check_eq_u64(hdr.cs_segment.selector, 0x1615);
		msg.header.payload_size = 39;
		check_eq_int(mshv_msg_intercept_header(&msg, &hdr), -EINVAL);
	}
	struct hv_message none = make(HVMSG_NONE, 40);
	check_eq_int(mshv_msg_intercept_header(&none, &hdr), -EINVAL);
}

static void test_names(void)
{
	check_eq_str(mshv_msg_type_name(HVMSG_X64_IO_PORT_INTERCEPT), "HVMSG_X64_IO_PORT_INTERCEPT");
	check_eq_str(mshv_msg_type_name(HVMSG_X64_HALT), "HVMSG_X64_HALT");
	check_eq_str(mshv_msg_type_name(HVMSG_UNMAPPED_GPA), "HVMSG_UNMAPPED_GPA");
	check_eq_str(mshv_msg_type_name(0x12345678), "HVMSG_UNKNOWN");
}

int main(void)
{
	test_io_port();
	test_memory();
	test_cpuid_msr();
	test_exception();
	test_apic_eoi_sipi();
	test_header();
	test_names();
	return test_done();
}
