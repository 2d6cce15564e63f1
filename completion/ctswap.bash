# bash completion for ctswap(8) and its admin scripts.
# Subcommands, their options, and container names from the store's directories.

# The store in use: --store DIR on the line, else $CTSWAP_STORE, else the default.
_ctswap_store()
{
	local i
	for ((i = 1; i < ${#COMP_WORDS[@]} - 1; i++)); do
		case "${COMP_WORDS[i]}" in
		--store) echo "${COMP_WORDS[i + 1]}"; return ;;
		--store=*) echo "${COMP_WORDS[i]#--store=}"; return ;;
		esac
	done
	echo "${CTSWAP_STORE:-/var/lib/ctswap}"
}

# Container names: the store's sub-directories that are valid names.
_ctswap_names()
{
	local store d n
	store=$(_ctswap_store)
	for d in "$store"/*/; do
		[ -d "$d" ] || continue
		n=${d%/}
		n=${n##*/}
		[[ "$n" =~ ^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$ ]] && echo "$n"
	done
}

_ctswap()
{
	local cur prev cmd i opts
	local cmds="help inspect version dump restore run attach freeze thaw kill rm ps lazy-status check"
	cur=${COMP_WORDS[COMP_CWORD]}
	prev=${COMP_WORDS[COMP_CWORD - 1]}
	COMPREPLY=()

	# The subcommand is the first word that is neither an option nor --store's value.
	for ((i = 1; i < COMP_CWORD; i++)); do
		case "${COMP_WORDS[i]}" in
		--store) ((i++)) ;;
		-*) ;;
		*) cmd=${COMP_WORDS[i]}; break ;;
		esac
	done
	if [ "$prev" = --store ]; then
		COMPREPLY=($(compgen -d -- "$cur"))
		return
	fi
	if [ -z "$cmd" ]; then
		if [[ "$cur" == -* ]]; then
			COMPREPLY=($(compgen -W "--store --verbose --help" -- "$cur"))
		else
			COMPREPLY=($(compgen -W "$cmds" -- "$cur"))
		fi
		return
	fi
	case "$cmd" in
	run)
		# After "--" comes a command line: complete commands and files.
		for ((i = 2; i < COMP_CWORD; i++)); do
			if [ "${COMP_WORDS[i]}" = -- ]; then
				COMPREPLY=($(compgen -c -f -- "$cur"))
				return
			fi
		done
		case "$prev" in
		--log|--mount) COMPREPLY=($(compgen -f -- "$cur")); return ;;
		--rootfs) COMPREPLY=($(compgen -d -- "$cur")); return ;;
		--net) COMPREPLY=($(compgen -W "host none ns:" -- "$cur")); return ;;
		--hostname|--memory|--pids|--cpus) return ;;
		esac
		opts="--no-pidns --tty --log --rootfs --hostname --net --mount --memory --pids --cpus --" ;;
	attach) opts="--wait" ;;
	dump) opts="--leave-running --no-snapshot --pre --compress --keep --tcp-close --tcp-established --unix-close --max-deleted-size --max-checked-size --verbose" ;;
	restore)
		[ "$prev" = --net ] && { COMPREPLY=($(compgen -W "ns:" -- "$cur")); return; }
		[ "$prev" = --root ] && { COMPREPLY=($(compgen -d -- "$cur")); return; }
		opts="--eager --fill-working-set --gen --allow-changed-files --net --time-ns --root --ext-mount --threads --verbose" ;;
	freeze) opts="--timeout" ;;
	rm) opts="--force" ;;
	ps) opts="--json" ;;
	inspect) opts="--json --verify" ;;
	help) COMPREPLY=($(compgen -W "$cmds" -- "$cur")); return ;;
	lazy-status) COMPREPLY=($(compgen -d -- "$cur")); return ;;
	version|check) return ;;
	esac
	case "$prev" in
	--keep|--gen|--timeout|--wait|--max-deleted-size|--max-checked-size|--ext-mount) return ;;
	esac
	if [[ "$cur" == -* ]]; then
		COMPREPLY=($(compgen -W "$opts --help" -- "$cur"))
	elif [ "$cmd" != run ] || [ -z "$(_ctswap_after_cmd "$cmd")" ]; then
		COMPREPLY=($(compgen -W "$(_ctswap_names)" -- "$cur"))
	fi
}

# Non-option words after the subcommand (before the current one).
_ctswap_after_cmd()
{
	local i seen=
	for ((i = 1; i < COMP_CWORD; i++)); do
		if [ -n "$seen" ] && [[ "${COMP_WORDS[i]}" != -* ]]; then
			echo "${COMP_WORDS[i]}"
		fi
		[ "${COMP_WORDS[i]}" = "$1" ] && seen=1
	done
}

# The admin scripts: a container name first, then their options.
_ctswap_script()
{
	local cur=${COMP_WORDS[COMP_CWORD]} opts
	case "${COMP_WORDS[0]##*/}" in
	ctswap-periodic) opts="--every --keep --count --compress --help" ;;
	ctswap-migrate) opts="--remote-store --remote-ctswap --ssh --eager --compress --help" ;;
	ctswap-gc) COMPREPLY=($(compgen -W "--dry-run --tmp-age --help" -- "$cur")); return ;;
	esac
	if [[ "$cur" == -* ]]; then
		COMPREPLY=($(compgen -W "$opts" -- "$cur"))
	elif [ "$COMP_CWORD" = 1 ]; then
		COMPREPLY=($(compgen -W "$(_ctswap_names)" -- "$cur"))
	fi
}

complete -F _ctswap ctswap
complete -F _ctswap_script ctswap-periodic ctswap-migrate ctswap-gc
