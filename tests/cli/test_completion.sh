#!/bin/bash
# The bash completion (completions/deskrun.bash), sourced as bash-completion would: COMPREPLY
# for commands, a command's flags, runner names from the config, modes, cache subcommands; the
# zsh completion parses (when zsh is installed); both are installed by meson.
. "$SRCDIR/tests/lib/tap.sh"
export DESKRUN_CONFIG=$TMP/config.json
"$DESKRUN" add web --repository https://github.com/acme/web --auth-value-file "$SRCDIR/tests/data/token" >/dev/null 2>&1
"$DESKRUN" add worker --repository https://github.com/acme/worker --auth-value-file "$SRCDIR/tests/data/token" >/dev/null 2>&1
"$DESKRUN" add api --repository https://github.com/acme/api --auth-value-file "$SRCDIR/tests/data/token" >/dev/null 2>&1

. "$SRCDIR/completions/deskrun.bash"
check "the completion registers for deskrun" contains "$(complete -p deskrun)" "-F _deskrun"
# comp WORD... : complete the last word of the command line "deskrun WORD..."
comp() {
	COMP_WORDS=("$DESKRUN" "$@")
	COMP_CWORD=$(($# ))
	COMPREPLY=()
	_deskrun
	printf '%s\n' "${COMPREPLY[@]}" | sort | tr '\n' ' ' | sed 's/ $//'
}
check "commands: st -> status" eq "$(comp st)" "status"
check "commands: d -> dind-entrypoint doctor down" eq "$(comp d)" "dind-entrypoint doctor down"
check "every command is offered" eq "$(comp '' | wc -w)" "$("$DESKRUN" help | awk '/^commands:/{f=1;next} f&&/^  [a-z]/{print $1}' | wc -l)"
check "global flags" eq "$(comp --c)" "--config"
check "a command's flags: doctor --n" eq "$(comp doctor --n)" "--no-network"
check "a command's flags: cache prune --" contains "$(comp cache prune --)" "--older-than"
check "runner names: up w" eq "$(comp up w)" "web worker"
check "runner names: doctor a" eq "$(comp doctor a)" "api"
check "modes: add x --mode d" eq "$(comp add x --mode d)" "dind dind-daemonset docker-socket"
check "modes: every mode" eq "$(comp add x --mode '' | wc -w)" 6
check "cache subcommands" eq "$(comp cache p)" "prune"
check "cache prune NAME: runner names" eq "$(comp cache prune w)" "web worker"
check "--output values" eq "$(comp status --output j)" "json"
check "help COMMAND" eq "$(comp help doc)" "doctor"
check "--config names another config for runner names" eq "$(DESKRUN_CONFIG=/nonexistent comp --config "$DESKRUN_CONFIG" up a)" "api"

if command -v zsh >/dev/null; then
	check "the zsh completion parses" zsh -n "$SRCDIR/completions/_deskrun"
else
	skip "the zsh completion parses" "zsh is not installed"
fi
check "the zsh completion is a #compdef file for deskrun" eq "$(head -1 "$SRCDIR/completions/_deskrun")" "#compdef deskrun"

# meson installs both where bash-completion and zsh look.
if [ -n "${BUILDDIR:-}" ] && command -v meson >/dev/null; then
	run meson install -C "$BUILDDIR" --destdir "$TMP/dest" --no-rebuild --only-changed
	check "meson install succeeds" eq "$RC" 0
	check "bash completion installed" test -f "$(find "$TMP/dest" -path '*/bash-completion/completions/deskrun' | head -1)"
	check "zsh completion installed" test -n "$(find "$TMP/dest" -path '*/zsh/vendor-completions/_deskrun')"
	if [ -f "$BUILDDIR/deskrun-doctor.1" ]; then
		check "man pages installed, doctor's among them" test -n "$(find "$TMP/dest" -name 'deskrun-doctor.1')"
	else
		skip "man pages installed" "this build has -Dman=disabled"
	fi
fi
done_testing
