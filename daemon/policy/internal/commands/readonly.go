package commands

import (
	"slices"
	"strings"
)

// readOnlyCommands are commands that only read files or report state, with
// the options that would make them write, run other programs or change
// state: ReadOnly refuses an argument equal to one of them, or starting
// with one that ends in '=' or is a short option taking an attached value.
// A command whose options cannot be listed that way has a check function
// instead (see readOnlyChecks).
var readOnlyCommands = map[string][]string{
	"ls": nil, "cat": nil, "head": nil, "tail": nil, "wc": nil, "pwd": nil,
	"echo": nil, "true": nil, "false": nil, "basename": nil, "dirname": nil,
	"realpath": nil, "readlink": nil, "stat": nil, "du": nil,
	"df": nil, "whoami": nil, "id": nil, "uname": nil, "which": nil,
	"nl": nil, "cut": nil, "tr": nil, "seq": nil, "cmp": nil, "comm": nil,
	"diff": nil, "md5sum": nil, "sha1sum": nil, "sha256sum": nil, "sha512sum": nil,
	"cksum": nil, "column": nil, "jq": nil, "test": nil, "[": nil,
	"grep": nil, "egrep": nil, "fgrep": nil,
	// rg --pre runs a program on every file searched.
	"rg": {"--pre", "--pre="},
	// sort -o / --output writes a file; --compress-program runs one.
	"sort": {"-o", "--output", "--output=", "--compress-program", "--compress-program="},
	// tree -o writes its listing to a file.
	"tree": {"-o"},
	// file -C compiles a magic file (writes magic.mgc).
	"file": {"-C", "--compile"},
	// date -s / --set sets the clock.
	"date": {"-s", "--set", "--set="},
}

// readOnlyChecks are commands whose read-only use depends on more than a
// list of refused options.
var readOnlyChecks = map[string]func(args []string) bool{
	"find": findReadOnly,
	"git":  gitReadOnly,
}

// ReadOnly reports whether one simple command (its argv after wrappers
// were stripped) only reads: a command of the read-only table, named
// without a path (./ls or /tmp/x/cat may be anything), with no option that
// writes or runs something else. It knows nothing about redirections or
// the rest of the line (see shell.Analysis.ReadOnly).
func ReadOnly(argv []string) bool {
	if len(argv) == 0 || strings.ContainsRune(argv[0], '/') {
		return false
	}
	args := argv[1:]
	if check, ok := readOnlyChecks[argv[0]]; ok {
		return check(args)
	}
	refused, ok := readOnlyCommands[argv[0]]
	if !ok {
		return false
	}
	for _, a := range args {
		if a == "--" {
			break
		}
		if refusedOption(a, refused) {
			return false
		}
	}
	return true
}

// refusedOption: a is one of refused, or carries its value attached
// (--output=x, -ox).
func refusedOption(a string, refused []string) bool {
	for _, r := range refused {
		switch {
		case a == r:
			return true
		case strings.HasSuffix(r, "=") && strings.HasPrefix(a, r):
			return true
		case len(r) == 2 && r[0] == '-' && r[1] != '-' && len(a) > 1 && a[0] == '-' && a[1] != '-' && strings.ContainsRune(a[1:], rune(r[1])):
			// A short option in a cluster (-no, -rnofile).
			return true
		}
	}
	return false
}

// findActions are find's primaries that delete, write files or run
// programs.
var findActions = []string{"-delete", "-exec", "-execdir", "-ok", "-okdir", "-fprint", "-fprint0", "-fprintf", "-fls"}

func findReadOnly(args []string) bool {
	for _, a := range args {
		if slices.Contains(findActions, a) {
			return false
		}
	}
	return true
}

// gitReadOnlySubs are git subcommands that only read, with the options
// that write a file (--output) or run a program (--ext-diff, a pager or
// textconv driver set on the command line is refused with -c).
var gitReadOnlySubs = map[string][]string{
	"status": nil, "log": nil, "diff": nil, "show": nil, "blame": nil,
	"rev-parse": nil, "ls-files": nil, "shortlog": nil, "describe": nil,
	"grep":   {"-O", "--open-files-in-pager", "--open-files-in-pager="},
	"branch": nil, "tag": nil, "remote": nil,
}

func gitReadOnly(args []string) bool {
	// Global options: -C <dir> and --no-pager only. -c, --config-env,
	// --exec-path and the like can make git run any program.
	for len(args) > 0 && strings.HasPrefix(args[0], "-") {
		switch {
		case args[0] == "--no-pager":
			args = args[1:]
		case args[0] == "-C" && len(args) > 1:
			args = args[2:]
		default:
			return false
		}
	}
	if len(args) == 0 {
		return false
	}
	sub, rest := args[0], args[1:]
	refused, ok := gitReadOnlySubs[sub]
	if !ok {
		return false
	}
	refused = append(refused, "--output", "--output=", "--ext-diff")
	for _, a := range rest {
		if a == "--" {
			break
		}
		if refusedOption(a, refused) {
			return false
		}
	}
	switch sub {
	case "branch", "tag":
		return listingOnly(rest, sub)
	case "remote":
		// git remote, git remote -v, git remote show/get-url NAME.
		ops := Operands(rest, false)
		return len(ops) == 0 || ops[0] == "show" || ops[0] == "get-url"
	}
	return true
}

// listingOptions are the options of git branch / git tag that list; any
// other option (-d, -D, -m, -f, -a for an annotated tag, --set-upstream-to,
// --edit-description, ...) is refused, and a name given without a listing
// option would create a branch or tag.
var listingOptions = map[string]bool{
	"-a": true, "--all": true, "-r": true, "--remotes": true, "-v": true, "-vv": true,
	"--verbose": true, "-l": true, "--list": true, "--show-current": true,
	"--contains": true, "--no-contains": true, "--merged": true, "--no-merged": true,
	"--points-at": true, "--color": true, "--no-color": true, "--column": true,
	"--no-column": true, "-i": true, "--ignore-case": true, "-n": true,
}

func listingOnly(args []string, sub string) bool {
	list := false
	operands := 0
	for _, a := range args {
		name, _, _ := strings.Cut(a, "=")
		switch {
		case !strings.HasPrefix(a, "-"):
			operands++
		case sub == "tag" && a == "-a":
			return false // git tag -a creates an annotated tag
		case listingOptions[name] || strings.HasPrefix(a, "--sort=") || strings.HasPrefix(a, "--format="):
			list = list || name == "-l" || name == "--list" || name == "--contains" || name == "--no-contains" ||
				name == "--merged" || name == "--no-merged" || name == "--points-at"
		default:
			return false
		}
	}
	return operands == 0 || list
}
