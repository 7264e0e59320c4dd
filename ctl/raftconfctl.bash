# bash completion for raftconfctl(8)                       -*- shell-script -*-
#
# Installed as $(datadir)/bash-completion/completions/raftconfctl, or loaded
# with `source <(raftconfctl completion bash)` (it needs bash-completion's
# _init_completion).  Completes the global options, the commands, each
# command's own options, and, by asking the local daemon (one --stale
# request, one second at most), keys for get/set/del/list/watch, member ids
# for remove/transfer and token names for token revoke.  raftconfctl.zsh
# completes the same for zsh.

_raftconfctl_query()
{
	# Talk to the same daemon as the command line being completed.
	local -a sock=()
	[[ -n $_raftconfctl_socket ]] && sock=(--socket "$_raftconfctl_socket")
	raftconfctl "${sock[@]}" --timeout 1 --dial-timeout 0 "$@" 2>/dev/null
}

_raftconfctl()
{
	local cur prev words cword
	_init_completion || return

	local commands="get set del txn list watch status members join remove snapshot backup transfer token completion"
	local global_opts="--socket --json --write-out --timeout --dial-timeout --version --help"
	local _raftconfctl_socket=${RAFTCONF_SOCKET:-}
	local cmd="" i nargs=0

	# Find the command and the socket, skipping the global options' arguments.
	for ((i = 1; i < cword; i++)); do
		case ${words[i]} in
		-s | --socket)
			_raftconfctl_socket=${words[i + 1]:-}
			((i++))
			;;
		--socket=*) _raftconfctl_socket=${words[i]#--socket=} ;;
		-t | --timeout | --dial-timeout | -w | --write-out) ((i++)) ;;
		-*) ;;
		*)
			cmd=${words[i]}
			break
			;;
		esac
	done

	if [[ -z $cmd ]]; then
		case $prev in
		-s | --socket)
			_filedir
			return
			;;
		-t | --timeout | --dial-timeout)
			return	# a duration: nothing to offer
			;;
		-w | --write-out)
			COMPREPLY=($(compgen -W "json text table" -- "$cur"))
			return
			;;
		esac
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W "$global_opts -s -j -w -t -h" -- "$cur"))
		else
			COMPREPLY=($(compgen -W "$commands" -- "$cur"))
		fi
		return
	fi

	# Arguments of the command so far (its options are not arguments).
	local sub=""
	for ((i = i + 1; i < cword; i++)); do
		case ${words[i]} in
		--exec | --prefix | --if-rev | --from-rev | --limit | -s | --socket | -t | --timeout | \
			--dial-timeout | -w | --write-out) ((i++)) ;;
		-j | --*) ;;
		*)
			((nargs++ == 0)) && sub=${words[i]}
			;;
		esac
	done

	if [[ $cmd == watch && $prev == --exec ]]; then
		COMPREPLY=($(compgen -c -- "$cur"))
		return
	fi
	[[ $cmd == token && $prev == --prefix ]] && return	# any key prefix
	[[ $prev == --if-rev || $prev == --limit ]] && return	# a number: nothing to offer

	local opts=""
	case $cmd in
	get) opts="--stale" ;;
	list) opts="--stale --keys-only --limit --count" ;;
	set) opts="--if-rev" ;;
	del) opts="--if-rev --prefix --all" ;;
	watch) opts="--from-rev --exec" ;;
	join) opts="--learner" ;;
	remove) opts="--force" ;;
	status) opts="--cluster" ;;
	token) [[ $sub == add ]] && opts="--prefix --read --write" ;;
	esac
	if [[ $cur == -* ]]; then
		[[ -n $opts ]] && COMPREPLY=($(compgen -W "$opts" -- "$cur"))
		return
	fi

	case $cmd in
	get | set | del | list | watch)
		# The key (first argument, or del's --prefix) only; a value is the user's to type.
		((nargs == 0)) || return
		local keys
		keys=$(_raftconfctl_query list --stale --keys-only "$cur")
		compopt -o nospace 2>/dev/null
		COMPREPLY=($(compgen -W "$keys" -- "$cur"))
		# Complete a key and its trailing space once it is whole.
		((${#COMPREPLY[@]} == 1)) && COMPREPLY[0]+=" "
		;;
	remove | transfer)
		((nargs == 0)) || return
		local ids
		ids=$(_raftconfctl_query members | awk 'NR > 1 { print $1 }')
		COMPREPLY=($(compgen -W "$ids" -- "$cur"))
		;;
	join)
		# ADDRESS (host:port): nothing sensible to offer.
		;;
	backup)
		((nargs == 0)) && _filedir
		;;
	completion)
		((nargs == 0)) && COMPREPLY=($(compgen -W "bash zsh" -- "$cur"))
		;;
	token)
		if ((nargs == 0)); then
			COMPREPLY=($(compgen -W "add list revoke" -- "$cur"))
		elif ((nargs == 1)) && [[ $sub == revoke ]]; then
			local names
			names=$(_raftconfctl_query token list | awk '{ print $1 }')
			COMPREPLY=($(compgen -W "$names" -- "$cur"))
		fi
		;;
	esac
} &&
	complete -F _raftconfctl raftconfctl

# ex: filetype=sh
