#compdef raftconfctl
# zsh completion for raftconfctl(8)
#
# Installed as $(datadir)/zsh/site-functions/_raftconfctl, or loaded after
# compinit with `source <(raftconfctl completion zsh)`.  Completes what the
# bash one (raftconfctl.bash) does: the global options, the commands, each
# command's own options, and, by asking the local daemon (one --stale
# request, one second at most), keys for get/set/del/list/watch, member ids
# for remove/transfer and token names for token revoke.

# Talk to the same daemon as the command line being completed.
_raftconfctl_query() {
	local -a sock
	[[ -n $_raftconfctl_socket ]] && sock=(--socket "$_raftconfctl_socket")
	raftconfctl "${sock[@]}" --timeout 1 --dial-timeout 0 "$@" 2>/dev/null
}

_raftconfctl() {
	local -a commands global_opts found
	local _raftconfctl_socket=${RAFTCONF_SOCKET:-} cmd= sub= opts=
	local cur=${words[CURRENT]} prev=${words[CURRENT-1]}
	integer i nargs=0

	commands=(
		'get:print the value of a key'
		'set:set a key'
		'del:delete a key'
		'txn:a transaction read from stdin'
		'list:list keys under a prefix'
		'watch:print (or run a command on) changes under a prefix'
		'status:this node'
		'members:every member'
		'join:join the cluster at an address'
		'remove:remove a member'
		'snapshot:take a snapshot now'
		'backup:a consistent copy of the whole store into a file'
		'transfer:hand leadership over'
		'token:HTTP tokens: add, list, revoke'
		'completion:print the completion script for bash or zsh'
	)
	global_opts=(--socket --json --write-out --timeout --dial-timeout --version --help -s -j -w -t -h)

	# Find the command and the socket, skipping the global options' arguments.
	for ((i = 2; i < CURRENT; i++)); do
		case ${words[i]} in
		(-s|--socket)
			_raftconfctl_socket=${words[i+1]}
			((i++))
			;;
		(--socket=*) _raftconfctl_socket=${words[i]#--socket=} ;;
		(-t|--timeout|--dial-timeout|-w|--write-out) ((i++)) ;;
		(-*) ;;
		(*)
			cmd=${words[i]}
			break
			;;
		esac
	done

	if [[ -z $cmd ]]; then
		case $prev in
		(-s|--socket) _files; return ;;
		(-t|--timeout|--dial-timeout) _message 'duration (5, 5s, 500ms, 1m)'; return ;;
		(-w|--write-out) compadd -- json text table; return ;;
		esac
		if [[ $cur == -* ]]; then
			compadd -- $global_opts
		else
			_describe -t commands 'raftconfctl command' commands
		fi
		return
	fi

	# Arguments of the command so far (its options are not arguments).
	for ((i = i + 1; i < CURRENT; i++)); do
		case ${words[i]} in
		(--exec|--prefix|--if-rev|--from-rev|--limit|-s|--socket|-t|--timeout|--dial-timeout|-w|--write-out)
			((i++))
			;;
		(-j|--*) ;;
		(*)
			((nargs++ == 0)) && sub=${words[i]}
			;;
		esac
	done

	if [[ $cmd == watch && $prev == --exec ]]; then
		_command_names -e
		return
	fi
	[[ $cmd == token && $prev == --prefix ]] && return	# any key prefix
	[[ $prev == --if-rev || $prev == --from-rev ]] && return	# a revision
	[[ $prev == --limit ]] && return	# a number of keys

	case $cmd in
	(get) opts=--stale ;;
	(list) opts='--stale --keys-only --limit --count' ;;
	(set) opts=--if-rev ;;
	(del) opts='--if-rev --prefix --all' ;;
	(watch) opts='--from-rev --exec' ;;
	(join) opts=--learner ;;
	(remove) opts=--force ;;
	(status) opts=--cluster ;;
	(token) [[ $sub == add ]] && opts='--prefix --read --write' ;;
	esac
	if [[ $cur == -* ]]; then
		[[ -n $opts ]] && compadd -- ${=opts}
		return
	fi

	case $cmd in
	(get|set|del|list|watch)
		# The key (first argument, or del's --prefix) only; a value is the user's to type.
		((nargs == 0)) || return
		found=(${(f)"$(_raftconfctl_query list --stale --keys-only "$cur")"})
		compadd -- $found
		;;
	(remove|transfer)
		((nargs == 0)) || return
		found=(${(f)"$(_raftconfctl_query members | awk 'NR > 1 { print $1 }')"})
		compadd -- $found
		;;
	(backup)
		((nargs == 0)) && _files
		;;
	(token)
		if ((nargs == 0)); then
			compadd -- add list revoke
		elif ((nargs == 1)) && [[ $sub == revoke ]]; then
			found=(${(f)"$(_raftconfctl_query token list | awk '{ print $1 }')"})
			compadd -- $found
		fi
		;;
	(completion)
		((nargs == 0)) && compadd -- bash zsh
		;;
	esac
}

# Autoloaded from fpath, this file is _raftconfctl's body: complete now.
# Sourced, it defines the functions and registers them.
if [[ ${funcstack[1]:-} == _raftconfctl ]]; then
	_raftconfctl "$@"
else
	compdef _raftconfctl raftconfctl
fi
