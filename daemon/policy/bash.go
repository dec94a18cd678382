package policy

import (
	"bytes"
	"path"
	"regexp"
	"strings"
	"sync"

	"mvdan.cc/sh/v3/syntax"
)

// maxBashDepth bounds how many times nested shell code (bash -c '...',
// eval '...', heredocs fed to a shell, echo '...' | sh, env -S '...') is
// re-parsed. Deeper code is not parsed but split textually, so it is still
// visible to rules.
const maxBashDepth = 5

// maxBashCommands bounds the number of simple commands collected from one
// command line, so that hostile input cannot make evaluation expensive.
const maxBashCommands = 4096

// BashAnalysis is the structural view of a Bash command line that Bash rules
// are evaluated against.
type BashAnalysis struct {
	// Commands are the simple commands, in source order, normalized: wrapper
	// prefixes (sudo, env, nohup, timeout, xargs, ...) and leading VAR=val
	// assignments stripped, quotes removed from literal words, ${NAME}
	// written as $NAME, and the words joined by single spaces. A word that
	// still contains whitespace after quote removal is single-quoted so that
	// word boundaries stay visible. Code run by bash -c / sh -c / eval /
	// find -exec is re-parsed and its commands are listed after the wrapper
	// command itself.
	Commands []string
	// Pipelines lists every pipeline of two or more stages; each stage is
	// the normalized simple command (or the printed compound command).
	Pipelines [][]string
	// Fallback reports that (part of) the command line could not be parsed,
	// or was nested too deeply, and was split textually on ; && || | & and
	// newlines instead (see textualCommand).
	Fallback bool

	cmds []bashCmd

	pipeToShell   bool // download piped / substituted into a shell
	forkBomb      bool // recursive function that pipes or backgrounds itself
	cdDangerousRm bool // cd / (or ~, /etc, ...) followed by rm -r * or .
	blockDevWrite bool // redirect or tee into a block device
	privileged    bool // a command runs via sudo or doas
	secretRedir   bool // input redirected from a secret file (< .env)
}

type bashCmd struct {
	argv []string
	text string
}

// SplitBash returns the simple commands of a Bash command line, normalized
// as described in BashAnalysis.Commands. It never panics; input that cannot
// be parsed is split textually.
func SplitBash(cmd string) []string {
	return AnalyzeBash(cmd).Commands
}

// AnalyzeBash parses a Bash command line and returns its simple commands,
// pipelines and the facts the Bash special predicates are based on.
func AnalyzeBash(cmd string) (res BashAnalysis) {
	a := &analyzer{res: &res}
	defer func() {
		if r := recover(); r != nil {
			res = fallbackAnalysis(cmd)
		}
		if a.parser != nil {
			parserPool.Put(a.parser)
		}
	}()
	if !a.parse(cmd, 0) {
		return fallbackAnalysis(cmd)
	}
	for _, c := range res.cmds {
		res.Commands = append(res.Commands, c.text)
	}
	return res
}

var parserPool = sync.Pool{New: func() any {
	return syntax.NewParser(syntax.Variant(syntax.LangBash))
}}

type analyzer struct {
	res     *BashAnalysis
	parser  *syntax.Parser
	printer *syntax.Printer
	buf     bytes.Buffer

	expWords map[string]bool // words with whitespace produced by expansions

	pipes    int  // pipelines seen so far
	bgs      int  // backgrounded statements seen so far
	cdDanger bool // the last cd went to a dangerous directory
}

// parse parses src and walks it; it reports false if src is not valid Bash.
func (a *analyzer) parse(src string, depth int) bool {
	if a.parser == nil {
		a.parser = parserPool.Get().(*syntax.Parser)
	}
	f, err := a.parser.Parse(strings.NewReader(src), "")
	if err != nil {
		return false
	}
	a.stmts(f.Stmts, depth)
	return true
}

// reparse analyzes nested shell code; unparseable or too deeply nested code
// is split textually so that it is never silently ignored.
func (a *analyzer) reparse(src string, depth int) {
	if strings.TrimSpace(src) == "" {
		return
	}
	if depth > maxBashDepth {
		// Too deep to parse again: peel the remaining layers textually and
		// record the pieces without following nested code.
		a.res.Fallback = true
		for _, piece := range fallbackSplit(src) {
			argv, priv := textualCommand(piece)
			if priv {
				a.res.privileged = true
			}
			if len(argv) > 0 {
				a.record(argv)
			}
		}
		return
	}
	if !a.parse(src, depth) {
		a.res.Fallback = true
		for _, piece := range fallbackSplit(src) {
			argv, priv := textualCommand(piece)
			if priv {
				a.res.privileged = true
			}
			a.addArgv(argv, depth+1, nil)
		}
	}
}

