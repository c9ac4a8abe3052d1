#!/bin/sh
# SPDX-License-Identifier: MIT
# src/daemon keeps the layering written at the top of src/daemon/base.h: no file includes a
# header of a module above its own; the RPC handlers (methods/) take no lock and touch no
# atomic and call no hv_* function (the model owns the vCPU protocol and asks the hv layer).
src=${top_srcdir:-.}/src/daemon
[ -d "$src" ] || { echo "ERROR: $src not found"; exit 99; }

# level of a daemon header (base name), or of a source file (its module)
level() {
	case $1 in
	base.h|limits.h|log.c|util.c|limits.c) echo 0 ;;
	events.h|mailbox.h|events.c|mailbox.c) echo 1 ;;
	server.h|server.c) echo 2 ;;
	model.h|snapshot.h|partition.c|vcpu.c|eventfd.c|snapshot.c|snapshot-file.c) echo 3 ;;
	auth.h|subscriptions.h|systemd.h|auth.c|subscriptions.c|systemd.c) echo 4 ;;
	rpc.h|rpc-scan.h|waiters.h|rpc.c|rpc-scan.c|methods.c|waiters.c) echo 5 ;;
	methods/*) echo 6 ;;
	main.c) echo 7 ;;
	*) echo "" ;;
	esac
}

status=0
cd "$src" || exit 99
for f in *.c *.h methods/*.c methods/*.h; do
	mine=$(level "$f")
	if [ -z "$mine" ]; then
		echo "FAIL: src/daemon/$f has no layer (tests/unit/check-daemon-layers.sh, base.h)"
		status=1
		continue
	fi
	for inc in $(sed -n 's/^#include "\(daemon\/\)\{0,1\}\([a-z_/-]*\.h\)".*/\2/p' "$f"); do
		case $inc in
		*/*) [ "${inc%%/*}" = methods ] || continue ;;
		esac
		[ -e "$inc" ] || [ -e "methods/$inc" ] || continue
		[ -e "$inc" ] || inc=methods/$inc
		theirs=$(level "$inc")
		if [ -n "$theirs" ] && [ "$theirs" -gt "$mine" ]; then
			echo "FAIL: src/daemon/$f (layer $mine) includes $inc (layer $theirs)"
			status=1
		fi
	done
done
if grep -nE '\b(pthread_(mutex|cond|rwlock|spin)_[a-z]+|atomic_[a-z_]+)\s*\(' methods/*.c methods/*.h; then
	echo "FAIL: methods/ takes a lock or touches an atomic (the model's operations do that)"
	status=1
fi
# Calls into the hv layer (hv_foo(...)); types and constants (struct hv_*, HV_*) are fine.
if grep -nE '(^|[^a-z_.>])hv_[a-z_]+[[:space:]]*\(' methods/*.c methods/*.h; then
	echo "FAIL: methods/ calls the hv layer (ask the model: model.h)"
	status=1
fi
[ $status = 0 ] && echo "PASS: src/daemon keeps its layers"
exit $status
