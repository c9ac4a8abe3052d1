// SPDX-License-Identifier: MIT
// libFuzzer target: libmshv's hv_message decoders (mshv_msg_*) on arbitrary 256-byte messages.

/*
 * An input is the message MSHV_RUN_VP returned (shorter inputs are zero-padded, the rest is
 * ignored).  Besides the sanitizers, the documented contract is the oracle: a decoder succeeds
 * exactly when the type is one it accepts and struct size <= payload_size <= 240, it then
 * copies the payload verbatim, and on failure it leaves *ret untouched.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mshv/mshv.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef int (*decoder_fn)(const struct hv_message *msg, void *ret);

struct decoder {
	const char *name;
	decoder_fn fn;
	size_t size;
	uint32_t types[12];	/* accepted message types, 0-terminated */
};

#define DECODER(f, s, ...) { #f, (decoder_fn)(void (*)(void))f, sizeof(s), { __VA_ARGS__ } }

static const struct decoder decoders[] = {
	DECODER(mshv_msg_io_port, struct hv_x64_io_port_intercept_message,
		HVMSG_X64_IO_PORT_INTERCEPT),
	DECODER(mshv_msg_memory, struct hv_x64_memory_intercept_message,
		HVMSG_UNMAPPED_GPA, HVMSG_GPA_INTERCEPT, HVMSG_UNACCEPTED_GPA),
	DECODER(mshv_msg_cpuid, struct hv_x64_cpuid_intercept_message,
		HVMSG_X64_CPUID_INTERCEPT),
	DECODER(mshv_msg_msr, struct hv_x64_msr_intercept_message, HVMSG_X64_MSR_INTERCEPT),
	DECODER(mshv_msg_exception, struct hv_x64_exception_intercept_message,
		HVMSG_X64_EXCEPTION_INTERCEPT),
	DECODER(mshv_msg_apic_eoi, struct hv_x64_apic_eoi_message, HVMSG_X64_APIC_EOI),
	DECODER(mshv_msg_sipi, struct hv_x64_sipi_intercept_message, HVMSG_X64_SIPI_INTERCEPT),
	DECODER(mshv_msg_intercept_header, struct hv_x64_intercept_message_header,
		HVMSG_UNMAPPED_GPA, HVMSG_GPA_INTERCEPT, HVMSG_UNACCEPTED_GPA,
		HVMSG_X64_IO_PORT_INTERCEPT, HVMSG_X64_MSR_INTERCEPT, HVMSG_X64_CPUID_INTERCEPT,
		HVMSG_X64_EXCEPTION_INTERCEPT, HVMSG_X64_HALT, HVMSG_X64_SIPI_INTERCEPT,
		HVMSG_UNRECOVERABLE_EXCEPTION, HVMSG_X64_INTERRUPTION_DELIVERABLE,
		HVMSG_HYPERCALL_INTERCEPT),
};

static void fail(const char *what, const struct decoder *d, const struct hv_message *msg)
{
	fprintf(stderr, "fuzz-hv-msg: %s: %s (type 0x%x, payload_size %u)\n", d->name, what,
		msg->header.message_type, msg->header.payload_size);
	abort();
}

static bool accepts(const struct decoder *d, uint32_t type)
{
	for (unsigned i = 0; i < sizeof(d->types) / sizeof(d->types[0]) && d->types[i]; i++)
		if (d->types[i] == type)
			return true;
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Heap copies of exactly the struct sizes, so ASan sees any access beyond them. */
	struct hv_message *msg = calloc(1, sizeof(*msg));
	const char *name;

	if (!msg)
		abort();
	memcpy(msg, data, size < sizeof(*msg) ? size : sizeof(*msg));

	for (size_t i = 0; i < sizeof(decoders) / sizeof(decoders[0]); i++) {
		const struct decoder *d = &decoders[i];
		uint8_t *ret = malloc(d->size), *before = malloc(d->size);
		bool ok;
		int r;

		if (!ret || !before)
			abort();
		memset(ret, 0xA5, d->size);
		memcpy(before, ret, d->size);
		r = d->fn(msg, ret);
		ok = accepts(d, msg->header.message_type) && msg->header.payload_size >= d->size &&
		     msg->header.payload_size <= HV_MESSAGE_PAYLOAD_BYTE_COUNT;
		if (r != 0 && r != -EINVAL)
			fail("returned neither 0 nor -EINVAL", d, msg);
		if ((r == 0) != ok)
			fail(ok ? "refused a valid message" : "accepted an invalid message", d,
			     msg);
		if (r == 0 && memcmp(ret, msg->u.payload, d->size))
			fail("did not copy the payload", d, msg);
		if (r != 0 && memcmp(ret, before, d->size))
			fail("wrote *ret on failure", d, msg);
		if (d->fn(NULL, ret) != -EINVAL || d->fn(msg, NULL) != -EINVAL)
			fail("accepted a NULL argument", d, msg);
		free(ret);
		free(before);
	}

	name = mshv_msg_type_name(msg->header.message_type);
	if (name && strlen(name) > 64)
		fail("type name too long", &decoders[0], msg);
	free(msg);
	return 0;
}
