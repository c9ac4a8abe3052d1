// SPDX-License-Identifier: MIT
// The mshv-ioctls documentation example on libmshv: run 7 real-mode instructions that print
// "4" on port 0x3f8 and write 0 to it, handling both port-I/O intercepts.
//
// Usage: run-vm [DEVICE]   (default /dev/mshv). Exit 0 on success, 77 if the device is absent.

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <mshv/mshv.h>

#define GUEST_CODE_GPA	0x1000

/*
 *	mov  $0x3f8, %dx
 *	add  %bl, %al
 *	add  $'0', %al
 *	out  %al, (%dx)
 *	mov  $0, %al
 *	out  %al, (%dx)
 *	hlt
 */
static const uint8_t guest_code[] = {
	0xba, 0xf8, 0x03, 0x00, 0xd8, 0x04, 0x30, 0xee, 0xb0, 0x00, 0xee, 0xf4,
};

static int fail(const char *what, int r)
{
	uint16_t status = mshv_last_hv_status();

	fprintf(stderr, "run-vm: %s: %s", what, strerror(-r));
	if (status)
		fprintf(stderr, " (%s)", mshv_strerror(status));
	fputc('\n', stderr);
	return 1;
}

/* Real mode at CS:IP = 0:0x1000 with AL = BL = 2 (the example's "2 + 2"). */
static int setup_vcpu(struct mshv_vcpu *vcpu)
{
	struct hv_register_assoc cs = { .name = HV_X64_REGISTER_CS };
	const struct mshv_reg64 regs[] = {
		{ HV_X64_REGISTER_RAX, 2 },
		{ HV_X64_REGISTER_RBX, 2 },
		{ HV_X64_REGISTER_RIP, GUEST_CODE_GPA },
		{ HV_X64_REGISTER_RFLAGS, 0x2 },
	};
	int r;

	r = mshv_vcpu_get_reg(vcpu, &cs, 1);
	if (r < 0)
		return r;
	cs.value.segment.base = 0;
	cs.value.segment.selector = 0;
	r = mshv_vcpu_set_reg(vcpu, &cs, 1);
	if (r < 0)
		return r;
	return mshv_vcpu_set_registers64(vcpu, regs, sizeof(regs) / sizeof(regs[0]));
}

/* Run until the second port write; 0 on success, 1 on error. */
static int run(struct mshv_vcpu *vcpu)
{
	int writes = 0;

	while (writes < 2) {
		struct hv_x64_io_port_intercept_message io;
		struct hv_message msg;
		struct mshv_reg64 rip;
		int r;

		r = mshv_vcpu_run(vcpu, &msg);
		if (r == -EINTR || r == -EAGAIN)
			continue;
		if (r < 0)
			return fail("MSHV_RUN_VP", r);

		switch (msg.header.message_type) {
		case HVMSG_X64_IO_PORT_INTERCEPT:
			r = mshv_msg_io_port(&msg, &io);
			if (r < 0)
				return fail("decoding the port-I/O message", r);
			if (io.port_number != 0x3f8 ||
			    io.header.intercept_access_type != HV_X64_INTERCEPT_ACCESS_WRITE ||
			    io.access_info.access_size != 1) {
				fprintf(stderr, "run-vm: unexpected access to port 0x%x\n",
					io.port_number);
				return 1;
			}
			if (writes == 0) {
				printf("%c\n", (char)(io.rax & 0xff));
				fflush(stdout);
			} else if ((io.rax & 0xff) != 0) {
				fprintf(stderr, "run-vm: second write is 0x%x, not 0\n",
					(unsigned)(io.rax & 0xff));
				return 1;
			}
			writes++;
			/* MSHV reports the intercepted instruction's RIP: skip it ourselves. */
			rip.name = HV_X64_REGISTER_RIP;
			rip.value = io.header.rip + io.header.instruction_length;
			r = mshv_vcpu_set_registers64(vcpu, &rip, 1);
			if (r < 0)
				return fail("advancing RIP", r);
			break;
		case HVMSG_X64_HALT:
			fprintf(stderr, "run-vm: guest halted after %d port writes\n", writes);
			return 1;
		default:
			fprintf(stderr, "run-vm: unexpected exit %s (0x%x)\n",
				mshv_msg_type_name(msg.header.message_type),
				msg.header.message_type);
			return 1;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : MSHV_DEVICE_PATH;
	struct mshv_user_mem_region region;
	struct mshv_vcpu *vcpu = NULL;
	struct mshv_vm *vm = NULL;
	struct mshv *m = NULL;
	int status = 1, r;
	void *mem;

	r = mshv_open_path(path, &m);
	if (r == -ENOENT) {
		fprintf(stderr, "run-vm: %s does not exist\n", path);
		return 77;
	}
	if (r < 0)
		return fail(path, r);

	/* Created, synthetic features set and initialized: ready for memory and vCPUs. */
	r = mshv_create_vm(m, &vm);
	if (r < 0) {
		fail("creating the VM", r);
		goto out;
	}

	mem = mmap(NULL, 0x1000, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE,
		   -1, 0);
	if (mem == MAP_FAILED) {
		perror("run-vm: mmap");
		goto out;
	}
	memcpy(mem, guest_code, sizeof(guest_code));
	memset(&region, 0, sizeof(region));
	region.size = 0x1000;
	region.guest_pfn = GUEST_CODE_GPA >> 12;
	region.userspace_addr = (uint64_t)(uintptr_t)mem;
	region.flags = MSHV_BITS(MSHV_SET_MEM_BIT_WRITABLE, MSHV_SET_MEM_BIT_EXECUTABLE);
	r = mshv_vm_map_user_memory(vm, &region);
	if (r < 0) {
		fail("mapping guest memory", r);
		goto out_unmap;
	}

	r = mshv_vm_create_vcpu(vm, 0, &vcpu);
	if (r < 0) {
		fail("creating vCPU 0", r);
		goto out_region;
	}
	r = setup_vcpu(vcpu);
	if (r < 0) {
		fail("setting up vCPU 0", r);
		goto out_vcpu;
	}
	status = run(vcpu);

out_vcpu:
	vcpu = mshv_vcpu_free(vcpu);
out_region:
	r = mshv_vm_unmap_user_memory(vm, &region);
	if (r < 0 && status == 0)
		status = fail("unmapping guest memory", r);
out_unmap:
	munmap(mem, 0x1000);
out:
	vm = mshv_vm_free(vm);
	m = mshv_free(m);
	return status;
}
