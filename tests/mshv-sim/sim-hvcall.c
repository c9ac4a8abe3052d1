// SPDX-License-Identifier: MIT
/* mshv-sim test double: MSHV_ROOT_HVCALL with the mainline allow-list, "executed" on the engine. */
#include "config.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sim.h"

/* How often the 6.19+ kernel deposits and retries before giving up (sim choice). */
#define SIM_DEPOSIT_RETRIES	16

/* What the sim's hypervisor lets a VMM assign (rust-vmm's full default set, §6.5). */
#define SIM_ASSIGNABLE_SYNTHETIC_PROC_FEATURES	0x0020004006400FFBULL

static bool rep_code(uint16_t code)
{
	return code == HVCALL_GET_VP_REGISTERS || code == HVCALL_SET_VP_REGISTERS ||
	       code == HVCALL_GET_GPA_PAGES_ACCESS_STATES || code == HVCALL_GET_VP_CPUID_VALUES;
}

struct call {
	struct sim_partition *pt;
	struct sim_vp *self;		/* VP of the fd (its lock is held), or NULL */
	uint16_t reps;
	uint16_t done;
	const uint8_t *in;
	size_t in_sz;
	uint8_t *out;
	bool fault_in;			/* the dedicated translate ioctl: faults pages in */
};

/* Lock a target VP unless it is the fd's own VP, whose lock the caller already holds. */
static struct sim_vp *vp_lock(struct call *c, uint32_t index)
{
	struct sim_vp *vp = sim_vp_lookup(c->pt, index);

	if (vp && vp != c->self)
		pthread_mutex_lock(&vp->lock);
	return vp;
}

static void vp_unlock(struct call *c, struct sim_vp *vp)
{
	if (vp && vp != c->self)
		pthread_mutex_unlock(&vp->lock);
}

static struct sim_prop *prop_find(struct sim_partition *pt, uint32_t code)
{
	for (size_t i = 0; i < pt->nprops; i++)
		if (pt->props[i].code == code)
			return &pt->props[i];
	return NULL;
}

static uint16_t get_property(struct call *c)
{
	const struct hv_input_get_partition_property *in = (const void *)c->in;
	struct hv_output_get_partition_property *out = (void *)c->out;
	struct sim_prop *p;
	uint16_t st = HV_STATUS_SUCCESS;

	pthread_mutex_lock(&c->pt->state_lock);
	p = prop_find(c->pt, in->property_code);
	if (!p) {
		st = HV_STATUS_UNKNOWN_PROPERTY;
	} else if (in->property_code == HV_PARTITION_PROPERTY_REFERENCE_TIME) {
		struct timespec ts;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		out->property_value = (uint64_t)ts.tv_sec * 10000000ULL + (uint64_t)ts.tv_nsec / 100;
	} else {
		out->property_value = p->value;
	}
	pthread_mutex_unlock(&c->pt->state_lock);
	return st;
}

static bool prop_read_only(uint32_t code)
{
	return code == HV_PARTITION_PROPERTY_ISOLATION_STATE || (code >> 16) == 0x0006 ||
	       code == HV_PARTITION_PROPERTY_REFERENCE_TIME;
}

static uint16_t set_property(struct call *c)
{
	const struct hv_input_set_partition_property *in = (const void *)c->in;
	struct sim_partition *pt = c->pt;
	struct sim_prop *p;
	uint16_t st = HV_STATUS_SUCCESS;

	pthread_mutex_lock(&pt->state_lock);
	p = prop_find(pt, in->property_code);
	if (!p)
		st = HV_STATUS_UNKNOWN_PROPERTY;
	else if (prop_read_only(in->property_code))
		st = HV_STATUS_ACCESS_DENIED;
	else if (in->property_code == HV_PARTITION_PROPERTY_SYNTHETIC_PROC_FEATURES && pt->initialized)
		st = HV_STATUS_INVALID_PARTITION_STATE;	/* an "early" property */
	else if (in->property_code == HV_PARTITION_PROPERTY_UNIMPLEMENTED_MSR_ACTION &&
		 in->property_value > HV_UNIMPLEMENTED_MSR_ACTION_IGNORE_WRITE_READ_ZERO)
		st = HV_STATUS_PROPERTY_VALUE_OUT_OF_RANGE;
	else
		p->value = in->property_value;
	pthread_mutex_unlock(&pt->state_lock);
	if (st == HV_STATUS_SUCCESS && in->property_code == HV_PARTITION_PROPERTY_GPA_PAGE_ACCESS_TRACKING &&
	    sim_set_dirty_tracking(pt, in->property_value != 0) < 0)
		st = HV_STATUS_OPERATION_FAILED;
	return st;
}