func (a *analyzer) stmts(list []*syntax.Stmt, depth int) {
	for _, s := range list {
		a.stmt(s, depth)
	}
}

// stmt walks one statement and returns the unwrapped argv when the statement
// is a simple command.
func (a *analyzer) stmt(s *syntax.Stmt, depth int) []string {
	if s == nil {
		return nil
	}
	if s.Background {
		a.bgs++
	}
	for _, r := range s.Redirs {
		a.redirect(r, depth)
	}
	if s.Cmd == nil {
		return nil
	}
	return a.command(s.Cmd, s, depth)
}

func (a *analyzer) redirect(r *syntax.Redirect, depth int) {
	if r.Word != nil {
		a.scan(r.Word, depth)
		target := a.word(r.Word)
		switch r.Op {
		case syntax.RdrOut, syntax.AppOut, syntax.RdrInOut, syntax.RdrClob,
			syntax.AppClob, syntax.RdrAll, syntax.AppAll, syntax.RdrAllClob,
			syntax.AppAllClob, syntax.DplOut:
			if blockDeviceRe.MatchString(target) {
				a.res.blockDevWrite = true
			}
		case syntax.RdrIn:
			if isSecretPath(target) {
				a.res.secretRedir = true
			}
		}
	}
	if r.Hdoc != nil {
		a.scan(r.Hdoc, depth)
	}
}

func (a *analyzer) command(c syntax.Command, s *syntax.Stmt, depth int) []string {
	switch c := c.(type) {
	case *syntax.CallExpr:
		for _, as := range c.Assigns {
			a.scan(as, depth)
		}
		if len(c.Args) == 0 {
			return nil
		}
		argv := make([]string, 0, len(c.Args))
		for _, w := range c.Args {
			a.scan(w, depth)
			argv = append(argv, a.word(w))
		}
		out := a.addArgv(argv, depth, s)
		if out != nil && isShellLike(out[0]) && a.substDownloads(c, s) {
			a.res.pipeToShell = true
		}
		return out
	case *syntax.BinaryCmd:
		if c.Op == syntax.Pipe || c.Op == syntax.PipeAll {
			a.pipeline(c, depth)
			return nil
		}
		a.stmt(c.X, depth)
		a.stmt(c.Y, depth)
	case *syntax.Subshell:
		a.stmts(c.Stmts, depth)
	case *syntax.Block:
		a.stmts(c.Stmts, depth)
	case *syntax.IfClause:
		for ic := c; ic != nil; ic = ic.Else {
			a.stmts(ic.Cond, depth)
			a.stmts(ic.Then, depth)
		}
	case *syntax.WhileClause:
		a.stmts(c.Cond, depth)
		a.stmts(c.Do, depth)
	case *syntax.ForClause:
		if c.Loop != nil {
			a.scan(c.Loop, depth)
		}
		a.stmts(c.Do, depth)
	case *syntax.CaseClause:
		if c.Word != nil {
			a.scan(c.Word, depth)
		}
		for _, it := range c.Items {
			for _, p := range it.Patterns {
				a.scan(p, depth)
			}
			a.stmts(it.Stmts, depth)
		}
	case *syntax.FuncDecl:
		a.funcDecl(c, depth)
	case *syntax.TimeClause:
		return a.stmt(c.Stmt, depth)
	case *syntax.CoprocClause:
		return a.stmt(c.Stmt, depth)
	case *syntax.TestDecl:
		a.stmt(c.Body, depth)
	case *syntax.DeclClause:
		for _, as := range c.Args {
			a.scan(as, depth)
		}
		if c.Variant == nil {
			return nil
		}
		argv := []string{c.Variant.Value}
		for _, as := range c.Args {
			argv = append(argv, a.print(as))
		}
		a.record(argv)
	default: // ArithmCmd, TestClause, LetClause and future node types
		a.scan(c, depth)
	}
	return nil
}

