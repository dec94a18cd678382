package commands

import (
	"regexp"
	"strings"
)

// interpreterSpec says how an interpreter gets inline code.
type interpreterSpec struct {
	code     string   // short options whose value is code (-c, -e)
	codeLong []string // long options whose value is code (--eval)
	argOpts  string   // short options taking a value that is not code
	stopOpts string   // short options after which no code is read from stdin or inline (python -m)
	sub      string   // deno eval CODE
	program  bool     // awk: the first operand is the program
	backtick bool     // `...` runs a shell command
}

var interpreters = map[string]interpreterSpec{
	"python":    {code: "c", argOpts: "WXQ", stopOpts: "m"},
	"pypy":      {code: "c", argOpts: "WXQ", stopOpts: "m"},
	"perl":      {code: "eE", argOpts: "IMmx", backtick: true},
	"ruby":      {code: "e", argOpts: "IrCE", backtick: true},
	"node":      {code: "ep", codeLong: []string{"eval", "print"}, argOpts: "r"},
	"nodejs":    {code: "ep", codeLong: []string{"eval", "print"}, argOpts: "r"},
	"bun":       {code: "ep", codeLong: []string{"eval", "print"}},
	"deno":      {sub: "eval"},
	"php":       {code: "rBRE", argOpts: "cdfz", backtick: true},
	"lua":       {code: "e", argOpts: "l"},
	"luajit":    {code: "e", argOpts: "l"},
	"Rscript":   {code: "e"},
	"osascript": {code: "e"},
	"pwsh":      {code: "c", codeLong: []string{"command", "Command", "c"}},
	"awk":       {program: true, argOpts: "Fvf", code: "e", codeLong: []string{"source"}},
}

// interpName maps python3.12, gawk, ... to the table's names.
func interpName(name string) string {
	switch {
	case strings.HasPrefix(name, "python"):
		return "python"
	case strings.HasPrefix(name, "pypy"):
		return "pypy"
	case strings.HasPrefix(name, "perl"):
		return "perl"
	case name == "gawk" || name == "mawk" || name == "nawk":
		return "awk"
	case name == "powershell":
		return "pwsh"
	}
	return name
}

// IsInterpreter reports a command that runs inline code given to it (python,
// perl, ruby, node, php, awk, ...).
func IsInterpreter(name string) bool {
	_, ok := interpreters[interpName(name)]
	return ok
}

// interpDeleteRe matches inline interpreter code that deletes files or
// runs commands (whose text a static reading of the shell does not see).
var interpDeleteRe = regexp.MustCompile(`rmtree|remove_tree|rm_rf|rm_r\b|\brmSync|rmdirSync|unlinkSync|\bunlink\b|\brmdir\b|removedirs|os\.remove|removeSync|Deno\.remove|File\.delete|Dir\.delete|FileUtils\.|fs\.rm\b|fs\.promises\.rm|os\.system|os\.popen|os\.exec|os\.spawn|subprocess|child_process|execSync|spawnSync|\bsystem\s*\(|\bsystem\s+["'\x60]|\bexec\s*\(|shell_exec|passthru|proc_open|\bpopen\b|\bqx\b|Remove-Item|do shell script|os\.truncate|__import__|pty\.spawn|\|\s*"[^"]*sh\b`)

// InterpCode returns the inline code given to an interpreter (python -c,
// perl -e, node -e, awk 'prog'), its index in argv, and whether it reads
// code from stdin instead.
func InterpCode(argv []string) (code string, idx int, stdin bool) {
	spec := interpreters[interpName(Name(argv))]
	args := argv[1:]
	i := 0
	if spec.sub != "" {
		if len(args) > 1 && args[0] == spec.sub {
			return args[1], 2, false
		}
		return "", 0, false
	}
	var parts []string
	for i < len(args) {
		a := args[i]
		if a == "--" {
			i++
			break
		}
		if a == "-" {
			return "", 0, true
		}
		if len(a) < 2 || a[0] != '-' {
			break
		}
		i++
		if strings.HasPrefix(a, "--") {
			name, val, hasVal := strings.Cut(a[2:], "=")
			if contains(spec.codeLong, name) {
				if hasVal {
					parts, idx = append(parts, val), i
				} else if i < len(args) {
					parts, idx = append(parts, args[i]), i+1
					i++
				}
			}
			continue
		}
		for j := 1; j < len(a); j++ {
			c := a[j]
			if strings.IndexByte(spec.stopOpts, c) >= 0 {
				return strings.Join(parts, "\n"), idx, false
			}
			if strings.IndexByte(spec.code, c) >= 0 {
				if j+1 < len(a) {
					parts, idx = append(parts, a[j+1:]), i
				} else if i < len(args) {
					parts, idx = append(parts, args[i]), i+1
					i++
				}
				break
			}
			if strings.IndexByte(spec.argOpts, c) >= 0 {
				if j+1 == len(a) {
					i++
				}
				if c == 'f' && spec.program {
					return strings.Join(parts, "\n"), idx, false // awk -f FILE
				}
				break
			}
		}
	}
	if len(parts) > 0 {
		return strings.Join(parts, "\n"), idx, false
	}
	if spec.program {
		if i < len(args) {
			return args[i], i + 1, false
		}
		return "", 0, false
	}
	return "", 0, i >= len(args)
}

// InterpReadsStdin reports an interpreter that reads its program from
// stdin (python3, python3 -, perl, node).
func InterpReadsStdin(argv []string) bool {
	if !IsInterpreter(Name(argv)) {
		return false
	}
	_, _, stdin := InterpCode(argv)
	return stdin
}

// RunsOrDeletes reports code (of any interpreter, or a shell's printed
// text) that deletes files or runs commands, whose text a static reading
// of the shell does not see.
func RunsOrDeletes(code string) bool { return interpDeleteRe.MatchString(code) }

// InlineCodeRunsOrDeletes reports inline code given to the interpreter of
// argv that deletes files or runs commands; for perl, ruby and php a
// backtick in it runs a shell command.
func InlineCodeRunsOrDeletes(argv []string, code string) bool {
	return RunsOrDeletes(code) ||
		interpreters[interpName(Name(argv))].backtick && strings.IndexByte(code, '`') >= 0
}
