# SPDX-License-Identifier: MIT
# bash completion for mshvctl: commands, subcommands, options, VM names from the daemon, files.

_mshvctl_vms()
{
	local sock=()
	[[ -n $_mshvctl_socket ]] && sock=(--socket "$_mshvctl_socket")
	mshvctl "${sock[@]}" --json --timeout 1000 list 2>/dev/null |
		grep -o '"\(name\|vm\)":[^,}]*' | sed 's/^"[a-z]*"://; s/"//g'
}

_mshvctl()
{
	local cur prev words cword
	_init_completion || return

	local commands="info create destroy list show pause resume map unmap write read load vcpu
		regs run complete stop translate ioeventfd irqfd msi-routing interrupt events call
		boot help"
	local global_opts="--socket --json --timeout --verbose --help --version"
	local i cmd="" sub="" cmd_index=0
	_mshvctl_socket=""

	for ((i = 1; i < cword; i++)); do
		case ${words[i]} in
		--socket | -s) _mshvctl_socket=${words[i + 1]}; ((i++)); continue ;;
		--timeout | -t) ((i++)); continue ;;
		-*) continue ;;
		esac
		if [[ -z $cmd ]]; then
			cmd=${words[i]}
			cmd_index=$i
		elif [[ -z $sub && $cmd =~ ^(vcpu|regs|ioeventfd|irqfd)$ ]]; then
			sub=${words[i]}
		fi
	done

	case $prev in
	--socket | -s) _filedir; return ;;
	--timeout | -t | --gpa | --entry | --mem | --chunk | --since | --value | --run-timeout | \
	--default-read | --datamatch | --len | --apic-id | --max-time | --hex | --string | --reg)
		return ;;
	--mode)
		if [[ $cmd == boot ]]; then
			COMPREPLY=($(compgen -W "real protected long" -- "$cur"))
		else
			COMPREPLY=($(compgen -W "step stream" -- "$cur"))
		fi
		return ;;
	--flags) COMPREPLY=($(compgen -W "rwx rw r rx" -- "$cur")); return ;;
	--space) COMPREPLY=($(compgen -W "mmio pio" -- "$cur")); return ;;
	--access) COMPREPLY=($(compgen -W "read write exec" -- "$cur")); return ;;
	--type) COMPREPLY=($(compgen -W "fixed lowest nmi init sipi extint" -- "$cur")); return ;;
	--kinds) COMPREPLY=($(compgen -W "exit vcpu-state vm-state events-lost ioevent" -- "$cur"))
		return ;;
	--vm) COMPREPLY=($(compgen -W "$(_mshvctl_vms)" -- "$cur")); return ;;
	esac

	if [[ -z $cmd ]]; then
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W "$global_opts" -- "$cur"))
		else
			COMPREPLY=($(compgen -W "$commands" -- "$cur"))
		fi
		return
	fi

	local opts="--help"
	case $cmd in
	vcpu) [[ -z $sub ]] && { COMPREPLY=($(compgen -W "create" -- "$cur")); return; } ;;
	regs) [[ -z $sub ]] && { COMPREPLY=($(compgen -W "get set" -- "$cur")); return; } ;;
	ioeventfd)
		[[ -z $sub ]] && { COMPREPLY=($(compgen -W "add remove" -- "$cur")); return; }
		[[ $sub == add ]] && opts+=" --space --len --datamatch" ;;
	irqfd)
		[[ -z $sub ]] && { COMPREPLY=($(compgen -W "add remove trigger" -- "$cur")); return; }
		[[ $sub == add ]] && opts+=" --resample" ;;
	help) COMPREPLY=($(compgen -W "$commands" -- "$cur")); return ;;
	create) opts+=" --lapic --x2apic --irqchip --autodestroy" ;;
	map) opts+=" --flags" ;;
	write) opts+=" --hex --string" ;;
	read) opts+=" --hexdump --raw" ;;
	load) opts+=" --gpa --chunk --no-progress" ;;
	run) opts+=" --mode --wait --run-timeout --default-read" ;;
	complete) opts+=" --value" ;;
	translate) opts+=" --access" ;;
	interrupt) opts+=" --apic-id --type --level --logical" ;;
	events) opts+=" --vm --kinds --since --follow" ;;
	boot) opts+=" --gpa --entry --mode --mem --reg --step --max-time" ;;
	esac

	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$opts" -- "$cur"))
		return
	fi

	# The first argument of most commands is a VM; files where commands take them.
	local nargs=0
	for ((i = cmd_index + 1; i < cword; i++)); do
		[[ ${words[i]} == -* ]] && continue
		[[ ${words[i]} == "$sub" && -n $sub ]] && continue
		((nargs++))
	done
	case $cmd in
	boot) _filedir; return ;;
	load | write) ((nargs == 0)) && COMPREPLY=($(compgen -W "$(_mshvctl_vms)" -- "$cur")) ||
		_filedir
		return ;;
	info | list | events | call | help) return ;;
	esac
	((nargs == 0)) && COMPREPLY=($(compgen -W "$(_mshvctl_vms)" -- "$cur"))
} &&
	complete -F _mshvctl mshvctl