// scan finds command and process substitutions anywhere below n and walks
// their statements.
func (a *analyzer) scan(n syntax.Node, depth int) {
	syntax.Walk(n, func(n syntax.Node) bool {
		switch n := n.(type) {
		case *syntax.CmdSubst:
			a.stmts(n.Stmts, depth)
			return false
		case *syntax.ProcSubst:
			a.stmts(n.Stmts, depth)
			return false
		}
		return true
	})
}

func (a *analyzer) funcDecl(f *syntax.FuncDecl, depth int) {
	names := map[string]bool{}
	if f.Name != nil {
		names[f.Name.Value] = true
	}
	for _, n := range f.Names {
		names[n.Value] = true
	}
	start, pipes, bgs := len(a.res.cmds), a.pipes, a.bgs
	a.stmt(f.Body, depth)
	if a.pipes == pipes && a.bgs == bgs {
		return
	}
	for _, c := range a.res.cmds[start:] {
		if len(c.argv) > 0 && names[c.argv[0]] {
			a.res.forkBomb = true
			return
		}
	}
}

func (a *analyzer) pipeline(b *syntax.BinaryCmd, depth int) {
	a.pipes++
	stages := flattenPipe(b, nil)
	argvs := make([][]string, len(stages))
	texts := make([]string, len(stages))
	for i, st := range stages {
		argvs[i] = a.stmt(st, depth)
		if argvs[i] != nil {
			texts[i] = joinWords(argvs[i], a.expWords)
		} else {
			texts[i] = a.print(st)
		}
	}
	a.res.Pipelines = append(a.res.Pipelines, texts)
	for j := 1; j < len(argvs); j++ {
		if argvs[j] == nil || !shellReadsStdin(argvs[j]) {
			continue
		}
		for i := 0; i < j; i++ {
			if argvs[i] == nil {
				continue
			}
			switch cmdName(argvs[i]) {
			case "curl", "wget", "fetch", "http", "https", "xh", "aria2c":
				a.res.pipeToShell = true
			case "echo", "printf":
				if i == j-1 {
					// echo 'rm -rf /' | sh: the printed text is code.
					a.reparse(printedText(argvs[i]), depth+1)
				}
			}
		}
	}
}

// printedText approximates what echo/printf print: printf's format and
// echo -e arguments get their backslash escapes decoded.
func printedText(argv []string) string {
	args := argv[1:]
	if cmdName(argv) == "printf" {
		if len(args) > 0 && args[0] == "--" {
			args = args[1:]
		}
		if len(args) == 0 {
			return ""
		}
		return decodeANSIC(strings.Join(args, " "))
	}
	escapes := false
	for len(args) > 0 && len(args[0]) > 1 && args[0][0] == '-' && strings.Trim(args[0][1:], "neE") == "" {
		if strings.ContainsRune(args[0], 'e') {
			escapes = true
		}
		args = args[1:]
	}
	text := strings.Join(args, " ")
	if escapes {
		text = decodeANSIC(text)
	}
	return text
}

func flattenPipe(b *syntax.BinaryCmd, out []*syntax.Stmt) []*syntax.Stmt {
	for _, s := range []*syntax.Stmt{b.X, b.Y} {
		if s == nil {
			continue
		}
		if inner, ok := s.Cmd.(*syntax.BinaryCmd); ok && (inner.Op == syntax.Pipe || inner.Op == syntax.PipeAll) &&
			len(s.Redirs) == 0 && !s.Negated && !s.Background {
			out = flattenPipe(inner, out)
			continue
		}
		out = append(out, s)
	}
	return out
}

