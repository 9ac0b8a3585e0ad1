#!/bin/bash
# The zsh completion (completions/_deskrun) in a real `zsh -f`: compinit finds it on $fpath and
# registers it for deskrun; then (1) an interactive zsh on a pseudo-terminal (zsh/zpty) gets
# TAB typed after a partial command line, and the line it completes to is read back from a
# key binding that dumps $BUFFER; (2) the completion function is called with a fake words /
# CURRENT context and compadd / _files wrapped, to see the whole candidate lists (filtered by
# the typed prefix as zsh's matcher does). Commands, a subcommand's flags, global flags, runner
# names from the config file and mode names. Skipped, saying why, only when zsh is absent.
. "$SRCDIR/tests/lib/tap.sh"
if ! command -v zsh >/dev/null; then
	skip "zsh completion" "zsh is not installed (scripts/deps.sh installs it)"
	done_testing
	exit 0
fi
export DESKRUN_CONFIG=$TMP/config.json
for n in web worker api; do
	"$DESKRUN" add "$n" --repository "https://github.com/acme/$n" --auth-value-file "$SRCDIR/tests/data/token" >/dev/null 2>&1
done
mkdir -p "$TMP/bin"
ln -s "$DESKRUN" "$TMP/bin/deskrun"
export ZDOTDIR=$TMP/zdot HOME=$TMP/home
mkdir -p "$ZDOTDIR" "$HOME"

# ---- (1) TAB in an interactive zsh on a pty ----
cat >"$TMP/pty.zsh" <<'EOF'
zmodload zsh/zpty || exit 3
zpty z 'zsh -f -i'
zpty -w z "PS1='> '; PROMPT_EOL_MARK=''; unsetopt beep; fpath=($SRCDIR/completions \$fpath); autoload -Uz compinit; compinit -u -D; PATH=$TMPBIN:\$PATH"
zpty -w z 'dump() { print -r -- "$BUFFER" >>$DUMP; BUFFER= }; zle -N dump; bindkey "^T" dump'
zpty -w z 'print -r -- "$_comps[deskrun]" >$DUMP.comps'
for line in "$@"; do
	zpty -w -n z "$line"$'\t'
	sleep 0.5
	zpty -w -n z $'\x14'
	sleep 0.2
done
for _ in {1..50}; do
	[[ -f $DUMP && $(wc -l <$DUMP) -ge $# ]] && break
	sleep 0.1
done
zpty -d z
EOF
cases=("deskrun st" "deskrun doctor --no-n" "deskrun up wor" "deskrun add x --mode contai" "deskrun -q rend" "deskrun --qu" "deskrun cache pr" "deskrun help doc")
DUMP=$TMP/dump SRCDIR=$SRCDIR TMPBIN=$TMP/bin timeout 60 zsh -f "$TMP/pty.zsh" "${cases[@]}" >/dev/null 2>&1
check "compinit registers _deskrun for deskrun" eq "$(cat "$TMP/dump.comps" 2>/dev/null)" "_deskrun"
got() { sed -n "$1p" "$TMP/dump" 2>/dev/null; }
check "TAB: a command (deskrun st -> status)" eq "$(got 1)" "deskrun status "
check "TAB: a subcommand's flag (doctor --no-n -> --no-network)" eq "$(got 2)" "deskrun doctor --no-network "
check "TAB: a runner name from the config file (up wor -> worker)" eq "$(got 3)" "deskrun up worker "
check "TAB: a mode (--mode contai -> containerd-socket)" eq "$(got 4)" "deskrun add x --mode containerd-socket "
check "TAB: a command after the global -q" eq "$(got 5)" "deskrun -q render "
check "TAB: the global --quiet" eq "$(got 6)" "deskrun --quiet "
check "TAB: cache's subcommands" eq "$(got 7)" "deskrun cache prune "
check "TAB: help COMMAND" eq "$(got 8)" "deskrun help doctor "

# ---- (2) whole candidate lists through a compadd wrapper ----
cat >"$TMP/lists.zsh" <<'EOF'
fpath=($SRCDIR/completions $fpath)
autoload -Uz compinit && compinit -u -D
PATH=$TMPBIN:$PATH
typeset -ga ADDED
compadd() { # the options _deskrun uses: -a ARRAY-NAMES, and -- before words
	local -a a; a=("$@")
	local i=1 arr=0
	while (( i <= $#a )); do
		case $a[i] in
		-a) arr=1 ;;
		--) (( i++ )); break ;;
		-*) ;;
		*) break ;;
		esac
		(( i++ ))
	done
	local n
	if (( arr )); then for n in "${(@)a[i,-1]}"; do ADDED+=("${(@P)n}"); done
	else ADDED+=("${(@)a[i,-1]}"); fi
}
_files() { ADDED+=(FILES) }
comp() { # comp WORD... : the candidates for the last word, as zsh's prefix matcher keeps them
	words=(deskrun "$@"); CURRENT=$#words; ADDED=()
	_deskrun
	local cur=$words[CURRENT]
	print -r -- ${(o)${(M)ADDED:#${cur}*}}
}
case $1 in
every) comp '' ;;
*) shift; comp "$@" ;;
esac
EOF
zc() { SRCDIR=$SRCDIR TMPBIN=$TMP/bin zsh -f "$TMP/lists.zsh" x "$@" 2>&1; }
check "commands: d -> dind-entrypoint doctor down" eq "$(zc d)" "dind-entrypoint doctor down"
check "every command is offered" eq "$(SRCDIR=$SRCDIR TMPBIN=$TMP/bin zsh -f "$TMP/lists.zsh" every | wc -w)" "$("$DESKRUN" help | awk '/^commands:/{f=1;next} f&&/^  [a-z]/{print $1}' | wc -l)"
check "global flags: --" eq "$(zc --)" "--config --help --quiet --version"
check "a subcommand's flags: cache prune --" eq "$(zc cache prune --)" "$("$DESKRUN" cache --help | grep -oE -- '--[a-z][a-z0-9-]*' | sort -u | tr '\n' ' ' | sed 's/ $//')"
check "which include its own and the global ones" bash -c 'case " $1 " in *" --older-than "*" --quiet "*) exit 0 ;; esac; exit 1' _ "$(zc cache prune --)"
check "runner names: up w" eq "$(zc up w)" "web worker"
check "runner names: doctor ''" eq "$(zc doctor '')" "api web worker"
check "runner names of another --config" eq "$(DESKRUN_CONFIG=/nonexistent zc --config "$DESKRUN_CONFIG" status a)" "api"
check "modes: add x --mode d" eq "$(zc add x --mode d)" "dind dind-daemonset docker-socket"
check "modes: all six" eq "$(zc add x --mode '' | wc -w)" 6
check "--output values" eq "$(zc status -o '')" "json table yaml"
check "--config completes files" eq "$(zc --config '')" "FILES"
check "cache subcommands" eq "$(zc cache '')" "ls prune"
check "cache prune NAME: runner names" eq "$(zc cache prune w)" "web worker"
done_testing
