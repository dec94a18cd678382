// Package shell reads a Bash command line the way Bash would run it, for the
// Bash rules of the policy engine.
//
// The policy engine (daemon/policy) does not match Bash rules against the
// raw command string. Analyze parses it with mvdan.cc/sh (bash dialect) and
// every simple command is extracted: across ; && || | & and newlines, inside
// ( ) and { } groups, $(...) and backticks, <(...) and >(...),
// if/while/until/for/case bodies and function bodies. Code run by
// bash/sh/zsh -c '...', eval '...', a heredoc or here-string fed to a shell,
// and echo/printf '...' | sh is re-parsed recursively (up to 5 levels;
// deeper code is split textually). Wrapper prefixes are stripped with their
// options, from one table (daemon/policy/internal/commands): sudo, doas, su
// -c, runuser, sg, env (and its VAR=val, -S), nohup, time, nice, ionice,
// timeout, setsid, flock, chroot, watch, script -c, unbuffer, stdbuf,
// taskset, uv run, xargs, parallel and more, as are leading VAR=val
// assignments.
//
// Values visible in the same command line are followed: variables assigned
// earlier (t=/; rm -rf $t), loop items (for d in / ~), function arguments
// (f(){ rm -rf "$1"; }; f /), sh -c arguments and set --. A variable
// assigned on some paths only (an if branch, a subshell, the right side of
// &&) keeps each of its values and the command is read with each. Brace
// lists are expanded ({rm,-rf,/} gives rm -rf /), and xargs/parallel
// commands whose input is known (echo, printf, a here-string, find, :::) are
// listed with that input (echo / | xargs rm -rf gives rm -rf /).
//
// Each simple command is normalized to its words joined by single spaces
// with quoting removed from literal text (rm -rf "/" -> rm -rf /, \rm -> rm,
// $'\x72m' -> rm, ${HOME} -> $HOME; a word that still contains whitespace is
// quoted). The rule's regex is applied to each of them, so ^rm\s catches
// "ls; rm -rf /", "echo ok && sudo rm -rf ~", "$(rm -rf /)" and "bash -c 'rm
// -rf /'", but not grep "rm -rf /" notes.txt or echo 'rm -rf ~', where the
// text is only an argument. Split returns them.
//
// What a static reading cannot know is reported instead of guessed: Computed
// (the special computed_command) holds when the command name comes from a
// command substitution, an unknown variable or a glob, eval or sh -c run
// non-literal text, code is piped into a shell or interpreter, source or
// bash read <(...), IFS is used or assigned, a brace expansion produces the
// command, rm -r gets a computed target (rm -rf "$(...)", rm -rf "$DIR/"),
// xargs feeds rm -r unknown input, or the line is too large to follow. The
// default rules ask then.
//
// Command lines that are not valid Bash (which bash would refuse to run as
// well), and code nested deeper than the re-parse bound, are split textually
// on ; && || | & and newlines; in each piece quotes and backslashes become
// word breaks, wrappers are stripped and sh -c / eval layers are peeled off.
// The pieces are still matched, so parse failures never silently allow.
//
// Known limits: values from outside the command line (environment, aliases,
// functions defined earlier in the session) are unknown, scripts run from
// files are not inspected unless the same line wrote them with echo, printf
// or cat (echo 'rm -rf /' > x.sh; bash x.sh is read), code given to
// interpreters is only scanned for deleting or command-running calls,
// symlinks are not resolved, and a command made up at run time is asked
// about, not judged.
//
// "cd / && rm -rf *" is denied through CdDangerousRm (the special
// cd_dangerous_rm, rule deny-cd-rm-wildcard): after a cd to /, ~, $HOME or a
// top-level system directory (or a bare cd), a later rm -r of *, ., ./* or
// .* in the same command line is denied. The tracking is conservative and
// not scoped to subshells. A bare "rm -rf *" or "cd build && rm -rf *"
// (relative to the project) gets no opinion.
package shell