// addArgv strips wrapper prefixes from argv, records the resulting simple
// command and follows nested code (bash -c, eval, find -exec, heredocs). It
// returns the recorded argv, or nil if nothing was recorded.
func (a *analyzer) addArgv(argv []string, depth int, s *syntax.Stmt) []string {
	if len(argv) == 0 {
		return nil
	}
	argv, priv, nested := unwrap(argv)
	if priv {
		a.res.privileged = true
	}
	if nested != "" {
		a.reparse(nested, depth+1)
	}
	if len(argv) == 0 {
		return nil
	}
	a.record(argv)
	name := cmdName(argv)
	switch {
	case isShell(name):
		if code, ok := shellCode(argv); ok {
			a.reparse(code, depth+1)
		} else if shellReadsStdin(argv) && s != nil {
			for _, r := range s.Redirs {
				switch {
				case r.Hdoc != nil && (r.Op == syntax.Hdoc || r.Op == syntax.DashHdoc):
					a.reparse(a.heredoc(r.Hdoc), depth+1)
				case r.Op == syntax.WordHdoc && r.Word != nil:
					a.reparse(a.word(r.Word), depth+1)
				}
			}
		}
	case name == "eval":
		a.reparse(strings.Join(argv[1:], " "), depth+1)
	case name == "su":
		// su [options] [user] -c CODE / --command=CODE
		for i, arg := range argv[1:] {
			if (arg == "-c" || arg == "--command") && i+2 < len(argv) {
				a.reparse(argv[i+2], depth+1)
				break
			}
			if code, ok := strings.CutPrefix(arg, "--command="); ok {
				a.reparse(code, depth+1)
				break
			}
		}
	case name == "find":
		for _, sub := range findExecs(argv) {
			a.addArgv(sub, depth+1, nil)
		}
	case name == "cd" || name == "pushd":
		a.cdDanger = cdTargetDangerous(argv)
	case name == "rm":
		if a.cdDanger && rmRecursiveWildcard(argv) {
			a.res.cdDangerousRm = true
		}
	case name == "tee":
		for _, arg := range argv[1:] {
			if blockDeviceRe.MatchString(arg) {
				a.res.blockDevWrite = true
			}
		}
	}
	return argv
}

func (a *analyzer) record(argv []string) {
	if len(a.res.cmds) >= maxBashCommands {
		return
	}
	a.res.cmds = append(a.res.cmds, bashCmd{argv: argv, text: joinWords(argv, a.expWords)})
}

// substDownloads reports whether a command's words or redirects contain a
// command or process substitution that runs a downloader, as in
// bash <(curl ...), sh -c "$(wget -O- ...)", eval "$(curl ...)".
func (a *analyzer) substDownloads(c *syntax.CallExpr, s *syntax.Stmt) bool {
	found := false
	check := func(n syntax.Node) bool {
		switch n := n.(type) {
		case *syntax.CmdSubst, *syntax.ProcSubst:
			syntax.Walk(n, func(m syntax.Node) bool {
				if ce, ok := m.(*syntax.CallExpr); ok && len(ce.Args) > 0 {
					argv := make([]string, len(ce.Args))
					for i, w := range ce.Args {
						argv[i] = a.word(w)
					}
					argv, _, _ = unwrap(argv)
					switch cmdName(argv) {
					case "curl", "wget", "fetch", "http", "https", "xh", "aria2c":
						found = true
					}
				}
				return !found
			})
			return false
		}
		return !found
	}
	for _, w := range c.Args {
		syntax.Walk(w, check)
	}
	if s != nil {
		for _, r := range s.Redirs {
			if r.Word != nil {
				syntax.Walk(r.Word, check)
			}
		}
	}
	return found
}

// word renders a word with quotes removed: literal text is unescaped,
// simple parameter expansions are written $NAME and anything else
// (command substitutions, arithmetic, complex expansions) is printed as
// shell source.
func (a *analyzer) word(w *syntax.Word) string {
	if len(w.Parts) == 1 {
		if l, ok := w.Parts[0].(*syntax.Lit); ok && strings.IndexByte(l.Value, '\\') < 0 {
			return l.Value
		}
	}
	var sb strings.Builder
	expanded := false
	for _, p := range w.Parts {
		if a.part(&sb, p, false) {
			expanded = true
		}
	}
	s := sb.String()
	if expanded && strings.ContainsAny(s, " \t\n\r\v\f") {
		if a.expWords == nil {
			a.expWords = map[string]bool{}
		}
		a.expWords[s] = true
	}
	return s
}

