// SPDX-License-Identifier: MIT
/*
 * mshv-sim test double: the driver generations it models (MSHV_SIM_GEN), one table row each, from
 * the fact sheet's §11 (../shared/mshv-abi.md).  Everything generation-dependent in the sim reads
 * this table; nothing else looks at MSHV_SIM_GEN.
 */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

/* The 13 codes of the allow-list as first merged (6.15-6.18, §6.1). */
#define FIRST_MERGED \
	HVCALL_GET_PARTITION_PROPERTY, HVCALL_SET_PARTITION_PROPERTY, HVCALL_INSTALL_INTERCEPT, \
	HVCALL_GET_VP_REGISTERS, HVCALL_SET_VP_REGISTERS, HVCALL_TRANSLATE_VIRTUAL_ADDRESS, \
	HVCALL_CLEAR_VIRTUAL_INTERRUPT, HVCALL_REGISTER_INTERCEPT_RESULT, \
	HVCALL_ASSERT_VIRTUAL_INTERRUPT, HVCALL_GET_GPA_PAGES_ACCESS_STATES, \
	HVCALL_SIGNAL_EVENT_DIRECT, HVCALL_POST_MESSAGE_DIRECT, HVCALL_GET_VP_CPUID_VALUES

/* The Microsoft kernels' additions (MS-k 6384616a, §11.1). */
#define MS_EXTRA \
	HVCALL_READ_GPA, HVCALL_WRITE_GPA, HVCALL_IMPORT_ISOLATED_PAGES, \
	HVCALL_COMPLETE_ISOLATED_IMPORT, HVCALL_ISSUE_SNP_PSP_GUEST_REQUEST

static const uint16_t list_6_15[] = { FIRST_MERGED, 0 };
static const uint16_t list_6_19[] = { FIRST_MERGED, HVCALL_GET_PARTITION_PROPERTY_EX, 0 };
static const uint16_t list_7_0_rc1[] = {
	FIRST_MERGED, HVCALL_GET_PARTITION_PROPERTY_EX, HVCALL_SCRUB_PARTITION, 0,
};
static const uint16_t list_ms_2025[] = { FIRST_MERGED, MS_EXTRA, 0 };
static const uint16_t list_ms[] = { FIRST_MERGED, MS_EXTRA, HVCALL_GET_PARTITION_PROPERTY_EX, 0 };

/* Mainline's self list on /dev/mshv (6.19+, §11.3). */
static const uint16_t self_mainline[] = {
	HVCALL_GET_PARTITION_PROPERTY, HVCALL_GET_PARTITION_PROPERTY_EX, 0,
};

/*
 * pt_bits for the Microsoft kernels is a sim choice: their driver reads the v2 struct (§3.1,
 * "mshv_ioctl_process_pt_flags"), bits 4-5 are not known there, so 4.
 */
static const struct sim_gen gens[] = {
	{ "6.15", "mainline 6.15-6.18 (first merge)", MSHV_PT_BIT_COUNT_6_15, list_6_15,
	  NULL, false, true, false, false },
	{ "6.19", "mainline 6.19", MSHV_PT_BIT_COUNT_6_19, list_6_19,
	  self_mainline, false, false, true, false },
	{ "7.0-rc1", "mainline 7.0-rc1..rc4 (SCRUB_PARTITION, reverted in rc5)",
	  MSHV_PT_BIT_COUNT_7_0, list_7_0_rc1, self_mainline, false, false, true, false },
	{ "7.0", "mainline 7.0", MSHV_PT_BIT_COUNT_7_0, list_6_19,
	  self_mainline, false, false, true, false },
	{ "ms-2025", "Microsoft kernel (Azure Linux, CBL-Mariner 6384616a)", MSHV_PT_BIT_COUNT_6_19,
	  list_ms_2025, NULL, false, true, false, true },
	{ "ms", "Microsoft kernel, later revision", MSHV_PT_BIT_COUNT_6_19, list_ms,
	  NULL, true, false, false, true },
};

#define DEFAULT_GEN 3	/* the newest mainline release */

const struct sim_gen *sim_gen(void)
{
	const char *s = getenv("MSHV_SIM_GEN");
	static bool warned;

	if (!s || !*s)
		return &gens[DEFAULT_GEN];
	for (size_t i = 0; i < sizeof(gens) / sizeof(gens[0]); i++)
		if (!strcmp(s, gens[i].name))
			return &gens[i];
	if (!warned) {
		warned = true;
		fprintf(stderr, "mshv-sim: unknown MSHV_SIM_GEN \"%s\", using %s\n", s,
			gens[DEFAULT_GEN].name);
	}
	return &gens[DEFAULT_GEN];
}

static bool in_list(const uint16_t *list, uint16_t code)
{
	for (; list && *list; list++)
		if (*list == code)
			return true;
	return false;
}

bool sim_gen_allows(const struct sim_gen *g, uint16_t code)
{
	return in_list(g->hvcalls, code);
}

bool sim_gen_allows_self(const struct sim_gen *g, uint16_t code)
{
	if (g->self_any)
		return in_list(g->hvcalls, code) && !sim_hvcall_async(code);
	return in_list(g->self, code);
}

bool sim_gen_dev_hvcall(const struct sim_gen *g)
{
	return g->self || g->self_any;
}

bool sim_hvcall_async(uint16_t code)
{
	return code == HVCALL_SET_PARTITION_PROPERTY || code == HVCALL_IMPORT_ISOLATED_PAGES ||
	       code == HVCALL_ISSUE_SNP_PSP_GUEST_REQUEST;
}

/* ---- rejection counter (mshv_sim_rejections) --------------------------------------------------- */

static atomic_uint rejections;

int sim_reject(int err)
{
	atomic_fetch_add(&rejections, 1);
	return err;
}

/* Exported: how many calls the selected generation rejected (unknown ioctl, allow-list, pt bit). */
unsigned mshv_sim_rejections(void);
unsigned mshv_sim_rejections(void)
{
	return atomic_load(&rejections);
}

/* Exported: the selected generation's name. */
const char *mshv_sim_gen(void);
const char *mshv_sim_gen(void)
{
	return sim_gen()->name;
}