static uint16_t install_intercept(struct call *c)
{
	const struct hv_input_install_intercept *in = (const void *)c->in;
	struct sim_partition *pt = c->pt;
	size_t i;

	if (in->intercept_type > HV_INTERCEPT_TYPE_X64_MSR_INDEX || in->intercept_type == 4 ||
	    in->access_type & ~7u)
		return HV_STATUS_INVALID_PARAMETER;
	pthread_mutex_lock(&pt->state_lock);
	for (i = 0; i < pt->nintercepts; i++)
		if (pt->intercepts[i].type == in->intercept_type &&
		    pt->intercepts[i].param == in->intercept_parameter.as_uint64)
			break;
	if (i == SIM_MAX_INTERCEPTS) {
		pthread_mutex_unlock(&pt->state_lock);
		return HV_STATUS_INSUFFICIENT_MEMORY;
	}
	pt->intercepts[i] = (struct sim_intercept){
		in->intercept_type, in->access_type, in->intercept_parameter.as_uint64,
	};
	if (i == pt->nintercepts)
		pt->nintercepts++;
	pthread_mutex_unlock(&pt->state_lock);
	return HV_STATUS_SUCCESS;
}

static uint16_t vp_registers(struct call *c, bool set)
{
	const struct hv_input_get_vp_registers *hdr = (const void *)c->in;
	size_t elem = set ? sizeof(struct hv_register_assoc) : sizeof(uint32_t);
	struct sim_regs_ctx ctx;
	struct sim_vp *vp;
	uint16_t st = HV_STATUS_SUCCESS;
	unsigned i;

	if (c->in_sz < 16 + (size_t)c->reps * elem)
		return HV_STATUS_INVALID_HYPERCALL_INPUT;
	if (!set && c->reps > HV_GET_VP_REGISTERS_MAX_REPS)
		return HV_STATUS_INVALID_HYPERCALL_INPUT;
	if (hdr->input_vtl.as_uint8 || hdr->rsvd_z8 || hdr->rsvd_z16)
		return HV_STATUS_INVALID_PARAMETER;
	vp = vp_lock(c, hdr->vp_index);
	if (!vp)
		return HV_STATUS_INVALID_VP_INDEX;
	memset(&ctx, 0, sizeof(ctx));
	ctx.vp = vp;
	for (i = 0; i < c->reps && st == HV_STATUS_SUCCESS; i++) {
		if (set) {
			const struct hv_register_assoc *a =
				(const void *)(c->in + 16 + i * sizeof(struct hv_register_assoc));

			st = sim_reg_set(&ctx, a->name, &a->value);
		} else {
			union hv_register_value v;

			st = sim_reg_get(&ctx, ((const uint32_t *)(c->in + 16))[i], &v);
			if (st == HV_STATUS_SUCCESS)
				memcpy(c->out + 16 * i, &v, sizeof(v));
		}
		if (st == HV_STATUS_SUCCESS)
			c->done = (uint16_t)(i + 1);
	}
	if (sim_regs_flush(&ctx) < 0 && st == HV_STATUS_SUCCESS)
		st = HV_STATUS_INVALID_REGISTER_VALUE;
	if (set && c->done) {
		vp->dead = false;
		vp->reg_page->isvalid = 0;
	}
	vp_unlock(c, vp);
	return st;
}

