package commands

import (
	"path"
	"regexp"
	"strings"
)

// wrapperSpec describes a command that runs (part of) its arguments as
// another command: sudo rm ..., timeout 5 rm ..., flock F -c 'rm ...'.
// The analyzer strips wrappers so that rules see the command that runs.
type wrapperSpec struct {
	argOpts  string   // short options that take a value (-u USER)
	longArgs []string // long options that take a value when not written --opt=value
	code     string   // short options whose value is shell code (su -c CODE)
	codeLong []string // long options whose value is shell code (--command CODE)
	operands int      // operands before the command (timeout DURATION, chroot DIR, flock FILE)
	sub      string   // required first operand (uv run ..., bundle exec ...)
	// codeOnly: only a code option runs a command; other operands are not
	// a command (su USER, script FILE).
	codeOnly bool
	// noOperands lists short options after which there are no operands
	// and the command follows the options (runuser -u USER -- CMD).
	noOperands string
	joined     bool   // the remaining words are joined with spaces and run by sh -c (watch, sg)
	privileged bool   // runs the command as another user (sudo, doas, su, ...)
	stdinArgs  bool   // appends arguments read from stdin (xargs, parallel)
	replace    string // short option whose value is the placeholder for a stdin argument (xargs -I)
	argSep     bool   // parallel: arguments follow ::: after the command
	lookup     string // short options that only look the command up (command -v)
	doc        string // shown in the README wrapper table
}

// wrappers is THE table of commands that run their arguments as a command.
// Everything that strips wrappers (the parser, the textual fallback, the
// download check) goes through it; keep the README's list in step (a test
// checks).
var wrappers = map[string]wrapperSpec{
	"sudo":   {argOpts: "ugGhpCDrtTUR", longArgs: []string{"user", "group", "host", "prompt", "close-from", "chdir", "role", "type", "command-timeout", "other-user", "chroot"}, privileged: true},
	"doas":   {argOpts: "uC", privileged: true},
	"pkexec": {longArgs: []string{"user"}, privileged: true},
	"su": {argOpts: "sgGw", longArgs: []string{"shell", "group", "supp-group", "whitelist-environment"},
		code: "c", codeLong: []string{"command"}, operands: 1, codeOnly: true, privileged: true, doc: "-c CODE"},
	"runuser": {argOpts: "ugGsw", longArgs: []string{"user", "group", "supp-group", "shell", "whitelist-environment"},
		code: "c", codeLong: []string{"command"}, operands: 1, codeOnly: true, noOperands: "u", privileged: true, doc: "-u USER CMD, or -c CODE"},
	"sg":               {code: "c", operands: 1, joined: true, doc: "GROUP CMD or GROUP -c CODE"},
	"env":              {argOpts: "uCP", longArgs: []string{"unset", "chdir"}, code: "S", codeLong: []string{"split-string"}, doc: "VAR=val, -S STRING"},
	"nohup":            {},
	"builtin":          {},
	"busybox":          {},
	"setsid":           {},
	"unbuffer":         {},
	"eatmydata":        {},
	"fakeroot":         {argOpts: "lsi", longArgs: []string{"lib", "faked"}},
	"catchsegv":        {},
	"nocache":          {},
	"chronic":          {},
	"torsocks":         {},
	"proxychains":      {argOpts: "f"},
	"proxychains4":     {argOpts: "f"},
	"caffeinate":       {argOpts: "tw"},
	"ssh-agent":        {argOpts: "aEPt"},
	"dbus-run-session": {longArgs: []string{"config-file", "dbus-daemon"}},
	"time":             {argOpts: "fo", longArgs: []string{"format", "output"}},
	"nice":             {argOpts: "n", longArgs: []string{"adjustment"}},
	"ionice":           {argOpts: "cnpPu", longArgs: []string{"class", "classdata", "pid", "pgid", "uid"}},
	"chrt":             {argOpts: "TPD", longArgs: []string{"sched-runtime", "sched-period", "sched-deadline"}, operands: 1, doc: "PRIORITY CMD"},
	"taskset":          {operands: 1, doc: "MASK CMD"},
	"numactl":          {argOpts: "iNmCpP", longArgs: []string{"interleave", "cpunodebind", "membind", "physcpubind", "preferred"}},
	"prlimit":          {argOpts: "p", longArgs: []string{"pid"}},
	"timeout":          {argOpts: "sk", longArgs: []string{"signal", "kill-after"}, operands: 1, doc: "DURATION CMD"},
	"stdbuf":           {argOpts: "ioe", longArgs: []string{"input", "output", "error"}},
	"command":          {lookup: "vV"},
	"exec":             {argOpts: "a"},
	"flock":            {argOpts: "wEW", longArgs: []string{"timeout", "conflict-exit-code"}, code: "c", codeLong: []string{"command"}, operands: 1, doc: "FILE CMD or FILE -c CODE"},
	"chroot":           {longArgs: []string{"userspec", "groups"}, operands: 1, doc: "DIR CMD"},
	"unshare":          {argOpts: "SGRw", longArgs: []string{"setuid", "setgid", "root", "wd"}},
	"nsenter":          {argOpts: "tSG", longArgs: []string{"target", "setuid", "setgid"}},
	"setpriv":          {longArgs: []string{"reuid", "regid", "groups", "inh-caps", "ambient-caps", "bounding-set", "securebits", "selinux-label", "apparmor-profile"}},
	"strace":           {argOpts: "abeEIoOpPsSuUX", longArgs: []string{"output", "signal", "trace", "user", "env", "attach"}},
	"ltrace":           {argOpts: "aAeEfFlnopsuwx", longArgs: []string{"output", "library"}},
	"valgrind":         {},
	"watch":            {argOpts: "n", longArgs: []string{"interval"}, joined: true, doc: "[-n SECS] CMD (run by sh -c)"},
	"script":           {argOpts: "IOBTEm", longArgs: []string{"log-in", "log-out", "log-io", "log-timing", "echo", "logging-format"}, code: "c", codeLong: []string{"command"}, codeOnly: true, doc: "-c CODE"},
	"systemd-run":      {argOpts: "pEMHu", longArgs: []string{"property", "setenv", "machine", "host", "unit", "description", "slice", "uid", "gid", "nice", "working-directory"}},
	"xvfb-run":         {argOpts: "nsfep", longArgs: []string{"server-num", "server-args", "auth-file", "error-file", "xauth-protocol"}},
	"faketime":         {operands: 1, doc: "TIME CMD"},
	"firejail":         {},
	"sandbox-exec":     {argOpts: "fpnD"},
	"arch":             {},
	"nix-shell":        {codeLong: []string{"run", "command"}, codeOnly: true, doc: "--run CODE"},
	"uv":               {sub: "run", argOpts: "p", longArgs: []string{"with", "python", "project", "directory", "package", "extra", "group", "env-file"}, doc: "run CMD"},
	"poetry":           {sub: "run", doc: "run CMD"},
	"pipenv":           {sub: "run", doc: "run CMD"},
	"bundle":           {sub: "exec", doc: "exec CMD"},
	"conda":            {sub: "run", argOpts: "np", longArgs: []string{"name", "prefix", "cwd"}, doc: "run CMD"},
	"mamba":            {sub: "run", argOpts: "np", longArgs: []string{"name", "prefix", "cwd"}, doc: "run CMD"},
	"micromamba":       {sub: "run", argOpts: "np", longArgs: []string{"name", "prefix", "cwd"}, doc: "run CMD"},
	"direnv":           {sub: "exec", operands: 1, doc: "exec DIR CMD"},
	"xargs": {argOpts: "aEdILnPs", longArgs: []string{"arg-file", "delimiter", "max-lines", "max-args", "max-procs", "max-chars", "process-slot-var", "eof"},
		stdinArgs: true, replace: "I", doc: "CMD with arguments from stdin"},
	"parallel": {argOpts: "jIPSaCdEnNL", longArgs: []string{"jobs", "arg-file", "delimiter", "colsep", "joblog", "results", "tmpdir", "workdir", "sshlogin", "timeout", "max-args", "max-replace-args"},
		stdinArgs: true, replace: "I", argSep: true, doc: "CMD ::: ARGS, or arguments from stdin"},
}

