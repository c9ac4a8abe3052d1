// SPDX-License-Identifier: MIT
/* Kick: a guest spinning in `jmp .` returns HV_EXIT_INTERRUPTED within 50 ms of
 * hv_vcpu_kick() from another thread; a kick before the run is sticky; kicks are consumed. */
#include <pthread.h>
#include <stdlib.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "hv-test.h"

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

struct kicker {
	struct hv_vcpu *vcpu;
	atomic_uint_fast64_t kicked_at;
	unsigned delay_ms;
};

static void *kicker_main(void *p)
{
	struct kicker *k = p;

	usleep(k->delay_ms * 1000);
	atomic_store(&k->kicked_at, now_ns());
	hv_vcpu_kick(k->vcpu);
	return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

int main(void)
{
	struct hv_test *t = hv_test_new_or_skip(hv_test_backend(), "hv-spin");
	uint64_t worst = 0, lats[10];
	struct hv_exit e;

	for (unsigned round = 0; round < 10; round++) {
		struct kicker k = { .vcpu = t->vcpu, .delay_ms = 20 + 3 * round };
		pthread_t th;
		uint64_t back, lat;

		require(pthread_create(&th, NULL, kicker_main, &k) == 0);
		require_ok(hv_vcpu_run(t->vcpu, &e));
		back = now_ns();
		pthread_join(th, NULL);
		check_eq_int(e.kind, HV_EXIT_INTERRUPTED);
		lat = back - atomic_load(&k.kicked_at);
		lats[round] = lat;
		if (lat > worst)
			worst = lat;
		/* The guest was really running: RIP is inside the spin loop. */
		check(e.rip >= 0x1000 && e.rip < 0x1010);
	}
	/*
	 * The kick itself is immediate_exit plus a signal; what a loaded 2-CPU test machine adds is
	 * scheduling delay of the vCPU thread (sanitizer builds, parallel tests).  So the 50 ms
	 * bound holds for the median round, and every round must still return within 1 s.
	 */
	qsort(lats, 10, sizeof(lats[0]), cmp_u64);
	test_note("kick latency: median %.3f ms, worst %.3f ms", lats[5] / 1e6, worst / 1e6);
	check(lats[5] < 50 * 1000000u);
	check(worst < 1000 * 1000000u);

	/* A kick before the run is sticky: the next run returns at once... */
	hv_vcpu_kick(t->vcpu);
	require_ok(hv_vcpu_run(t->vcpu, &e));
	check_eq_int(e.kind, HV_EXIT_INTERRUPTED);
	/* ...and consumed by it: the following run spins until the next kick. */
	{
		struct kicker k = { .vcpu = t->vcpu, .delay_ms = 100 };
		pthread_t th;
		uint64_t start = now_ns();

		require(pthread_create(&th, NULL, kicker_main, &k) == 0);
		require_ok(hv_vcpu_run(t->vcpu, &e));
		pthread_join(th, NULL);
		check_eq_int(e.kind, HV_EXIT_INTERRUPTED);
		check(now_ns() - start >= 90 * 1000000u);
	}
	hv_test_free(t);
	return test_done();
}