/* The engine's page walk; the GPA's backing decides the remaining result codes. */
static uint16_t translate(struct call *c)
{
	const struct hv_input_translate_virtual_address *in = (const void *)c->in;
	struct hv_output_translate_virtual_address *out = (void *)c->out;
	struct sim_vp *vp = vp_lock(c, in->vp_index);
	uint32_t result = HV_TRANSLATE_GVA_SUCCESS;
	unsigned access = 0, prot = 0;
	uint64_t gpa = 0;
	int r;

	if (!vp)
		return HV_STATUS_INVALID_VP_INDEX;
	if (in->control_flags & HV_TRANSLATE_GVA_VALIDATE_READ)
		access |= EMU_PROT_READ;
	if (in->control_flags & HV_TRANSLATE_GVA_VALIDATE_WRITE)
		access |= EMU_PROT_WRITE;
	if (in->control_flags & HV_TRANSLATE_GVA_VALIDATE_EXECUTE)
		access |= EMU_PROT_EXEC;
	r = emu_vcpu_translate(vp->ev, in->gva_page << 12, access,
			       (in->control_flags & HV_TRANSLATE_GVA_USER_ACCESS) != 0, &gpa);
	vp_unlock(c, vp);
	if (r == -EFAULT) {
		result = HV_TRANSLATE_GVA_PAGE_NOT_PRESENT;
		gpa = 0;
	} else if (r == -EACCES) {
		result = HV_TRANSLATE_GVA_PRIVILEGE_VIOLATION;
	} else if (r < 0) {
		return HV_STATUS_INVALID_VP_STATE;
	} else if (!emu_vm_gpa_to_host(c->pt->vm, gpa, 1, &prot)) {
		result = HV_TRANSLATE_GVA_GPA_UNMAPPED;
	} else if (c->pt->gen->movable && !c->fault_in && !atomic_load(&c->pt->touched)) {
		/*
		 * Movable memory (6.19+): nothing is faulted in before the guest touches it, so the
		 * hypervisor finds the page no-access.  Success status, result 5 (§11.5).
		 */
		result = HV_TRANSLATE_GVA_GPA_NO_READ_ACCESS;
	} else if ((in->control_flags & HV_TRANSLATE_GVA_VALIDATE_WRITE) && !(prot & EMU_PROT_WRITE)) {
		result = HV_TRANSLATE_GVA_GPA_NO_WRITE_ACCESS;
	}
	out->translation_result.as_uint64 = 0;
	out->translation_result.result_code = result;
	out->gpa_page = gpa >> 12;
	return HV_STATUS_SUCCESS;
}

/* A CPUID override: applied by the sim's own CPUID answer, from the next CPUID on. */
static uint16_t register_intercept_result(struct call *c)
{
	const struct hv_input_register_intercept_result *in = (const void *)c->in;
	struct sim_partition *pt = c->pt;
	size_t i;

	if (in->intercept_type != HV_INTERCEPT_TYPE_X64_CPUID)
		return HV_STATUS_INVALID_PARAMETER;
	if (!sim_vp_lookup(pt, in->vp_index))
		return HV_STATUS_INVALID_VP_INDEX;
	pthread_mutex_lock(&pt->state_lock);
	for (i = 0; i < pt->ncpuid_overrides; i++) {
		const struct sim_cpuid_override *o = &pt->cpuid_overrides[i];

		if (o->vp == in->vp_index && o->p.input.eax == in->parameters.cpuid.input.eax &&
		    o->p.input.subleaf_specific == in->parameters.cpuid.input.subleaf_specific &&
		    o->p.input.ecx == in->parameters.cpuid.input.ecx)
			break;
	}
	if (i == SIM_MAX_CPUID_OVERRIDES) {
		pthread_mutex_unlock(&pt->state_lock);
		return HV_STATUS_INSUFFICIENT_MEMORY;
	}
	pt->cpuid_overrides[i] = (struct sim_cpuid_override){ in->vp_index, in->parameters.cpuid };
	if (i == pt->ncpuid_overrides)
		pt->ncpuid_overrides++;
	pthread_mutex_unlock(&pt->state_lock);
	return HV_STATUS_SUCCESS;
}

static uint16_t assert_interrupt(struct call *c)
{
	static const enum emu_irq_type types[] = {
		[HV_X64_INTERRUPT_TYPE_FIXED] = EMU_IRQ_FIXED,
		[HV_X64_INTERRUPT_TYPE_LOWESTPRIORITY] = EMU_IRQ_LOWEST,
		[HV_X64_INTERRUPT_TYPE_SMI] = EMU_IRQ_SMI,
		[HV_X64_INTERRUPT_TYPE_NMI] = EMU_IRQ_NMI,
		[HV_X64_INTERRUPT_TYPE_INIT] = EMU_IRQ_INIT,
		[HV_X64_INTERRUPT_TYPE_SIPI] = EMU_IRQ_SIPI,
		[HV_X64_INTERRUPT_TYPE_EXTINT] = EMU_IRQ_EXTINT,
	};
	const struct hv_input_assert_virtual_interrupt *in = (const void *)c->in;
	uint32_t type = in->control.interrupt_type;
	int r;

	if (!c->pt->lapic || in->target_vtl || in->dest_addr > 0xff || in->vector > 0xff)
		return HV_STATUS_INVALID_PARAMETER;
	if (type == HV_X64_INTERRUPT_TYPE_REMOTEREAD || type > HV_X64_INTERRUPT_TYPE_EXTINT)
		return HV_STATUS_INVALID_PARAMETER;
	r = emu_vm_interrupt(c->pt->vm, types[type], (uint32_t)in->dest_addr,
			     in->control.logical_dest_mode, (uint8_t)in->vector,
			     in->control.level_triggered);
	/* No VP with that APIC ID: delivered to nobody, as an MSI would be. */
	if (r < 0 && r != -ENOENT)
		return HV_STATUS_INVALID_PARAMETER;
	return HV_STATUS_SUCCESS;
}

