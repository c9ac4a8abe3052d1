#!/bin/sh
# SPDX-License-Identifier: MIT
# Bounded libFuzzer run of tests/fuzz/fuzz-rpc (mshvd's socket, framing, JSON-RPC, dispatcher
# and methods on a stub backend); skips (77) when clang/libFuzzer is missing.
# FUZZ_RUNS (default 3000, -1 = unlimited) and FUZZ_TIME (seconds, default 15) bound the run.

builddir=${top_builddir:-.}
srcdir=${top_srcdir:-.}
fuzzer=$builddir/tests/fuzz/fuzz-rpc
corpus=$srcdir/tests/fuzz/corpus/rpc

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
# crash reproducers are kept in the build tree.  The fuzzer's listening socket lives in $work.
work=$(mktemp -d "${TMPDIR:-/tmp}/fuzz-rpc.XXXXXX") || exit 99
trap 'rm -rf "$work"' EXIT INT TERM

# libFuzzer's default error exit code is 77, which automake would read as a skip.
TMPDIR=$work "$fuzzer" -runs="${FUZZ_RUNS:-3000}" -max_total_time="${FUZZ_TIME:-15}" \
	-max_len=4096 -timeout=20 -rss_limit_mb=4096 -error_exitcode=1 -timeout_exitcode=1 \
	-print_final_stats=1 -artifact_prefix="$builddir/tests/fuzz/crash-rpc-" "$work" "$corpus"
status=$?
if [ $status -ne 0 ]; then
	echo "FAIL: libFuzzer exited with $status; reproducer: $builddir/tests/fuzz/crash-rpc-*"
	exit 1
fi
exit 0
