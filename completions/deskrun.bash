# bash completion for deskrun: commands, each command's flags, runner names and modes.
# Everything is asked of deskrun itself, so it never goes stale: the commands from
# `deskrun help`, a command's flags from `deskrun CMD --help`, runner names from `deskrun list`,
# modes from the error `deskrun add` gives for an unknown one.

_deskrun_config_args() {
	local i
	for ((i = 1; i < ${#COMP_WORDS[@]} - 1; i++)); do
		case ${COMP_WORDS[i]} in
		--config) printf '%s\n' --config "${COMP_WORDS[i + 1]}" ;;
		--config=*) printf '%s\n' "${COMP_WORDS[i]}" ;;
		esac
	done
}

_deskrun() {
	local cur prev cmd i
	cur=${COMP_WORDS[COMP_CWORD]}
	prev=${COMP_WORDS[COMP_CWORD - 1]}
	local bin=${COMP_WORDS[0]}
	local -a cfg
	mapfile -t cfg < <(_deskrun_config_args)
	cmd=
	for ((i = 1; i < COMP_CWORD; i++)); do
		case ${COMP_WORDS[i]} in
		--config) ((i++)) ;;
		-*) ;;
		*) cmd=${COMP_WORDS[i]}; break ;;
		esac
	done
	if [ -z "$cmd" ]; then
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W "--config --help --quiet --version" -- "$cur"))
		elif [ "$prev" = --config ]; then
			COMPREPLY=($(compgen -f -- "$cur"))
		else
			COMPREPLY=($(compgen -W "$("$bin" help 2>/dev/null | awk '/^commands:/{f=1;next} f&&/^  [a-z]/{print $1}')" -- "$cur"))
		fi
		return 0
	fi
	case $prev in
	--mode | -m)
		COMPREPLY=($(compgen -W "$("$bin" "${cfg[@]}" add _ --repository https://github.com/_/_ --mode _ 2>&1 | sed -n 's/.*unknown mode: use //p' | tr '|' ' ')" -- "$cur"))
		return 0 ;;
	--output | -o)
		COMPREPLY=($(compgen -W "table json yaml" -- "$cur"))
		return 0 ;;
	--provider)
		COMPREPLY=($(compgen -W "kind k3s existing local" -- "$cur"))
		return 0 ;;
	--auth-type)
		COMPREPLY=($(compgen -W "pat github-app" -- "$cur"))
		return 0 ;;
	--docker-storage)
		COMPREPLY=($(compgen -W "ephemeral hostpath pvc" -- "$cur"))
		return 0 ;;
	--config | --auth-value-file | --private-key-file | --kubeconfig | --pool | --host-cache-dir | --context-dir | --ready-file)
		COMPREPLY=($(compgen -f -- "$cur"))
		return 0 ;;
	--unit-dir | --state-dir)
		COMPREPLY=($(compgen -d -- "$cur"))
		return 0 ;;
	esac
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$("$bin" "$cmd" --help 2>/dev/null | grep -oE -- '--[a-z][a-z0-9-]*' | sort -u)" -- "$cur"))
		return 0
	fi
	case $cmd in
	help)
		COMPREPLY=($(compgen -W "$("$bin" help 2>/dev/null | awk '/^commands:/{f=1;next} f&&/^  [a-z]/{print $1}')" -- "$cur")) ;;
	cache)
		if [ "$COMP_CWORD" -eq $((i + 1)) ]; then
			COMPREPLY=($(compgen -W "ls prune" -- "$cur"))
		else
			COMPREPLY=($(compgen -W "$("$bin" "${cfg[@]}" list 2>/dev/null | awk 'NR > 1 {print $1}')" -- "$cur"))
		fi ;;
	cluster)
		COMPREPLY=($(compgen -W "create status delete" -- "$cur")) ;;
	config)
		COMPREPLY=($(compgen -W "get set show" -- "$cur")) ;;
	add | remove | render | up | down | status | doctor)
		COMPREPLY=($(compgen -W "$("$bin" "${cfg[@]}" list 2>/dev/null | awk 'NR > 1 {print $1}')" -- "$cur")) ;;
	esac
	return 0
}
complete -F _deskrun deskrun