static uint16_t signal_event(struct call *c)
{
	const struct hv_input_signal_event_direct *in = (const void *)c->in;
	struct hv_output_signal_event_direct *out = (void *)c->out;
	struct sim_vp *vp = sim_vp_lookup(c->pt, in->target_vp);
	uint32_t *w, bit;

	if (!vp)
		return HV_STATUS_INVALID_VP_INDEX;
	if (in->target_vtl || in->target_sint >= 16 || in->flag_number >= 2048)
		return HV_STATUS_INVALID_PARAMETER;
	pthread_mutex_lock(&c->pt->state_lock);
	w = &vp->event_flags[in->target_sint][in->flag_number / 32];
	bit = 1u << (in->flag_number % 32);
	out->newly_signaled = !(*w & bit);
	*w |= bit;
	pthread_mutex_unlock(&c->pt->state_lock);
	return HV_STATUS_SUCCESS;
}

static uint16_t post_message(struct call *c)
{
	const struct hv_input_post_message_direct *in = (const void *)c->in;
	const struct hv_message *m = (const void *)in->message;

	if (!sim_vp_lookup(c->pt, in->vp_index))
		return HV_STATUS_INVALID_VP_INDEX;
	if (in->vtl || in->sint_index >= 16 || !m->header.message_type ||
	    m->header.payload_size > HV_MESSAGE_PAYLOAD_BYTE_COUNT)
		return HV_STATUS_INVALID_PARAMETER;
	return HV_STATUS_SUCCESS;	/* no SynIC: accepted and dropped */
}

static uint16_t cpuid_values(struct call *c)
{
	const struct hv_input_get_vp_cpuid_values *in = (const void *)c->in;
	struct sim_vp *vp;

	if (c->in_sz < sizeof(*in) + (size_t)c->reps * sizeof(union hv_cpuid_query) ||
	    (size_t)c->reps * sizeof(union hv_cpuid_response) > HV_HYP_PAGE_SIZE)
		return HV_STATUS_INVALID_HYPERCALL_INPUT;
	vp = vp_lock(c, in->vp_index);
	if (!vp)
		return HV_STATUS_INVALID_VP_INDEX;
	for (unsigned i = 0; i < c->reps; i++) {
		const union hv_cpuid_query *q = &in->cpuid_queries[i];
		union hv_cpuid_response *r = (void *)(c->out + i * sizeof(*r));
		uint32_t v[4];

		sim_cpuid(vp, q->input_eax, q->input_ecx, in->flags.apply_registered_values, v);
		memset(r, 0, sizeof(*r));
		r->eax = v[0];
		r->ebx = v[1];
		r->ecx = v[2];
		r->edx = v[3];
		c->done = (uint16_t)(i + 1);
	}
	vp_unlock(c, vp);
	return HV_STATUS_SUCCESS;
}

/* HVCALL_GET_PARTITION_PROPERTY_EX (6.19+): the banked properties, else the plain value. */
static uint16_t property_ex(const struct hv_input_get_partition_property_ex *in, uint8_t *out,
			    struct sim_partition *pt)
{
	struct hv_partition_property_banks *b = (void *)out;
	uint16_t st = HV_STATUS_SUCCESS;