// Unwrapped is the command a (possibly wrapped) argv runs.
type Unwrapped struct {
	// Argv is orig[Start:End], the command that runs after wrappers and
	// leading VAR=val assignments are stripped; when a wrapper is given
	// code instead (su -c CODE), Argv is that wrapper's own argv.
	Argv       []string
	Start, End int
	Privileged bool
	// Code is shell code a wrapper runs (env -S, su -c, script -c,
	// flock -c, watch CMD...); it came from orig[CodeFrom:CodeTo].
	Code             string
	HasCode          bool
	CodeFrom, CodeTo int
	// StdinArgs: the command gets more arguments from stdin (xargs,
	// parallel) unless Items is set (parallel ::: ITEMS).
	StdinArgs bool
	Replace   string // placeholder for an argument (xargs -I{}, parallel {})
	Items     []string
	HasItems  bool
}

// Unwrap strips the wrappers of the table from argv, with their options.
// When a wrapper has nothing after it, the wrapper itself is the command.
func Unwrap(orig []string) (u Unwrapped) {
	start, end := 0, len(orig)
	for range 32 {
		for start < end && assignRe.MatchString(orig[start]) {
			start++
		}
		if start == end {
			break
		}
		spec, ok := wrappers[path.Base(orig[start])]
		if !ok {
			break
		}
		st, ok := spec.parse(orig[start+1 : end])
		if !ok {
			break
		}
		u.Privileged = u.Privileged || spec.privileged
		if st.hasCode {
			u.Argv, u.Start, u.End = orig[start:end], start, end
			u.Code, u.HasCode = st.code, true
			u.CodeFrom, u.CodeTo = start+1+st.codeFrom, start+1+st.codeTo
			return u
		}
		if spec.stdinArgs {
			u.StdinArgs = true
			if st.replace != "" {
				u.Replace = st.replace
			}
			if st.hasItems {
				u.Items, u.HasItems = st.items, true
			}
		}
		start, end = start+1+st.cmd, start+1+st.cmdEnd
	}
	u.Argv, u.Start, u.End = orig[start:end], start, end
	if len(u.Argv) == 0 {
		u.Argv = nil
	}
	return u
}

