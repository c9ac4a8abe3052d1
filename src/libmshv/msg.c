// SPDX-License-Identifier: MIT
// Decoders of the hv_message that MSHV_RUN_VP returns: type and payload size checked, then copied.

#include <errno.h>
#include <string.h>

#include "internal.h"

/* The payload of msg as `size` bytes of a message of type `type`, or -EINVAL. */
static int payload(const struct hv_message *msg, const uint32_t *types, size_t ntypes,
		   void *ret, size_t size)
{
	size_t i;

	if (!msg || !ret)
		return -EINVAL;
	for (i = 0; i < ntypes; i++)
		if (msg->header.message_type == types[i])
			break;
	if (i == ntypes)
		return -EINVAL;
	if (msg->header.payload_size < size ||
	    msg->header.payload_size > HV_MESSAGE_PAYLOAD_BYTE_COUNT)
		return -EINVAL;
	memcpy(ret, msg->u.payload, size);
	return 0;
}

#define ONE(t) (const uint32_t[]){ t }, 1

int mshv_msg_io_port(const struct hv_message *msg, struct hv_x64_io_port_intercept_message *ret)
{
	return payload(msg, ONE(HVMSG_X64_IO_PORT_INTERCEPT), ret, sizeof(*ret));
}

int mshv_msg_memory(const struct hv_message *msg, struct hv_x64_memory_intercept_message *ret)
{
	static const uint32_t types[] = {
		HVMSG_UNMAPPED_GPA, HVMSG_GPA_INTERCEPT, HVMSG_UNACCEPTED_GPA,
	};

	return payload(msg, types, sizeof(types) / sizeof(types[0]), ret, sizeof(*ret));
}

int mshv_msg_cpuid(const struct hv_message *msg, struct hv_x64_cpuid_intercept_message *ret)
{
	return payload(msg, ONE(HVMSG_X64_CPUID_INTERCEPT), ret, sizeof(*ret));
}

int mshv_msg_msr(const struct hv_message *msg, struct hv_x64_msr_intercept_message *ret)
{
	return payload(msg, ONE(HVMSG_X64_MSR_INTERCEPT), ret, sizeof(*ret));
}

int mshv_msg_exception(const struct hv_message *msg,
		       struct hv_x64_exception_intercept_message *ret)
{
	return payload(msg, ONE(HVMSG_X64_EXCEPTION_INTERCEPT), ret, sizeof(*ret));
}

int mshv_msg_apic_eoi(const struct hv_message *msg, struct hv_x64_apic_eoi_message *ret)
{
	return payload(msg, ONE(HVMSG_X64_APIC_EOI), ret, sizeof(*ret));
}

int mshv_msg_sipi(const struct hv_message *msg, struct hv_x64_sipi_intercept_message *ret)
{
	return payload(msg, ONE(HVMSG_X64_SIPI_INTERCEPT), ret, sizeof(*ret));
}

int mshv_msg_intercept_header(const struct hv_message *msg,
			      struct hv_x64_intercept_message_header *ret)
{
	static const uint32_t types[] = {
		HVMSG_UNMAPPED_GPA, HVMSG_GPA_INTERCEPT, HVMSG_UNACCEPTED_GPA,
		HVMSG_X64_IO_PORT_INTERCEPT, HVMSG_X64_MSR_INTERCEPT, HVMSG_X64_CPUID_INTERCEPT,
		HVMSG_X64_EXCEPTION_INTERCEPT, HVMSG_X64_HALT, HVMSG_X64_SIPI_INTERCEPT,
		HVMSG_UNRECOVERABLE_EXCEPTION, HVMSG_X64_INTERRUPTION_DELIVERABLE,
		HVMSG_HYPERCALL_INTERCEPT,
	};

	return payload(msg, types, sizeof(types) / sizeof(types[0]), ret, sizeof(*ret));
}