	switch (in->property_code) {
	case HV_PARTITION_PROPERTY_VMM_CAPABILITIES:
		b->bank_count = 1;
		b->bank0 = 1ULL << HV_VMM_CAP_ASSIGNABLE_SYNTHETIC_PROC_FEATURES_BIT;
		return st;
	case HV_PARTITION_PROPERTY_ASSIGNABLE_SYNTHETIC_PROC_FEATURES:
		b->bank_count = 1;
		b->bank0 = SIM_ASSIGNABLE_SYNTHETIC_PROC_FEATURES;
		return st;
	}
	if (!pt)
		return sim_host_property(in->property_code, (uint64_t *)out);
	pthread_mutex_lock(&pt->state_lock);
	{
		struct sim_prop *p = prop_find(pt, in->property_code);

		if (p)
			memcpy(out, &p->value, sizeof(p->value));
		else
			st = HV_STATUS_UNKNOWN_PROPERTY;
	}
	pthread_mutex_unlock(&pt->state_lock);
	return st;
}

/* Read or write <= 16 bytes of guest memory; returns an HV_ACCESS_GPA_* result. */
static uint32_t gpa_rw(struct sim_partition *pt, uint64_t gpa, void *buf, uint32_t n, bool write)
{
	uint32_t result = HV_ACCESS_GPA_SUCCESS;
	bool writable = false;
	uint8_t *host;

	pthread_rwlock_rdlock(&pt->mem_lock);
	host = sim_gpa_to_host(pt, gpa, n, &writable);
	if (!host)
		result = HV_ACCESS_GPA_UNMAPPED;
	else if (write && !writable)
		result = HV_ACCESS_GPA_WRITE_INTERCEPT;
	else if (write)
		memcpy(host, buf, n);
	else
		memcpy(buf, host, n);
	pthread_rwlock_unlock(&pt->mem_lock);
	return result;
}

/* HVCALL_READ_GPA / WRITE_GPA (Microsoft kernels only). */
static uint16_t read_write_gpa(struct call *c, bool write)
{
	const struct hv_input_read_gpa *in = (const void *)c->in;
	const struct hv_input_write_gpa *win = (const void *)c->in;
	struct hv_output_read_gpa *out = (void *)c->out;
	uint8_t buf[HV_READ_WRITE_GPA_MAX_SIZE];

	if (!sim_vp_lookup(c->pt, in->vp_index))
		return HV_STATUS_INVALID_VP_INDEX;
	if (!in->byte_count || in->byte_count > HV_READ_WRITE_GPA_MAX_SIZE)
		return HV_STATUS_INVALID_PARAMETER;
	if (write)
		memcpy(buf, win->data, in->byte_count);
	out->access_result = gpa_rw(c->pt, in->base_gpa, buf, in->byte_count, write);
	if (!write && out->access_result == HV_ACCESS_GPA_SUCCESS)
		memcpy(out->data, buf, in->byte_count);
	return HV_STATUS_SUCCESS;
}

static uint16_t dispatch(struct call *c, uint16_t code)
{
	if (!rep_code(code) && c->reps)
		return HV_STATUS_INVALID_HYPERCALL_INPUT;
	switch (code) {
	case HVCALL_GET_PARTITION_PROPERTY:
		return get_property(c);
	case HVCALL_SET_PARTITION_PROPERTY:
		return set_property(c);
	case HVCALL_INSTALL_INTERCEPT:
		return install_intercept(c);
	case HVCALL_GET_VP_REGISTERS:
		return vp_registers(c, false);
	case HVCALL_SET_VP_REGISTERS:
		return vp_registers(c, true);
	case HVCALL_TRANSLATE_VIRTUAL_ADDRESS:
		return translate(c);
	case HVCALL_CLEAR_VIRTUAL_INTERRUPT:
		return HV_STATUS_SUCCESS;
	case HVCALL_REGISTER_INTERCEPT_RESULT:
		return register_intercept_result(c);
	case HVCALL_ASSERT_VIRTUAL_INTERRUPT:
		return assert_interrupt(c);
	case HVCALL_SIGNAL_EVENT_DIRECT:
		return signal_event(c);
	case HVCALL_POST_MESSAGE_DIRECT:
		return post_message(c);
	case HVCALL_GET_VP_CPUID_VALUES:
		return cpuid_values(c);
	case HVCALL_GET_PARTITION_PROPERTY_EX:
		return property_ex((const void *)c->in, c->out, c->pt);
	case HVCALL_READ_GPA:
		return read_write_gpa(c, false);
	case HVCALL_WRITE_GPA:
		return read_write_gpa(c, true);
	case HVCALL_SCRUB_PARTITION:
		return HV_STATUS_SUCCESS;	/* 7.0-rc1..rc4: accepted, nothing modelled */
	}
	return HV_STATUS_INVALID_HYPERCALL_CODE;	/* GET_GPA_PAGES_ACCESS_STATES: not modelled */
}