// wrapStep is what one wrapper's arguments say; indexes are into args.
type wrapStep struct {
	cmd, cmdEnd      int
	code             string
	hasCode          bool
	codeFrom, codeTo int
	replace          string
	items            []string
	hasItems         bool
}

// parse reads a wrapper's arguments. ok is false when no command follows
// (the wrapper itself is then the command).
func (w wrapperSpec) parse(args []string) (st wrapStep, ok bool) {
	i := 0
	if w.sub != "" {
		// uv run [options] CMD: options of uv itself may come first.
		i = w.options(args, 0, &st, new(bool))
		if i < 0 || i >= len(args) || args[i] != w.sub {
			return st, false
		}
		i++
	}
	operands := w.operands
	noOps := false
	i = w.options(args, i, &st, &noOps)
	if st.hasCode || i < 0 {
		return st, st.hasCode
	}
	if noOps {
		operands = 0
	}
	for range operands {
		if i >= len(args) {
			return st, false
		}
		i++
		// Options may follow the operands (su USER -c CODE, flock F -c CODE).
		i = w.options(args, i, &st, &noOps)
		if st.hasCode || i < 0 {
			return st, st.hasCode
		}
	}
	if w.codeOnly && !noOps {
		return st, false
	}
	if i >= len(args) {
		return st, false
	}
	if w.joined {
		st.code, st.hasCode, st.codeFrom, st.codeTo = strings.Join(args[i:], " "), true, i, len(args)
		return st, true
	}
	st.cmd, st.cmdEnd = i, len(args)
	if w.argSep {
		for j := i; j < len(args); j++ {
			if strings.HasPrefix(args[j], ":::") {
				st.cmdEnd = j
				if args[j] == ":::" || args[j] == ":::+" {
					st.items, st.hasItems = collectItems(args[j+1:]), true
				}
				break
			}
		}
		if st.replace == "" {
			st.replace = "{}"
		}
		if st.cmdEnd == st.cmd {
			return st, false
		}
	}
	return st, true
}

// collectItems returns the arguments after parallel's ::: up to the next
// separator that reads from files (::::), skipping further ::: separators.
func collectItems(args []string) []string {
	var out []string
	for _, a := range args {
		switch {
		case a == ":::" || a == ":::+":
			continue
		case strings.HasPrefix(a, "::::"):
			return out
		}
		out = append(out, a)
	}
	return out
}

// options skips getopt-style options from args[i]. It records code options
// and replace strings in st and reports options of w.noOperands. It returns
// the index of the first non-option word, or -1 when an option means that
// nothing is run (command -v).
func (w wrapperSpec) options(args []string, i int, st *wrapStep, noOps *bool) int {
	for i < len(args) {
		a := args[i]
		if a == "--" {
			return i + 1
		}
		if a == "-" { // su -, env -: a login/empty environment marker
			i++
			continue
		}
		if len(a) < 2 || a[0] != '-' {
			return i
		}
		i++
		if strings.HasPrefix(a, "--") {
			name, val, hasVal := strings.Cut(a[2:], "=")
			if contains(w.codeLong, name) {
				if hasVal {
					st.code, st.hasCode, st.codeFrom, st.codeTo = val, true, i-1, i
				} else if i < len(args) {
					st.code, st.hasCode, st.codeFrom, st.codeTo = args[i], true, i, i+1
				}
				return i
			}
			if w.stdinArgs && name == "replace" {
				st.replace = "{}"
				if hasVal {
					st.replace = val
				}
				continue
			}
			if !hasVal && contains(w.longArgs, name) {
				i++
			}
			continue
		}
		for j := 1; j < len(a); j++ {
			c := a[j]
			if strings.IndexByte(w.lookup, c) >= 0 {
				return -1
			}
			if strings.IndexByte(w.noOperands, c) >= 0 {
				*noOps = true
			}
			if strings.IndexByte(w.code, c) >= 0 {
				if j+1 < len(a) {
					st.code, st.hasCode, st.codeFrom, st.codeTo = a[j+1:], true, i-1, i
				} else if i < len(args) {
					st.code, st.hasCode, st.codeFrom, st.codeTo = args[i], true, i, i+1
				}
				return i
			}
			if w.stdinArgs && c == 'i' && w.replace != "" {
				// xargs -i[R]: like -I with {} as the default.
				st.replace = "{}"
				if j+1 < len(a) {
					st.replace = a[j+1:]
				}
				break
			}
			if strings.IndexByte(w.argOpts, c) >= 0 {
				val := ""
				if j+1 < len(a) {
					val = a[j+1:]
				} else if i < len(args) {
					val = args[i]
					i++
				}
				if strings.IndexByte(w.replace, c) >= 0 {
					st.replace = val
				}
				break
			}
		}
	}
	return i
}

func contains(list []string, s string) bool {
	for _, l := range list {
		if l == s {
			return true
		}
	}
	return false
}

// assignRe matches a leading VAR=val (or VAR+=val) word.
var assignRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*\+?=`)
