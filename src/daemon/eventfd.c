// SPDX-License-Identifier: MIT
// ioeventfds and irqfds of a VM: creation, registration, watchers on the loop, teardown.

#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <event2/event.h>

#include "model.h"

/* The backend's interrupt model (hv_irq_model()) says which GSIs are pins and which option
 * creates the interrupt controller: no backend is named here. */
bool vm_has_irqchip(const struct vm *vm)
{
	if (hv_irq_model(mshvd.hv)->irqchip_lapic_only)
		return vm->opts.lapic;
	return vm->opts.irqchip || vm->opts.lapic || vm->opts.x2apic;
}

const char *vm_irqchip_option(void)
{
	return hv_irq_model(mshvd.hv)->irqchip_option;
}

bool vm_gsi_routed(const struct vm *vm, uint32_t gsi)
{
	if (gsi < hv_irq_model(mshvd.hv)->pin_gsis)
		return true;
	for (unsigned i = 0; i < vm->nmsi_routes; i++)
		if (vm->msi_routes[i].gsi == gsi)
			return true;
	return false;
}

struct vm_eventfd *vm_eventfd_find(struct vm *vm, enum vm_eventfd_kind kind, unsigned id)
{
	struct vm_eventfd *e;

	TAILQ_FOREACH(e, &vm->eventfds, entry)
		if (e->id == id && e->kind == kind)
			return e;
	return NULL;
}

struct vm_eventfd *vm_irqfd_by_gsi(struct vm *vm, uint32_t gsi)
{
	struct vm_eventfd *e;

	TAILQ_FOREACH(e, &vm->eventfds, entry)
		if (e->kind == VM_EVENTFD_IRQ && e->gsi == gsi)
			return e;
	return NULL;
}

/* Read and reset an eventfd counter; 0 when it was not signalled. */
static uint64_t drain(int fd)
{
	uint64_t v;

	if (read(fd, &v, sizeof(v)) != sizeof(v))
		return 0;	/* EAGAIN: a passed copy's reader was faster */
	return v;
}

static void ioevent_cb(evutil_socket_t fd, short what, void *arg)
{
	struct vm_eventfd *e = arg;
	uint64_t n = drain(fd);

	if (!n)
		return;
	e->count += n;
	/* One event per wake-up with the counter: coalesced doorbells are counted, not lost. */
	vm_publish(e->vm, -1, EV_IOEVENT, json_pack("{s:i, s:I}", "id", e->id, "count",
						       (json_int_t)n));
}

static void resample_cb(evutil_socket_t fd, short what, void *arg)
{
	struct vm_eventfd *e = arg;
	uint64_t n = drain(fd);

	if (!n)
		return;
	e->resamples += n;
	vm_publish(e->vm, -1, EV_IRQ_RESAMPLE, json_pack("{s:i, s:i, s:I}", "id", e->id,
							    "gsi", (int)e->gsi, "count",
							    (json_int_t)n));
}

static int hv_register(struct vm_eventfd *e, bool add)
{
	unsigned flags;

	if (e->kind == VM_EVENTFD_IRQ)
		return add ? hv_vm_add_irqfd(e->vm->hv, e->fd, e->resample_fd, e->gsi) :
			     hv_vm_remove_irqfd(e->vm->hv, e->fd, e->gsi);
	flags = (e->pio ? HV_IOEVENTFD_PIO : 0) | (e->has_datamatch ? HV_IOEVENTFD_DATAMATCH : 0);
	return add ? hv_vm_add_ioeventfd(e->vm->hv, e->fd, e->addr, e->len, flags, e->datamatch) :
		     hv_vm_remove_ioeventfd(e->vm->hv, e->fd, e->addr, e->len, flags,
					    e->datamatch);
}

static void eventfd_free(struct vm_eventfd *e)
{
	if (e->ev)
		event_free(e->ev);
	if (e->resample_ev)
		event_free(e->resample_ev);
	if (e->fd >= 0)
		close(e->fd);
	if (e->resample_fd >= 0)
		close(e->resample_fd);
	free(e);
}