/* The kernel's checks of the 32-byte argument; 0 or -errno. */
static int hvcall_args_in(struct mshv_root_hvcall *a, struct mshv_root_hvcall *uargs)
{
	if (sim_copy_in(a, uargs, sizeof(*a)) < 0)
		return -EFAULT;
	for (size_t i = 0; i < sizeof(a->rsvd); i++)
		if (a->rsvd[i])
			return -EINVAL;
	if (a->status || !a->in_ptr || a->in_sz < sizeof(uint64_t) || a->in_sz > HV_HYP_PAGE_SIZE)
		return -EINVAL;
	if (a->out_ptr && (!a->out_sz || a->out_sz > HV_HYP_PAGE_SIZE))
		return -EINVAL;
	return 0;
}

static int hvcall_args_out(struct mshv_root_hvcall *uargs, struct mshv_root_hvcall *a,
			   const uint8_t *out)
{
	if (a->out_ptr && sim_copy_out((void *)(uintptr_t)a->out_ptr, out, a->out_sz) < 0)
		return -EFAULT;
	if (sim_copy_out(uargs, a, sizeof(*a)) < 0)
		return -EFAULT;
	return 0;
}

int sim_root_hvcall(struct sim_partition *pt, struct sim_vp *vp, struct mshv_root_hvcall *uargs)
{
	static __thread uint8_t in[HV_HYP_PAGE_SIZE], out[HV_HYP_PAGE_SIZE];
	struct mshv_root_hvcall a;
	struct call c;
	uint16_t status;
	int r;

	r = hvcall_args_in(&a, uargs);
	if (r < 0)
		return r;
	if (!sim_gen_allows(pt->gen, a.code))
		return sim_reject(-EINVAL);
	if (sim_hvcall_async(a.code) && vp)
		return -EINVAL;

	memset(in, 0, sizeof(in));
	memset(out, 0, sizeof(out));
	if (sim_copy_in(in, (const void *)(uintptr_t)a.in_ptr, a.in_sz) < 0)
		return -EFAULT;
	memcpy(in, &pt->id, sizeof(pt->id));

	for (unsigned tries = 0;; tries++) {
		c = (struct call){
			.pt = pt, .self = vp, .reps = a.reps, .in = in, .in_sz = a.in_sz, .out = out,
		};
		if (!sim_fault_hvcall(a.code, &status))
			status = dispatch(&c, a.code);
		if (status != HV_STATUS_INSUFFICIENT_MEMORY)
			break;
		/*
		 * 6.15-6.18 and the older Microsoft kernel deposit one page and return EAGAIN for
		 * the caller to retry; 6.19+ deposit and retry in the kernel (§11.1).
		 */
		if (pt->gen->eagain) {
			a.status = status;
			a.reps = c.done;
			r = hvcall_args_out(uargs, &a, out);
			return r < 0 ? r : -EAGAIN;
		}
		if (tries == SIM_DEPOSIT_RETRIES)
			break;
	}
	a.status = status;
	a.reps = c.done;
	r = hvcall_args_out(uargs, &a, out);
	return r < 0 ? r : sim_hv_status_to_errno(status);
}

/* ---- /dev/mshv: the host (root) partition --------------------------------------------------- */

