#!/bin/bash
# SPDX-License-Identifier: MIT
# The mshv-ioctls example over the mshvd socket with socat and jq only: raw JSON-RPC lines on one
# connection (a socat coprocess).  The guest prints '4' (2 + 2) and then 0 on port 0x3f8, and
# halts.  Socket: $MSHVD_SOCKET, else /run/mshvd/mshvd.sock.  -q: do not show the JSON lines.
set -euo pipefail

sock=${MSHVD_SOCKET:-/run/mshvd/mshvd.sock}
verbose=1
[[ ${1:-} == -q ]] && verbose=0

for tool in socat jq base64; do
	command -v "$tool" >/dev/null || { echo "run-example: $tool is not installed" >&2; exit 2; }
done
[[ -S $sock ]] || { echo "run-example: no socket at $sock (set MSHVD_SOCKET)" >&2; exit 1; }

# One connection for the whole script: the VM is created with autodestroy, so if this script
# dies the daemon destroys it when the connection closes.  (With one socat per call,
# autodestroy would destroy the VM right after create-vm.)
coproc MSHVD { exec socat -t 5 - "UNIX-CONNECT:$sock"; }
to_daemon=${MSHVD[1]} from_daemon=${MSHVD[0]} socat_pid=$MSHVD_PID
# Closing our end makes socat shut the connection down and exit.
trap 'exec {to_daemon}>&-; wait "$socat_pid" || true' EXIT

id=0
result=
# rpc METHOD [PARAMS-JSON]: send one request, read its reply; the result goes to $result.
# No subscription on this connection, so the only lines coming back are replies, in order.
rpc() {
	local request reply params=${2:-}
	[[ -n $params ]] || params='{}'
	id=$((id + 1))
	request=$(jq -cn --arg m "$1" --argjson p "$params" --argjson id "$id" \
		'{jsonrpc: "2.0", id: $id, method: $m, params: $p}')
	((verbose)) && printf '>> %s\n' "$request" >&2
	printf '%s\n' "$request" >&"$to_daemon"
	IFS= read -r -t 30 reply <&"$from_daemon" || {
		echo "run-example: no reply to $1" >&2
		exit 1
	}
	((verbose)) && printf '<< %s\n' "$reply" >&2
	if jq -e 'has("error")' <<<"$reply" >/dev/null; then
		jq -r '"run-example: \(.error.message) (\(.error.data.name // .error.code))"' \
			<<<"$reply" >&2
		exit 1
	fi
	[[ $(jq '.id' <<<"$reply") == "$id" ]] || { echo "run-example: reply out of order" >&2; exit 1; }
	result=$(jq -c '.result' <<<"$reply")
}

# The guest: mov $0x3f8,%dx; add %bl,%al; add $'0',%al; out %al,(%dx); mov $0,%al;
# out %al,(%dx); hlt -- the 12 bytes of the mshv-ioctls example.
code=$(printf '\xba\xf8\x03\x00\xd8\x04\x30\xee\xb0\x00\xee\xf4' | base64)

rpc create-vm '{"name": "shell-example-'$$'", "autodestroy": true}'
vm=$(jq '.vm' <<<"$result")
rpc map-memory '{"vm": '"$vm"', "gpa": "0x0", "size": 16384, "flags": ["read", "write", "exec"]}'
rpc write-memory '{"vm": '"$vm"', "gpa": "0x1000", "data": "'"$code"'"}'
rpc create-vcpu '{"vm": '"$vm"', "index": 0}'
rpc set-regs '{"vm": '"$vm"', "vcpu": 0, "regs": {"rip": "0x1000", "rflags": "0x2",
	"rax": 2, "rbx": 2, "cs": {"base": 0, "selector": 0}}}'

# run/wait until the guest halts; each reply is the exit that parked the vCPU.
output=
while :; do
	rpc run '{"vm": '"$vm"', "vcpu": 0, "wait": true, "timeout_ms": 10000}'
	type=$(jq -r '.exit.type' <<<"$result")
	case $type in
	io)
		read -r port dir data < <(jq -r '.exit | "\(.port) \(.direction) \(.data)"' <<<"$result")
		[[ $port == 0x3f8 && $dir == out ]] || { echo "run-example: unexpected $result" >&2; exit 1; }
		if ((data == 0)); then
			echo "guest: wrote 0 to port 0x3f8"
		else
			char=$(printf "\\x${data#0x}")
			echo "guest: wrote '$char' ($data) to port 0x3f8"
			output+=$char
		fi
		# An OUT needs no value: complete advances RIP past it (run would do it too).
		rpc complete '{"vm": '"$vm"', "vcpu": 0}'
		;;
	halt)
		echo "guest: halted at $(jq -r '.exit.rip' <<<"$result")"
		break
		;;
	*)
		echo "run-example: unexpected exit $result" >&2
		exit 1
		;;
	esac
done

rpc destroy-vm '{"vm": '"$vm"'}'
[[ $output == 4 ]] || { echo "run-example: expected '4', the guest wrote '$output'" >&2; exit 1; }
echo "run-example: ok"