// part appends one word part; it reports whether the part was an expansion
// printed as shell source (rather than literal text).
func (a *analyzer) part(sb *strings.Builder, p syntax.WordPart, dquoted bool) bool {
	switch p := p.(type) {
	case *syntax.Lit:
		if dquoted {
			sb.WriteString(unescapeDouble(p.Value))
		} else {
			sb.WriteString(unescapeUnquoted(p.Value))
		}
	case *syntax.SglQuoted:
		if p.Dollar {
			sb.WriteString(decodeANSIC(p.Value))
		} else {
			sb.WriteString(p.Value)
		}
	case *syntax.DblQuoted:
		expanded := false
		for _, q := range p.Parts {
			if a.part(sb, q, true) {
				expanded = true
			}
		}
		return expanded
	case *syntax.ParamExp:
		if simpleParam(p) {
			sb.WriteByte('$')
			sb.WriteString(p.Param.Value)
		} else {
			sb.WriteString(a.printPart(p))
		}
		return true
	default:
		sb.WriteString(a.printPart(p))
		return true
	}
	return false
}

// maxPrintedPart bounds the source size of an expansion that is printed
// into a normalized word; larger ones (whose commands are extracted
// separately anyway) are abbreviated, which keeps deeply nested input
// linear.
const maxPrintedPart = 256

func (a *analyzer) printPart(p syntax.WordPart) string {
	if start, end := p.Pos(), p.End(); start.IsValid() && end.IsValid() && end.Offset()-start.Offset() > maxPrintedPart {
		switch p := p.(type) {
		case *syntax.CmdSubst:
			return "$(...)"
		case *syntax.ProcSubst:
			if p.Op == syntax.CmdOut {
				return ">(...)"
			}
			return "<(...)"
		}
	}
	return a.print(p)
}

// heredoc returns the body of a here-document as the shell would read it.
func (a *analyzer) heredoc(w *syntax.Word) string {
	var sb strings.Builder
	for _, p := range w.Parts {
		if l, ok := p.(*syntax.Lit); ok {
			sb.WriteString(l.Value)
		} else {
			sb.WriteString(a.print(p))
		}
	}
	return sb.String()
}

func (a *analyzer) print(n syntax.Node) string {
	if a.printer == nil {
		a.printer = syntax.NewPrinter(syntax.SingleLine(true))
	}
	a.buf.Reset()
	if err := a.printer.Print(&a.buf, n); err != nil {
		return ""
	}
	return strings.TrimSpace(a.buf.String())
}

func simpleParam(p *syntax.ParamExp) bool {
	return p.Param != nil && p.Flags == nil && !p.Excl && !p.Length && !p.Width && !p.IsSet &&
		p.NestedParam == nil && p.Index == nil && len(p.Modifiers) == 0 && p.Slice == nil &&
		p.Repl == nil && p.Names == 0 && p.Exp == nil
}

// unescapeUnquoted removes backslash escapes from unquoted text (\r\m -> rm).
func unescapeUnquoted(s string) string {
	if strings.IndexByte(s, '\\') < 0 {
		return s
	}
	var sb strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
		}
		sb.WriteByte(s[i])
	}
	return sb.String()
}

// unescapeDouble removes the backslash escapes that are special inside
// double quotes: \$ \` \" \\.
func unescapeDouble(s string) string {
	if strings.IndexByte(s, '\\') < 0 {
		return s
	}
	var sb strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) && strings.IndexByte("$`\"\\\n", s[i+1]) >= 0 {
			i++
		}
		sb.WriteByte(s[i])
	}
	return sb.String()
}

// decodeANSIC decodes the common escapes of $'...' strings.
func decodeANSIC(s string) string {
	if strings.IndexByte(s, '\\') < 0 {
		return s
	}
	var sb strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 >= len(s) {
			sb.WriteByte(c)
			continue
		}
		i++
		switch e := s[i]; e {
		case 'n':
			sb.WriteByte('\n')
		case 't':
			sb.WriteByte('\t')
		case 'r':
			sb.WriteByte('\r')
		case 'a':
			sb.WriteByte('\a')
		case 'b':
			sb.WriteByte('\b')
		case 'e', 'E':
			sb.WriteByte(0x1b)
		case 'f':
			sb.WriteByte('\f')
		case 'v':
			sb.WriteByte('\v')
		case 'x':
			v, n := 0, 0
			for n < 2 && i+1 < len(s) && isHex(s[i+1]) {
				i++
				v = v*16 + hexVal(s[i])
				n++
			}
			if n == 0 {
				sb.WriteString(`\x`)
			} else {
				sb.WriteByte(byte(v))
			}
		case '0', '1', '2', '3', '4', '5', '6', '7':
			v, n := int(e-'0'), 1
			for n < 3 && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '7' {
				i++
				v = v*8 + int(s[i]-'0')
				n++
			}
			sb.WriteByte(byte(v))
		default:
			sb.WriteByte(e)
		}
	}
	return sb.String()
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func hexVal(c byte) int {
	switch {
	case c >= 'a':
		return int(c-'a') + 10
	case c >= 'A':
		return int(c-'A') + 10
	}
	return int(c - '0')
}

