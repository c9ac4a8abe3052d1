// SPDX-License-Identifier: MIT
/* Port I/O on the hypervisor layer: every size and direction, string I/O with and without REP,
 * the exact sequence of normalized exits, their data, RIP and the final registers. */
#include <string.h>

#include "check.h"
#include "guest.h"
#include "hv-test.h"

struct want {
	uint16_t port;
	uint8_t size;
	bool write, string, rep;
	uint64_t count, data;
	uint8_t op[2];		/* instruction bytes at rip (op[1] == 0: one byte) */
};

#define PV(p, s) hv_test_io_value(p, s)

int main(void)
{
	static const struct want want[] = {
		{ 0x70, 1, false, false, false, 1, 0, { 0xe4 } },
		{ 0x72, 2, false, false, false, 1, 0, { 0xe5 } },
		{ 0x74, 4, false, false, false, 1, 0, { 0x66, 0xe5 } },
		{ 0x1f0, 1, false, false, false, 1, 0, { 0xec } },
		{ 0x1f0, 2, false, false, false, 1, 0, { 0xed } },
		{ 0x1f0, 4, false, false, false, 1, 0, { 0x66, 0xed } },
		{ 0x80, 1, true, false, false, 1, 0xa1, { 0xe6 } },
		{ 0x82, 2, true, false, false, 1, 0xb2c3, { 0xe7 } },
		{ 0x84, 4, true, false, false, 1, 0xd4e5f607, { 0x66, 0xe7 } },
		{ 0x2f8, 1, true, false, false, 1, 0x5a, { 0xee } },
		{ 0x2f8, 2, true, false, false, 1, 0x6b7c, { 0xef } },
		{ 0x2f8, 4, true, false, false, 1, 0x8d9eafb0, { 0x66, 0xef } },
		{ GUEST_PORT_CONSOLE, 1, true, true, true, 3, 'h', { 0xf3, 0x6e } },
		{ GUEST_PORT_CONSOLE, 1, true, true, true, 2, 'v', { 0xf3, 0x6e } },
		{ GUEST_PORT_CONSOLE, 1, true, true, true, 1, '!', { 0xf3, 0x6e } },
		{ 0x2f8, 2, true, true, true, 2, 0x1234, { 0xf3, 0x6f } },
		{ 0x2f8, 2, true, true, true, 1, 0x5678, { 0xf3, 0x6f } },
		{ 0x2f8, 4, true, true, false, 1, 0x9abcdef0, { 0x66, 0x6f } },
		{ 0x92, 1, false, true, true, 3, 0, { 0xf3, 0x6c } },
		{ 0x92, 1, false, true, true, 2, 0, { 0xf3, 0x6c } },
		{ 0x92, 1, false, true, true, 1, 0, { 0xf3, 0x6c } },
		{ 0x94, 2, false, true, true, 2, 0, { 0xf3, 0x6d } },
		{ 0x94, 2, false, true, true, 1, 0, { 0xf3, 0x6d } },
		{ 0x94, 1, false, true, false, 1, 0, { 0x6c } },
	};
	struct hv_test *t = hv_test_new_or_skip(hv_test_backend(), "hv-pio");
	unsigned w = 0, nwant = sizeof(want) / sizeof(want[0]);
	uint64_t last_rip = 0;

	hv_test_check_guest(t);
	for (unsigned i = 0; i < t->nexits; i++) {
		const struct hv_exit *e = &t->exits[i];
		const struct want *x;

		if (e->kind != HV_EXIT_IO || e->io.port == GUEST_PORT_VALUE ||
		    e->io.port == GUEST_PORT_DONE)
			continue;
		if (!check(w < nwant)) {
			hv_test_print_exit("extra: ", e);
			break;
		}
		x = &want[w++];
		if (!(check_eq_int(e->io.port, x->port) & check_eq_int(e->io.size, x->size) &
		      check_eq_int(e->io.write, x->write) & check_eq_int(e->io.string, x->string) &
		      check_eq_int(e->io.rep, x->rep) & check_eq_u64(e->io.count, x->count) &
		      check_eq_u64(e->io.data, x->write ? x->data : 0) &
		      check(e->rip < GUEST_RAM_SIZE - 2) &&
		      check_eq_int(t->ram[e->rip], x->op[0]) &
		      check_eq_int(x->op[1] ? t->ram[e->rip + 1] : x->op[1], x->op[1])))
			hv_test_print_exit("exit: ", e);
		if (!x->string)
			check_eq_int(e->insn_len, x->op[1] ? 2 + (x->op[0] == 0x66 &&
					(x->op[1] == 0xe5 || x->op[1] == 0xe7)) :
					1 + (x->op[0] == 0xe4 || x->op[0] == 0xe6 ||
					     x->op[0] == 0xe5 || x->op[0] == 0xe7));
		/* Every element of one REP instruction reports the same address. */
		if (x->rep && x->count < (w >= 2 ? want[w - 2].count : 0) + 1 && w >= 2 &&
		    want[w - 2].rep && want[w - 2].port == x->port)
			check_eq_u64(e->rip, last_rip);
		if (!x->write)
			check_eq_u64(t->completions[i], PV(x->port, x->size));
		last_rip = e->rip;
	}
	check_eq_int(w, nwant);
	check_eq_int(t->nconsole, 3);
	check(memcmp(t->console, "hv!", 3) == 0);

	require(check_eq_int(t->nvalues, 11));
	check_eq_u64(t->values[1], 0);			/* ECX after rep outsb */
	check_eq_u64(t->values[2], t->values[0] + 4);	/* ESI after rep outsw */
	check_eq_u64(t->values[3], 0);
	check_eq_u64(t->values[4], t->values[0] + 8);	/* ESI after outsl */
	check_eq_u64(t->values[5], 0x3003);		/* EDI after rep insb */
	check_eq_u64(t->values[6], 0);
	check_eq_u64(t->values[7], 0x3007);
	check_eq_u64(t->values[8], 0);
	check_eq_u64(t->values[9], 0x3008);
	check_eq_u64(t->values[10], PV(0x92, 1) * 0x010101 | (PV(0x94, 2) & 0xff) << 24);
	check_eq_u64(t->ram[0x3007], PV(0x94, 1));

	/* HALT reports RIP past the hlt, and so do the registers. */
	check_eq_int(t->exits[t->nexits - 1].kind, HV_EXIT_HALT);
	check_eq_int(t->ram[t->exits[t->nexits - 1].rip - 1], 0xf4);
	check_eq_u64(hv_test_reg(t, HV_REG_RIP), t->exits[t->nexits - 1].rip);
	hv_test_free(t);
	return test_done();
}