int vm_eventfd_add(struct vm *vm, const struct vm_eventfd *tmpl, struct vm_eventfd **ret)
{
	struct vm_eventfd *e;
	int r;

	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	*e = *tmpl;
	e->vm = vm;
	e->ev = e->resample_ev = NULL;
	e->passed = e->registered = false;
	e->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (e->fd < 0) {
		r = -errno;
		e->resample_fd = -1;
		goto fail;
	}
	if (e->kind == VM_EVENTFD_IRQ && tmpl->resample_fd >= 0) {
		e->resample_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (e->resample_fd < 0) {
			r = -errno;
			goto fail;
		}
	} else {
		e->resample_fd = -1;
	}
	/* Watchers first (not yet added): after registering, only the hypervisor can fail. */
	if (e->kind == VM_EVENTFD_IOEVENT) {
		e->ev = event_new(mshvd.base, e->fd, EV_READ | EV_PERSIST, ioevent_cb, e);
		if (!e->ev) {
			r = -ENOMEM;
			goto fail;
		}
	}
	if (e->resample_fd >= 0) {
		e->resample_ev = event_new(mshvd.base, e->resample_fd, EV_READ | EV_PERSIST,
					   resample_cb, e);
		if (!e->resample_ev) {
			r = -ENOMEM;
			goto fail;
		}
	}
	r = hv_register(e, true);
	if (r < 0)
		goto fail;
	e->registered = true;
	if ((e->ev && event_add(e->ev, NULL) < 0) ||
	    (e->resample_ev && event_add(e->resample_ev, NULL) < 0)) {
		hv_register(e, false);
		r = -ENOMEM;
		goto fail;
	}
	e->id = ++vm->next_eventfd_id;
	TAILQ_INSERT_TAIL(&vm->eventfds, e, entry);
	vm->neventfds++;
	vm_counts_add(vm, 0, 1, 0);
	*ret = e;
	return 0;
fail:
	eventfd_free(e);
	return r;
}

int vm_eventfd_remove(struct vm_eventfd *e)
{
	struct vm *vm = e->vm;
	int r = hv_register(e, false);

	if (r < 0)
		return r;
	/* A doorbell rung just before the removal still counts: report it. */
	if (e->kind == VM_EVENTFD_IOEVENT)
		ioevent_cb(e->fd, EV_READ, e);
	TAILQ_REMOVE(&vm->eventfds, e, entry);
	vm->neventfds--;
	vm_counts_add(vm, 0, -1, 0);
	eventfd_free(e);
	return 0;
}

void vm_eventfds_unwatch(struct vm *vm)
{
	struct vm_eventfd *e;

	TAILQ_FOREACH(e, &vm->eventfds, entry) {
		if (e->ev)
			event_free(e->ev);
		if (e->resample_ev)
			event_free(e->resample_ev);
		e->ev = e->resample_ev = NULL;
	}
}

void vm_eventfds_unregister(struct vm *vm)
{
	struct vm_eventfd *e;

	TAILQ_FOREACH(e, &vm->eventfds, entry)
		if (e->registered && hv_register(e, false) == 0)
			e->registered = false;
}

void vm_eventfds_close(struct vm *vm)
{
	struct vm_eventfd *e;

	TAILQ_FOREACH(e, &vm->eventfds, entry) {
		if (e->fd >= 0)
			close(e->fd);
		if (e->resample_fd >= 0)
			close(e->resample_fd);
		e->fd = e->resample_fd = -1;
	}
}

void vm_eventfds_free(struct vm *vm)
{
	struct vm_eventfd *e;

	while ((e = TAILQ_FIRST(&vm->eventfds))) {
		TAILQ_REMOVE(&vm->eventfds, e, entry);
		eventfd_free(e);
	}
	vm->neventfds = 0;
	free(vm->msi_routes);
	vm->msi_routes = NULL;
	vm->nmsi_routes = 0;
}

json_t *vm_eventfds_json(const struct vm *vm)
{
	json_t *list = json_array();
	struct vm_eventfd *e;

	TAILQ_FOREACH(e, &vm->eventfds, entry) {
		json_t *j;

		if (e->kind == VM_EVENTFD_IOEVENT) {
			j = json_pack("{s:i, s:s, s:o, s:s, s:i, s:I, s:b}", "id", e->id, "type",
				      "ioeventfd", "addr", json_hex(e->addr), "space",
				      e->pio ? "pio" : "mmio", "len", e->len, "count",
				      (json_int_t)e->count, "passed", e->passed);
			if (e->has_datamatch)
				json_object_set_new(j, "datamatch", json_hex(e->datamatch));
		} else {
			j = json_pack("{s:i, s:s, s:i, s:b, s:I, s:I, s:b}", "id", e->id, "type",
				      "irqfd", "gsi", (int)e->gsi, "resample", e->resample_fd >= 0,
				      "triggers", (json_int_t)e->triggers, "resamples",
				      (json_int_t)e->resamples, "passed", e->passed);
		}
		json_array_append_new(list, j);
	}
	return list;
}

int vm_set_msi_routes(struct vm *vm, const struct hv_msi_route *routes, unsigned n)
{
	struct hv_msi_route *copy = NULL;
	int r;

	if (n) {
		copy = calloc(n, sizeof(*copy));
		if (!copy)
			return -ENOMEM;
		memcpy(copy, routes, n * sizeof(*copy));
	}
	r = hv_vm_set_msi_routing(vm->hv, routes, n);
	if (r < 0) {
		free(copy);
		return r;
	}
	free(vm->msi_routes);
	vm->msi_routes = copy;
	vm->nmsi_routes = n;
	return 0;
}

int vm_irqfd_trigger(struct vm_eventfd *e)
{
	const uint64_t one = 1;

	/* Non-blocking eventfd: only a counter at its maximum refuses, and then the interrupt
	 * is pending anyway. */
	if (write(e->fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		return -errno;
	e->triggers++;
	return 0;
}