// joinWords joins words with single spaces. Words containing whitespace
// (or empty words) are quoted so that word boundaries remain visible:
// double quotes when the word contains expansions printed as source
// ("$(rm -rf /)"), single quotes for literal text ('rm -rf /').
func joinWords(argv []string, expWords map[string]bool) string {
	var sb strings.Builder
	for i, w := range argv {
		if i > 0 {
			sb.WriteByte(' ')
		}
		switch {
		case w != "" && !strings.ContainsAny(w, " \t\n\r\v\f"):
			sb.WriteString(w)
		case expWords[w]:
			sb.WriteByte('"')
			sb.WriteString(strings.ReplaceAll(w, `"`, `\"`))
			sb.WriteByte('"')
		default:
			sb.WriteByte('\'')
			sb.WriteString(strings.ReplaceAll(w, "'", `'\''`))
			sb.WriteByte('\'')
		}
	}
	return sb.String()
}

// cmdName is the base name of the command word (/usr/bin/rm -> rm).
func cmdName(argv []string) string {
	if len(argv) == 0 {
		return ""
	}
	return path.Base(argv[0])
}

var assignRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*\+?=`)

// unwrap strips command prefixes that run the rest of their arguments as a
// command. It returns the remaining argv, whether sudo/doas was stripped,
// and code to re-parse (env -S). When a prefix has nothing after it, the
// prefix command itself is returned.
func unwrap(argv []string) (rest []string, privileged bool, nested string) {
	for range 32 {
		for len(argv) > 0 && assignRe.MatchString(argv[0]) {
			argv = argv[1:]
		}
		if len(argv) == 0 {
			return nil, privileged, nested
		}
		var next []string
		args := argv[1:]
		switch cmdName(argv) {
		case "sudo":
			privileged = true
			next = skipOptions(args, "ugGhpCDrtTUR", []string{"user", "group", "host", "prompt", "close-from", "chdir", "role", "type", "command-timeout", "other-user", "chroot"})
		case "doas":
			privileged = true
			next = skipOptions(args, "uC", nil)
		case "env":
			var split string
			for i := 0; i < len(args); i++ {
				if (args[i] == "-S" || args[i] == "--split-string") && i+1 < len(args) {
					split = args[i+1]
					break
				}
				if s, ok := strings.CutPrefix(args[i], "--split-string="); ok {
					split = s
					break
				}
				if strings.HasPrefix(args[i], "-S") && len(args[i]) > 2 {
					split = args[i][2:]
					break
				}
			}
			if split != "" {
				// env -S 'cmd args' [more args]: the string is split into
				// words; treat it as code.
				nested = split
				return nil, privileged, nested
			}
			next = skipOptions(args, "uCP", []string{"unset", "chdir"})
			for len(next) > 0 && next[0] == "-" {
				next = next[1:]
			}
		case "nohup", "builtin", "busybox":
			next = skipOptions(args, "", nil)
		case "time":
			next = skipOptions(args, "fo", []string{"format", "output"})
		case "nice":
			next = skipOptions(args, "n", []string{"adjustment"})
		case "timeout":
			next = skipOptions(args, "sk", []string{"signal", "kill-after"})
			if len(next) > 0 {
				next = next[1:] // duration
			}
		case "stdbuf":
			next = skipOptions(args, "ioe", []string{"input", "output", "error"})
		case "command":
			for _, a := range args {
				if !strings.HasPrefix(a, "-") || a == "--" {
					break
				}
				if strings.ContainsAny(a, "vV") {
					return argv, privileged, nested // command -v: lookup only
				}
			}
			next = skipOptions(args, "", nil)
		case "exec":
			next = skipOptions(args, "a", nil)
		case "xargs":
			next = skipOptions(args, "aEdILnPs", []string{"arg-file", "delimiter", "max-lines", "max-args", "max-procs", "max-chars", "process-slot-var", "eof", "replace"})
		default:
			return argv, privileged, nested
		}
		if len(next) == 0 {
			return argv, privileged, nested
		}
		argv = next
	}
	return argv, privileged, nested
}

// skipOptions skips getopt-style options. shortArg lists the short options
// that take a value; longArg the long options that take a value when it is
// not attached with '='.
func skipOptions(args []string, shortArg string, longArg []string) []string {
	i := 0
	for i < len(args) {
		a := args[i]
		if a == "--" {
			i++
			break
		}
		if len(a) < 2 || a[0] != '-' {
			break
		}
		i++
		if strings.HasPrefix(a, "--") {
			name := a[2:]
			if !strings.Contains(name, "=") {
				for _, l := range longArg {
					if l == name {
						i++
						break
					}
				}
			}
			continue
		}
		for j := 1; j < len(a); j++ {
			if strings.IndexByte(shortArg, a[j]) >= 0 {
				if j == len(a)-1 {
					i++ // value is the next word
				}
				break // otherwise the value is attached
			}
		}
	}
	if i > len(args) {
		i = len(args)
	}
	return args[i:]
}

func isShell(name string) bool {
	switch name {
	case "sh", "bash", "zsh", "dash", "ksh", "mksh", "ash", "fish", "rbash":
		return true
	}
	return false
}

func isShellLike(argv0 string) bool {
	name := path.Base(argv0)
	return isShell(name) || name == "eval" || name == "source" || name == "."
}

// shellCode returns the code string of `sh -c CODE` style invocations.
func shellCode(argv []string) (string, bool) {
	hasC := false
	for i := 1; i < len(argv); i++ {
		a := argv[i]
		switch {
		case a == "--" || a == "-":
			if hasC && i+1 < len(argv) {
				return argv[i+1], true
			}
			return "", false
		case a == "-o" || a == "+o" || a == "-O" || a == "+O" || a == "--rcfile" || a == "--init-file":
			i++
		case strings.HasPrefix(a, "--"):
			if a == "--command" {
				hasC = true
			}
		case len(a) > 1 && (a[0] == '-' || a[0] == '+'):
			if strings.IndexByte(a[1:], 'c') >= 0 {
				hasC = true
			}
		default:
			if hasC {
				return a, true
			}
			return "", false
		}
	}
	return "", false
}

// shellReadsStdin reports whether a shell invocation reads its script from
// standard input: no -c and no script operand, or -s.
func shellReadsStdin(argv []string) bool {
	if !isShell(cmdName(argv)) {
		return false
	}
	for i := 1; i < len(argv); i++ {
		a := argv[i]
		switch {
		case a == "--" || a == "-":
			return i+1 >= len(argv)
		case a == "-o" || a == "+o" || a == "-O" || a == "+O" || a == "--rcfile" || a == "--init-file":
			i++
		case strings.HasPrefix(a, "--"):
			if a == "--command" {
				return false
			}
		case len(a) > 1 && (a[0] == '-' || a[0] == '+'):
			if strings.IndexByte(a[1:], 'c') >= 0 {
				return false
			}
			if a[0] == '-' && strings.IndexByte(a[1:], 's') >= 0 {
				return true
			}
		default:
			return false // script file operand
		}
	}
	return true
}

// findExecs returns the commands run by find -exec/-execdir/-ok/-okdir.
func findExecs(argv []string) [][]string {
	var out [][]string
	for i := 1; i < len(argv); i++ {
		switch argv[i] {
		case "-exec", "-execdir", "-ok", "-okdir":
			j := i + 1
			for j < len(argv) && argv[j] != ";" && argv[j] != "+" {
				j++
			}
			if j > i+1 {
				out = append(out, argv[i+1:j])
			}
			i = j
		}
	}
	return out
}

// dangerousDirRe matches directories whose wholesale deletion is
// catastrophic: the root, home directories and top-level system dirs.
var dangerousDirRe = regexp.MustCompile(`^(?:/+|~/?|\$HOME/?|/(?:etc|usr|bin|sbin|boot|lib|lib32|lib64|var|opt|home|Users|root|dev|proc|sys|srv|System|Library|Applications|private)/?|(?:/home|/Users)/[^/]+/?)$`)

func cdTargetDangerous(argv []string) bool {
	args := skipOptions(argv[1:], "", nil)
	if len(args) == 0 {
		return cmdName(argv) == "cd" // bare cd goes home
	}
	return dangerousDirRe.MatchString(args[0])
}

// rmRecursiveWildcard reports rm -r of everything in the current directory
// (*, ., ./, ./*, .*).
func rmRecursiveWildcard(argv []string) bool {
	recursive, wildcard := false, false
	opts := true
	for _, a := range argv[1:] {
		switch {
		case opts && a == "--":
			opts = false
		case opts && a == "--recursive":
			recursive = true
		case opts && len(a) > 1 && a[0] == '-' && a[1] != '-':
			if strings.ContainsAny(a[1:], "rR") {
				recursive = true
			}
		default:
			switch a {
			case "*", ".", "./", "./*", ".*", "./.*", "*.*":
				wildcard = true
			}
		}
	}
	return recursive && wildcard
}

var blockDeviceRe = regexp.MustCompile(`^/dev/(?:sd[a-z]|hd[a-z]|vd[a-z]|xvd[a-z]|nvme\d|mmcblk\d|r?disk\d|md\d|dm-\d|mapper/|loop\d|sr\d|root$|mem$|kmem$|port$)`)

var forkBombRe = regexp.MustCompile(`:\s*\(\s*\)\s*\{\s*:\s*\|\s*:\s*&\s*\}\s*;?\s*:`)

var fallbackPipeToShellRe = regexp.MustCompile(`\b(?:curl|wget|fetch)\b[^|]*\|\s*(?:sudo\s+(?:-\S+\s+)*)?(?:ba|z|da|k|mk|fi)?sh\b`)

var fallbackSepRe = regexp.MustCompile(`&&|\|\||[;|&\n]`)

// fallbackSplit splits unparseable input on ; && || | & and newlines.
func fallbackSplit(s string) []string {
	var out []string
	for _, p := range fallbackSepRe.Split(s, -1) {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// fallbackAnalysis is used when the command line is not valid Bash: it is
// split textually (see textualCommand), and the raw text is checked for the
// classic fork bomb and curl | sh.
func fallbackAnalysis(cmd string) BashAnalysis {
	res := BashAnalysis{Fallback: true}
	for _, piece := range fallbackSplit(cmd) {
		argv, priv := textualCommand(piece)
		if priv {
			res.privileged = true
		}
		if len(argv) == 0 {
			continue
		}
		text := strings.Join(argv, " ")
		res.cmds = append(res.cmds, bashCmd{argv: argv, text: text})
		res.Commands = append(res.Commands, text)
		if len(res.cmds) >= maxBashCommands {
			break
		}
	}
	res.forkBomb = forkBombRe.MatchString(cmd)
	res.pipeToShell = fallbackPipeToShellRe.MatchString(cmd)
	return res
}

// quoteBreaker turns quote characters and backslashes into word breaks.
var quoteBreaker = strings.NewReplacer(`'`, " ", `"`, " ", `\`, " ")