static void host_cpuid(uint32_t leaf, uint32_t *a, uint32_t *b, uint32_t *c, uint32_t *d)
{
	__asm__ volatile("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d) : "a"(leaf), "c"(0));
}

uint16_t sim_host_property(uint32_t code, uint64_t *ret)
{
	uint32_t a, b, c, d;

	switch (code) {
	case HV_PARTITION_PROPERTY_PROCESSOR_VENDOR:
		host_cpuid(0, &a, &b, &c, &d);
		*ret = b == 0x68747541 ? 1 : 0;
		return HV_STATUS_SUCCESS;
	case HV_PARTITION_PROPERTY_PHYSICAL_ADDRESS_WIDTH:
		host_cpuid(0x80000008, &a, &b, &c, &d);
		*ret = a & 0xff;
		return HV_STATUS_SUCCESS;
	case HV_PARTITION_PROPERTY_PROCESSOR_FEATURES0:
	case HV_PARTITION_PROPERTY_PROCESSOR_FEATURES1:
	case HV_PARTITION_PROPERTY_PROCESSOR_XSAVE_FEATURES:
	case HV_PARTITION_PROPERTY_PRIVILEGE_FLAGS:
		*ret = 0;	/* sim choice: no feature bits */
		return HV_STATUS_SUCCESS;
	case HV_PARTITION_PROPERTY_MAX_XSAVE_DATA_SIZE:
		*ret = 4096;
		return HV_STATUS_SUCCESS;
	case HV_PARTITION_PROPERTY_PROCESSOR_CLOCK_FREQUENCY:
		*ret = 1000000000ULL;
		return HV_STATUS_SUCCESS;
	}
	return HV_STATUS_UNKNOWN_PROPERTY;
}

int sim_dev_hvcall(struct mshv_root_hvcall *uargs)
{
	static __thread uint8_t in[HV_HYP_PAGE_SIZE], out[HV_HYP_PAGE_SIZE];
	const uint64_t self = HV_PARTITION_ID_SELF;
	struct mshv_root_hvcall a;
	uint16_t status;
	int r;

	r = hvcall_args_in(&a, uargs);
	if (r < 0)
		return r;
	if (!sim_gen_allows_self(sim_gen(), a.code))
		return sim_reject(-EINVAL);
	memset(in, 0, sizeof(in));
	memset(out, 0, sizeof(out));
	if (sim_copy_in(in, (const void *)(uintptr_t)a.in_ptr, a.in_sz) < 0)
		return -EFAULT;
	memcpy(in, &self, sizeof(self));
	if (a.reps)
		status = HV_STATUS_INVALID_HYPERCALL_INPUT;
	else if (sim_fault_hvcall(a.code, &status))
		;
	else if (a.code == HVCALL_GET_PARTITION_PROPERTY)
		status = sim_host_property(((const struct hv_input_get_partition_property *)in)->property_code,
					   (uint64_t *)out);
	else if (a.code == HVCALL_GET_PARTITION_PROPERTY_EX)
		status = property_ex((const void *)in, out, NULL);
	else
		status = HV_STATUS_ACCESS_DENIED;	/* sim choice: only properties of self */
	a.status = status;
	a.reps = 0;
	r = hvcall_args_out(uargs, &a, out);
	return r < 0 ? r : sim_hv_status_to_errno(status);
}

/* ---- Microsoft vp-fd ioctls ------------------------------------------------------------------ */

int sim_vp_ms_ioctl(struct sim_vp *vp, unsigned long req, void *arg)
{
	if (req == MSHV_EXT_TRANSLATE_GVA) {
		struct mshv_ext_translate_gva t;
		struct hv_input_translate_virtual_address in;
		struct hv_output_translate_virtual_address out;
		struct call c;
		uint16_t st;
		uint64_t gpa;

		if (sim_copy_in(&t, arg, sizeof(t)) < 0)
			return -EFAULT;
		memset(&in, 0, sizeof(in));
		memset(&out, 0, sizeof(out));
		in.vp_index = vp->index;
		in.control_flags = t.flags;
		in.gva_page = t.gva >> 12;
		/* The kernel faults no-access pages in and retries: never result 5 (§11.5). */
		c = (struct call){ .pt = vp->pt, .self = vp, .in = (const void *)&in,
				   .in_sz = sizeof(in), .out = (void *)&out, .fault_in = true };
		st = translate(&c);
		if (st)
			return sim_hv_status_to_errno(st);
		gpa = (out.gpa_page << 12) | (t.gva & 0xfff);
		if (sim_copy_out((void *)(uintptr_t)t.result, &out.translation_result,
				 sizeof(out.translation_result)) < 0 ||
		    sim_copy_out((void *)(uintptr_t)t.gpa, &gpa, sizeof(gpa)) < 0)
			return -EFAULT;
		return 0;
	} else {
		struct mshv_ext_read_write_gpa g;
		bool write = req == MSHV_EXT_WRITE_GPA;

		if (sim_copy_in(&g, arg, sizeof(g)) < 0)
			return -EFAULT;
		if (!g.byte_count || g.byte_count > HV_READ_WRITE_GPA_MAX_SIZE || g.flags)
			return -EINVAL;
		/* sim choice: an access the hypervisor refuses is EFAULT */
		if (gpa_rw(vp->pt, g.base_gpa, g.data, g.byte_count, write) != HV_ACCESS_GPA_SUCCESS)
			return -EFAULT;
		if (!write && sim_copy_out(arg, &g, sizeof(g)) < 0)
			return -EFAULT;
		return 0;
	}
}
