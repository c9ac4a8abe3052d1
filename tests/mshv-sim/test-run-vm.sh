#!/bin/sh
# SPDX-License-Identifier: MIT
# examples/run-vm under mshv-sim (every generation): prints the guest's "4", stops after the second port write and
# exits 0; with a hypercall failure injected it reports the HV status and exits non-zero.
srcdir=${top_srcdir:-.}
builddir=${top_builddir:-.}
sim_env=$srcdir/tests/mshv-sim/sim-env
run_vm=$builddir/examples/run-vm
export top_builddir=$builddir

# Under every driver generation the sim models (MSHV_SIM_GEN, tests/mshv-sim/README.md).
for gen in 6.15 6.19 7.0-rc1 7.0 ms-2025 ms; do
	out=$(MSHV_SIM_GEN=$gen "$sim_env" "$run_vm" 2>&1)
	rc=$?
	[ $rc -eq 77 ] && { echo "$out"; exit 77; }
	if [ $rc -ne 0 ] || [ "$out" != 4 ]; then
		echo "FAIL: run-vm under $gen exited $rc with output: $out"
		exit 1
	fi
done

# Fail one of the SET_VP_REGISTERS hypercalls run-vm makes (setup or RIP advance).
out=$(MSHV_SIM_FAULT="hvcall=0x51:nth=4:status=0x5" "$sim_env" "$run_vm" 2>&1)
rc=$?
case $rc:$out in
0:*|77:*)
	echo "FAIL: run-vm ignored an injected hypercall failure (exit $rc): $out"
	exit 1 ;;
esac
case $out in
*HV_STATUS_INVALID_PARAMETER*) ;;
*)
	echo "FAIL: run-vm did not report the HV status: $out"
	exit 1 ;;
esac
echo "ok: run-vm prints 4 and stops on the second intercept; injected failure reported"
exit 0