// textualCommand turns one piece of text that could not be parsed into
// words without a parser: quotes and backslashes become word breaks,
// wrapper prefixes are stripped, and sh -c / su -c / eval / env -S layers
// are peeled off, so that e.g. deeply nested bash -c '...' still yields
// "rm -rf /".
func textualCommand(piece string) (argv []string, privileged bool) {
	words := strings.Fields(quoteBreaker.Replace(piece))
	for range 64 {
		var priv bool
		var nested string
		words, priv, nested = unwrap(words)
		privileged = privileged || priv
		if nested != "" {
			words = strings.Fields(quoteBreaker.Replace(nested))
			continue
		}
		if len(words) == 0 {
			return nil, privileged
		}
		name := cmdName(words)
		if isShell(name) || name == "su" {
			if i := dashCIndex(words); i > 0 && i+1 < len(words) {
				words = words[i+1:]
				continue
			}
		}
		if name == "eval" && len(words) > 1 {
			words = words[1:]
			continue
		}
		break
	}
	return words, privileged
}

// dashCIndex returns the index of the -c option (-c, -lc, --command) in a
// shell or su invocation, or -1.
func dashCIndex(argv []string) int {
	for i := 1; i < len(argv); i++ {
		a := argv[i]
		if a == "--command" || len(a) > 1 && a[0] == '-' && a[1] != '-' && strings.IndexByte(a, 'c') > 0 {
			return i
		}
	}
	return -1
}
