#!/bin/sh
# SPDX-License-Identifier: MIT
# Bounded libFuzzer run of tests/fuzz/fuzz-x86-decode; skips (77) when clang/libFuzzer is missing.
# FUZZ_RUNS (default 200000, -1 = unlimited) and FUZZ_TIME (seconds, default 20) bound the run.

builddir=${top_builddir:-.}
srcdir=${top_srcdir:-.}
fuzzer=$builddir/tests/fuzz/fuzz-x86-decode
corpus=$srcdir/tests/fuzz/corpus/x86-decode

if [ ! -x "$fuzzer" ]; then
	# A compiler error in our own sources is a failure; only a missing clang/libFuzzer skips.
	if grep -Eq '\.[ch]:[0-9]+:[0-9]+: error:' "$fuzzer.log" 2>/dev/null; then
		echo "ERROR: $fuzzer did not compile:"
		cat "$fuzzer.log"
		exit 99
	fi
	echo "SKIP: $fuzzer was not built (needs clang with libFuzzer)"
	exit 77
fi
if [ ! -d "$corpus" ]; then
	echo "ERROR: seed corpus $corpus is missing"
	exit 99
fi

# New inputs go to a scratch directory (libFuzzer writes into the first corpus directory only);
# crash reproducers are kept in the build tree.
work=$(mktemp -d "${TMPDIR:-/tmp}/fuzz-x86.XXXXXX") || exit 99
trap 'rm -rf "$work"' EXIT INT TERM

# libFuzzer's default error exit code is 77, which automake would read as a skip.
"$fuzzer" -runs="${FUZZ_RUNS:-200000}" -max_total_time="${FUZZ_TIME:-20}" -max_len=32 \
	-timeout=10 -error_exitcode=1 -timeout_exitcode=1 -print_final_stats=1 \
	-artifact_prefix="$builddir/tests/fuzz/crash-x86-decode-" "$work" "$corpus"
status=$?
if [ $status -ne 0 ]; then
	echo "FAIL: libFuzzer exited with $status; reproducer: $builddir/tests/fuzz/crash-x86-decode-*"
	exit 1
fi
exit 0
