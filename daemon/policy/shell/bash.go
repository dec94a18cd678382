package shell

import (
	"bytes"
	"path"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/claudebench/cb/daemon/policy/internal/commands"
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

// maxRewalks bounds how often loop and function bodies are walked again
// with known values (for d in / ~; ...; f /), which keeps nested loops and
// calls linear in the input.
const maxRewalks = 128

// maxAlts bounds the values a variable may have when it is assigned on
// some paths only (t=/; if x; then t=/tmp/y; fi).
const maxAlts = 4

// maxExpandedWords bounds the words one brace expansion, loop list or
// xargs input is expanded to; larger ones are left unexpanded.
const maxExpandedWords = 32

// Analysis is the structural view of a Bash command line that Bash rules
// are evaluated against.
type Analysis struct {
	// Commands are the simple commands, in source order, normalized: wrapper
	// prefixes (see the package documentation) and leading VAR=val assignments stripped,
	// quotes removed from literal words, variables assigned earlier in the
	// line (t=/; loop variables; function and sh -c arguments) replaced by
	// their value, brace expansions expanded, other ${NAME} written as
	// $NAME, and the words joined by single spaces. A word that still
	// contains whitespace after quote removal is single-quoted so that word
	// boundaries stay visible. Code run by bash -c / sh -c / eval / su -c /
	// find -exec / a called function is re-parsed and its commands are listed
	// after the wrapper command itself; xargs and parallel commands whose
	// input is known (echo / | xargs rm -rf) are listed with that input.
	Commands []string
	// Pipelines lists every pipeline of two or more stages; each stage is
	// the normalized simple command (or the printed compound command).
	Pipelines [][]string
	// Fallback reports that (part of) the command line could not be parsed,
	// or was nested too deeply, and was split textually on ; && || | & and
	// newlines instead (see textualCommand).
	Fallback bool

	cmds []bashCmd

	pipeToShell    bool // download piped / substituted into a shell
	forkBomb       bool // recursive function that pipes or backgrounds itself
	cdDangerousRm  bool // cd / (or ~, /etc, ...) followed by rm -r * or . (or find . -delete)
	blockDevWrite  bool // redirect or tee into a block device
	privileged     bool // a command runs via sudo, doas, su, ...
	secretRedir    bool // input redirected from a secret file (< .env)
	computed       bool // what runs is computed at run time (see special computed_command)
	interpDelete   bool // an interpreter runs inline code that deletes files or runs commands
	sysFileClobber bool // a redirect truncates a critical system file (> /etc/passwd)
	writeRedir     bool // output redirected to a file (not /dev/null, not a descriptor)
	assigns        bool // a variable is assigned (PATH=..., LD_PRELOAD=... cmd, export, declare)
	wrapped        bool // a wrapper (env, timeout, nice, xargs, ...) was stripped from a command
	capped         bool // more than maxBashCommands simple commands: the list is incomplete
}

type bashCmd struct {
	argv []string
	text string
}

// Split returns the simple commands of a Bash command line, normalized
// as described in Analysis.Commands. It never panics; input that cannot
// be parsed is split textually.
func Split(cmd string) []string {
	return Analyze(cmd).Commands
}

// Analyze parses a Bash command line and returns its simple commands,
// pipelines and the facts the Bash special predicates are based on.
func Analyze(cmd string) (res Analysis) {
	a := &analyzer{res: &res}
	defer func() {
		if recoverPanics {
			if r := recover(); r != nil {
				res = fallbackAnalysis(cmd)
			}
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

// recoverPanics turns a panic while analyzing into the textual fallback;
// the fuzz test switches it off so that such bugs surface.
var recoverPanics = true

var parserPool = sync.Pool{New: func() any {
	return syntax.NewParser(syntax.Variant(syntax.LangBash))
}}

type analyzer struct {
	res     *Analysis
	parser  *syntax.Parser
	printer *syntax.Printer
	buf     bytes.Buffer

	expWords map[string]bool // words with whitespace produced by expansions

	pipes    int  // pipelines seen so far
	bgs      int  // backgrounded statements seen so far
	cdDanger bool // the last cd went to a dangerous directory

	vars    map[string]shVar        // variables assigned earlier in the line
	cond    int                     // > 0 while walking code that may not run (if branches, && right sides, subshells)
	alt     int                     // which value of multi-valued variables to render
	altN    int                     // most values of a variable rendered in the current command
	pos     []posFrame              // positional parameters: sh -c args, function calls, set --
	funcs   map[string]*syntax.Stmt // functions defined earlier in the line
	active  map[string]bool         // functions whose body is being walked for a call
	rewalks int                     // loop and function bodies walked again so far
	stdin   *stdinInfo              // what the next simple command reads (set by pipeline)
	files   map[string]string       // scripts written earlier in the line (echo '...' > x.sh)
}

// shVar is a variable's value as far as it is known. A variable assigned
// on some paths only has several possible values; dyn means a value
// contains expansions whose value is not known (unknown variable, command
// substitution: subst), written as source.
type shVar struct {
	vals  []string
	dyn   bool
	subst bool
}

// posFrame holds $0, $1, ... of the code being walked; known is false
// while a function body is read at its definition.
type posFrame struct {
	args  []string
	known bool
	dyn   bool
}

// stdinInfo is what a command reads on stdin, as far as xargs and
// parallel care: the whitespace-separated words, or that they are paths
// below harmless roots (find . ...).
type stdinInfo struct {
	items []string
	known bool
	dyn   bool
	safe  bool
}

// simpleCmd is a simple command after wrappers were stripped, with the
// flags of each word.
type simpleCmd struct {
	argv  []string
	flags []wordFlags
}

// wordFlags describe how a word was produced.
type wordFlags uint8

const (
	wDyn     wordFlags = 1 << iota // contains an expansion whose value is unknown
	wDynName                       // its last path segment is unknown (expansion or glob): as a command, the name is computed
	wSubst                         // contains a command or process substitution
	wBrace                         // one of several words of a brace expansion
)

func anyFlag(fs []wordFlags, f wordFlags) bool {
	for _, x := range fs {
		if x&f != 0 {
			return true
		}
	}
	return false
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
			a.addArgv(argv, nil, depth+1, nil, nil)
		}
	}
}

func (a *analyzer) stmts(list []*syntax.Stmt, depth int) {
	for _, s := range list {
		a.stmt(s, depth)
	}
}

// stmt walks one statement and returns the unwrapped command when the
// statement is a simple command.
func (a *analyzer) stmt(s *syntax.Stmt, depth int) simpleCmd {
	in := a.stdin
	a.stdin = nil
	if s == nil {
		return simpleCmd{}
	}
	if s.Background {
		a.bgs++
		a.cond++ // runs in a subshell
		defer func() { a.cond-- }()
	}
	for _, r := range s.Redirs {
		a.redirect(r, depth)
	}
	if s.Cmd == nil {
		return simpleCmd{}
	}
	return a.command(s.Cmd, s, depth, in)
}

func (a *analyzer) redirect(r *syntax.Redirect, depth int) {
	if r.Word != nil {
		a.scan(r.Word, depth)
		target := a.word(r.Word)
		if writesTarget(r.Op, target) {
			a.res.writeRedir = true
		}
		switch r.Op {
		case syntax.RdrOut, syntax.RdrClob, syntax.RdrAll, syntax.RdrAllClob, syntax.DplOut:
			// Truncating writes.
			if commands.IsCriticalFile(target) || commands.IsSystemBinary(target) {
				a.res.sysFileClobber = true
			}
			if blockDeviceRe.MatchString(target) {
				a.res.blockDevWrite = true
			}
		case syntax.AppOut, syntax.RdrInOut, syntax.AppClob, syntax.AppAll, syntax.AppAllClob:
			if blockDeviceRe.MatchString(target) {
				a.res.blockDevWrite = true
			}
		case syntax.RdrIn:
			if commands.IsSecretPath(target) {
				a.res.secretRedir = true
			}
		}
	}
	if r.Hdoc != nil {
		a.scan(r.Hdoc, depth)
	}
}

func (a *analyzer) command(c syntax.Command, s *syntax.Stmt, depth int, in *stdinInfo) simpleCmd {
	switch c := c.(type) {
	case *syntax.CallExpr:
		if len(c.Assigns) > 0 {
			a.res.assigns = true
		}
		for _, as := range c.Assigns {
			a.scan(as, depth)
		}
		if len(c.Args) == 0 {
			for _, as := range c.Assigns {
				a.assign(as)
			}
			return simpleCmd{}
		}
		for _, w := range c.Args {
			a.scan(w, depth)
		}
		a.altN = 0
		argv, flags := a.callWords(c)
		alts := a.altN
		out := a.addArgv(argv, flags, depth, s, in)
		if out.argv != nil && isShellLike(out.argv[0]) && a.substDownloads(c, s) {
			a.res.pipeToShell = true
		}
		// A variable with several possible values: read the command with
		// each of them too.
		for k := 1; k < alts; k++ {
			if a.rewalks >= maxRewalks {
				a.res.computed = true
				break
			}
			a.rewalks++
			a.alt = k
			argv, flags := a.callWords(c)
			a.alt = 0
			a.addArgv(argv, flags, depth, s, nil)
		}
		return out
	case *syntax.BinaryCmd:
		if c.Op == syntax.Pipe || c.Op == syntax.PipeAll {
			a.pipeline(c, depth)
			return simpleCmd{}
		}
		a.stmt(c.X, depth)
		a.cond++ // the right side of && and || may not run
		a.stmt(c.Y, depth)
		a.cond--
	case *syntax.Subshell:
		a.cond++ // assignments do not leave the subshell
		a.stmts(c.Stmts, depth)
		a.cond--
	case *syntax.Block:
		a.stmts(c.Stmts, depth)
	case *syntax.IfClause:
		a.stmts(c.Cond, depth)
		a.cond++
		a.stmts(c.Then, depth)
		for ic := c.Else; ic != nil; ic = ic.Else {
			a.stmts(ic.Cond, depth)
			a.stmts(ic.Then, depth)
		}
		a.cond--
	case *syntax.WhileClause:
		a.stmts(c.Cond, depth)
		a.cond++
		a.stmts(c.Do, depth)
		a.cond--
	case *syntax.ForClause:
		if wi, ok := c.Loop.(*syntax.WordIter); ok {
			a.forLoop(wi, c.Do, depth)
		} else {
			if c.Loop != nil {
				a.scan(c.Loop, depth)
			}
			a.cond++
			a.stmts(c.Do, depth)
			a.cond--
		}
	case *syntax.CaseClause:
		if c.Word != nil {
			a.scan(c.Word, depth)
		}
		a.cond++
		for _, it := range c.Items {
			for _, p := range it.Patterns {
				a.scan(p, depth)
			}
			a.stmts(it.Stmts, depth)
		}
		a.cond--
	case *syntax.FuncDecl:
		a.funcDecl(c, depth)
	case *syntax.TimeClause:
		return a.stmt(c.Stmt, depth)
	case *syntax.CoprocClause:
		return a.stmt(c.Stmt, depth)
	case *syntax.TestDecl:
		a.stmt(c.Body, depth)
	case *syntax.DeclClause:
		a.res.assigns = true
		for _, as := range c.Args {
			a.scan(as, depth)
		}
		if c.Variant == nil {
			return simpleCmd{}
		}
		if c.Variant.Value != "nameref" {
			for _, as := range c.Args {
				a.assign(as)
			}
		}
		argv := []string{c.Variant.Value}
		for _, as := range c.Args {
			argv = append(argv, a.print(as))
		}
		a.record(argv)
	default: // ArithmCmd, TestClause, LetClause and future node types
		a.scan(c, depth)
	}
	return simpleCmd{}
}

// callWords expands the words of a simple command.
func (a *analyzer) callWords(c *syntax.CallExpr) ([]string, []wordFlags) {
	argv := make([]string, 0, len(c.Args))
	flags := make([]wordFlags, 0, len(c.Args))
	for _, w := range c.Args {
		n := len(argv)
		var f wordFlags
		argv, f = a.appendFields(argv, w)
		for range len(argv) - n {
			flags = append(flags, f)
		}
	}
	return argv, flags
}

// assign records a variable assignment (x=val, export x=val) whose value
// later expansions in the same line use.
func (a *analyzer) assign(as *syntax.Assign) {
	if as.Name == nil || as.Naked {
		return
	}
	name := as.Name.Value
	if name == "IFS" {
		// Changing the field separator turns words into commands in ways
		// a static reading does not follow.
		a.res.computed = true
	}
	if as.Array != nil || as.Index != nil {
		if a.cond == 0 { // on some paths only, the old value may still be used
			delete(a.vars, name)
		}
		return
	}
	v := shVar{vals: []string{""}}
	if as.Value != nil {
		var r render
		v.vals[0] = a.renderWord(as.Value, &r)
		v.dyn, v.subst = r.flags&wDyn != 0, r.flags&wSubst != 0
	}
	old, had := a.vars[name]
	if as.Append {
		if !had {
			return
		}
		vals := make([]string, len(old.vals))
		for i, o := range old.vals {
			vals[i] = o + v.vals[0]
		}
		v = shVar{vals: vals, dyn: old.dyn || v.dyn, subst: old.subst || v.subst}
	} else if had && a.cond > 0 {
		// Assigned on some paths only: either value may be used later.
		v = shVar{vals: appendAlt(old.vals, v.vals[0]), dyn: old.dyn || v.dyn, subst: old.subst || v.subst}
		if len(v.vals) > maxAlts {
			v.vals = v.vals[:maxAlts]
			a.res.computed = true
		}
	}
	if a.vars == nil {
		a.vars = map[string]shVar{}
	}
	a.vars[name] = v
}

func appendAlt(vals []string, v string) []string {
	if slices.Contains(vals, v) {
		return vals
	}
	return append(slices.Clip(vals), v)
}

// forLoop walks a for loop's body once per item when the items are known
// (so for d in / ~; do rm -rf $d; done is seen as rm -rf / and rm -rf ~),
// otherwise once with the loop variable unknown.
func (a *analyzer) forLoop(wi *syntax.WordIter, body []*syntax.Stmt, depth int) {
	name := wi.Name.Value
	var items []shVar
	known := true
	if wi.InPos.IsValid() {
		for _, w := range wi.Items {
			a.scan(w, depth)
			words, f := a.appendFields(nil, w)
			for _, x := range words {
				// An unknown item ($HOME) keeps its source text, flagged.
				items = append(items, shVar{vals: []string{x}, dyn: f&wDyn != 0, subst: f&wSubst != 0})
			}
		}
	} else if fr := a.frame(); fr != nil && fr.known {
		for _, x := range fr.args[1:] {
			items = append(items, shVar{vals: []string{x}, dyn: fr.dyn})
		}
	} else {
		known = false
	}
	a.cond++
	defer func() { a.cond-- }()
	if !known || len(items) == 0 || len(items) > maxExpandedWords || a.rewalks+len(items) > maxRewalks {
		if known && len(items) > 0 {
			// Too much to follow item by item: what runs is not read.
			a.res.computed = true
		}
		delete(a.vars, name)
		a.stmts(body, depth)
		return
	}
	a.rewalks += len(items) - 1
	if a.vars == nil {
		a.vars = map[string]shVar{}
	}
	for _, it := range items {
		a.vars[name] = it
		a.stmts(body, depth)
	}
}

// frame returns the innermost positional parameters, or nil.
func (a *analyzer) frame() *posFrame {
	if len(a.pos) == 0 {
		return nil
	}
	return &a.pos[len(a.pos)-1]
}

// zero is $0 for a new frame: the enclosing one's.
func (a *analyzer) zero() string {
	if fr := a.frame(); fr != nil && fr.known && len(fr.args) > 0 {
		return fr.args[0]
	}
	return "bash"
}

// scan finds command and process substitutions anywhere below n and walks
// their statements.
func (a *analyzer) scan(n syntax.Node, depth int) {
	a.cond++ // substitutions run in subshells
	defer func() { a.cond-- }()
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
	// The body as written, with its arguments unknown.
	a.pos = append(a.pos, posFrame{})
	a.cond++
	a.stmt(f.Body, depth)
	a.cond--
	a.pos = a.pos[:len(a.pos)-1]
	if a.funcs == nil {
		a.funcs = map[string]*syntax.Stmt{}
	}
	for n := range names {
		a.funcs[n] = f.Body
	}
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

// call walks the body of a function defined earlier in the line with the
// call's arguments as $1, $2, ... (f(){ rm -rf "$1"; }; f /).
func (a *analyzer) call(body *syntax.Stmt, name string, cmd simpleCmd, depth int) {
	if a.active[name] {
		return
	}
	if a.rewalks >= maxRewalks || depth >= maxBashDepth {
		a.res.computed = true // too much to follow: what runs is not read
		return
	}
	a.rewalks++
	if a.active == nil {
		a.active = map[string]bool{}
	}
	a.active[name] = true
	a.pos = append(a.pos, posFrame{args: append([]string{a.zero()}, cmd.argv[1:]...), known: true, dyn: anyFlag(cmd.flags[1:], wDyn)})
	a.cond++ // local variables do not outlive the call
	a.stmt(body, depth+1)
	a.cond--
	a.pos = a.pos[:len(a.pos)-1]
	delete(a.active, name)
}

func (a *analyzer) pipeline(b *syntax.BinaryCmd, depth int) {
	a.pipes++
	a.cond++ // stages run in subshells
	defer func() { a.cond-- }()
	stages := flattenPipe(b, nil)
	cmds := make([]simpleCmd, len(stages))
	texts := make([]string, len(stages))
	for i, st := range stages {
		if i > 0 {
			a.stdin = stdinFrom(cmds[i-1])
		}
		cmds[i] = a.stmt(st, depth)
		if cmds[i].argv != nil {
			texts[i] = joinWords(cmds[i].argv, a.expWords)
		} else {
			texts[i] = a.print(st)
		}
	}
	a.stdin = nil
	a.res.Pipelines = append(a.res.Pipelines, texts)
	for j := 1; j < len(cmds); j++ {
		argv := cmds[j].argv
		if argv == nil {
			continue
		}
		shell := shellReadsStdin(argv) || sourcesStdin(argv)
		interp := !shell && commands.InterpReadsStdin(argv)
		if !shell && !interp {
			continue
		}
		download := false
		for i := 0; i < j; i++ {
			if isDownloader(commands.Name(cmds[i].argv)) {
				a.res.pipeToShell, download = true, true
			}
		}
		if download {
			continue // pipe_to_shell says it more precisely
		}
		prev := cmds[j-1]
		switch commands.Name(prev.argv) {
		case "echo", "printf":
			if !anyFlag(prev.flags[1:], wDyn) {
				// echo 'rm -rf /' | sh: the printed text is the code.
				text := printedText(prev.argv)
				if shell {
					a.reparse(text, depth+1)
				} else if commands.RunsOrDeletes(text) {
					a.res.interpDelete = true
				}
				continue
			}
		}
		// Code made at run time (base64 -d, rev, cat file, curl ...)
		// is fed to a shell or interpreter.
		a.res.computed = true
	}
}

// stdinFrom describes what a pipeline stage writes, for xargs/parallel in
// the next stage.
func stdinFrom(prev simpleCmd) *stdinInfo {
	switch commands.Name(prev.argv) {
	case "echo", "printf":
		return &stdinInfo{items: strings.Fields(printedText(prev.argv)), known: true, dyn: anyFlag(prev.flags[1:], wDyn)}
	case "find":
		f := commands.ParseFind(prev.argv)
		var danger []string
		for _, r := range f.Roots {
			if commands.IsDangerousDir(r) {
				danger = append(danger, r)
			}
		}
		switch {
		case len(danger) == 0:
			return &stdinInfo{safe: true}
		case !f.Narrowed:
			// find / | xargs rm -rf: the first path find prints is the root.
			return &stdinInfo{items: danger, known: true}
		}
	}
	return unknownStdin
}

// unknownStdin is shared (and never modified): input nothing is known of.
var unknownStdin = &stdinInfo{}

func isDownloader(name string) bool {
	switch name {
	case "curl", "wget", "fetch", "http", "https", "xh", "aria2c":
		return true
	}
	return false
}

// printedText approximates what echo/printf print: printf's format and
// echo -e arguments get their backslash escapes decoded.
func printedText(argv []string) string {
	args := argv[1:]
	if commands.Name(argv) == "printf" {
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

// addArgv strips wrappers from argv, records the resulting simple command
// and follows nested code (bash -c, eval, su -c, find -exec, heredocs,
// functions, xargs input). flags (nil: all literal) describe argv's words;
// s is the statement (for its redirections) and in what it reads from a
// pipe. It returns the recorded command, or a zero simpleCmd.
func (a *analyzer) addArgv(argv []string, flags []wordFlags, depth int, s *syntax.Stmt, in *stdinInfo) simpleCmd {
	if len(argv) == 0 {
		return simpleCmd{}
	}
	if flags == nil {
		flags = make([]wordFlags, len(argv))
	}
	u := commands.Unwrap(argv)
	if u.Privileged {
		a.res.privileged = true
	}
	if u.Start > 0 || u.HasCode || u.StdinArgs {
		a.res.wrapped = true
	}
	if u.Argv == nil {
		return simpleCmd{}
	}
	cmd := simpleCmd{argv: u.Argv, flags: flags[u.Start:u.End]}
	a.record(cmd.argv)
	a.writesFile(cmd, s)
	if code, ok := a.files[path.Clean(cmd.argv[0])]; ok && strings.ContainsRune(cmd.argv[0], '/') {
		a.runScript(code, cmd.argv, depth) // ./x.sh written earlier in the line
	}
	if u.HasCode {
		if anyFlag(flags[u.CodeFrom:u.CodeTo], wDyn) {
			a.res.computed = true
		}
		a.reparse(u.Code, depth+1)
		return cmd
	}
	if cmd.flags[0]&(wDynName|wBrace) != 0 {
		// $(echo rm) -rf /, $CMD, {rm,-rf,/}: the command itself is
		// computed at run time.
		a.res.computed = true
	}
	if u.StdinArgs {
		a.feedArgs(u, cmd, in, s, depth)
	}
	name := commands.Name(cmd.argv)
	switch {
	case isShell(name):
		if code, idx, ok := shellCode(cmd.argv); ok {
			if cmd.flags[idx]&wDyn != 0 {
				a.res.computed = true
			}
			args := cmd.argv[idx+1:]
			if len(args) == 0 {
				args = []string{name}
			}
			a.pos = append(a.pos, posFrame{args: args, known: true, dyn: anyFlag(cmd.flags[idx+1:], wDyn)})
			a.reparse(code, depth+1)
			a.pos = a.pos[:len(a.pos)-1]
		} else if shellReadsStdin(cmd.argv) {
			a.stdinCode(s, depth, true)
		} else if i := shellScriptOperand(cmd.argv); i > 0 {
			if cmd.flags[i]&wSubst != 0 {
				a.res.computed = true // bash <(...)
			} else if code, ok := a.files[path.Clean(cmd.argv[i])]; ok {
				a.runScript(code, cmd.argv[i:], depth)
			}
		}
	case name == "source" || name == ".":
		if len(cmd.argv) > 1 {
			if cmd.flags[1]&wSubst != 0 {
				a.res.computed = true // source <(...)
			}
			if isStdinPath(cmd.argv[1]) {
				a.stdinCode(s, depth, true)
			} else if code, ok := a.files[path.Clean(cmd.argv[1])]; ok {
				a.reparse(code, depth+1)
			}
		}
	case name == "eval":
		if anyFlag(cmd.flags[1:], wDyn) {
			a.res.computed = true
		}
		a.reparse(strings.Join(cmd.argv[1:], " "), depth+1)
	case name == "set":
		a.setPositional(cmd)
	case name == "read" || name == "unset":
		if a.cond == 0 { // on some paths only, the old value may still be used
			for _, v := range cmd.argv[1:] {
				delete(a.vars, v)
			}
		}
	case commands.IsInterpreter(name):
		a.interpreter(cmd, s)
	case name == "find":
		f := commands.ParseFind(cmd.argv)
		var danger []string
		if !f.Narrowed {
			for _, r := range f.Roots {
				if commands.IsDangerousDir(r) {
					danger = append(danger, r)
				}
			}
		}
		for _, sub := range findExecs(cmd.argv) {
			a.addArgv(sub, nil, depth+1, nil, nil)
			// Without a narrowing test the root itself is the first file
			// found: find / -exec sh -c 'rm -rf "$1"' _ {} \; runs on /.
			for _, root := range danger {
				rooted := make([]string, len(sub))
				for i, w := range sub {
					rooted[i] = strings.ReplaceAll(w, "{}", root)
				}
				if !slices.Equal(rooted, sub) {
					a.addArgv(rooted, nil, depth+1, nil, nil)
				}
			}
		}
		if a.cdDanger && f.Deletes && !f.Narrowed && slices.ContainsFunc(f.Roots, isDotDir) {
			a.res.cdDangerousRm = true
		}
	case name == "cd" || name == "pushd":
		a.cdDanger = commands.CdToDangerousDir(cmd.argv)
	case name == "rm":
		if a.cdDanger && rmRecursiveWildcard(cmd.argv) {
			a.res.cdDangerousRm = true
		}
		if commands.DeletesArgs(cmd.argv) {
			for i, w := range cmd.argv[1:] {
				// rm -rf "$(...)", or rm -rf "$DIR/" which is rm -rf /
				// when DIR is empty: the target is computed at run time.
				if f := cmd.flags[i+1]; f&wSubst != 0 || f&wDyn != 0 && commands.IsDangerousDir(emptyParamRe.ReplaceAllString(w, "")) {
					a.res.computed = true
				}
				// rm -rf /*/ or ~/*.d or ../*: a glob right below /, a home,
				// a system directory or a parent: what goes depends on
				// the disk at run time.
				if globBelowDangerous(w) {
					a.res.computed = true
				}
			}
		}
	case name == "tee":
		for _, arg := range cmd.argv[1:] {
			if blockDeviceRe.MatchString(arg) {
				a.res.blockDevWrite = true
			}
		}
	default:
		if body, ok := a.funcs[cmd.argv[0]]; ok {
			a.call(body, cmd.argv[0], cmd, depth)
		}
	}
	return cmd
}

// writesFile remembers text that echo, printf or cat (of a heredoc or
// here-string) writes to a file, so that running that file later in the
// line (bash x.sh, ./x.sh, source x.sh) is read as code.
func (a *analyzer) writesFile(cmd simpleCmd, s *syntax.Stmt) {
	if s == nil || len(s.Redirs) == 0 {
		return
	}
	var text string
	switch commands.Name(cmd.argv) {
	case "echo", "printf":
		text = printedText(cmd.argv) + "\n"
	case "cat":
		for _, r := range s.Redirs {
			switch {
			case r.Hdoc != nil && (r.Op == syntax.Hdoc || r.Op == syntax.DashHdoc):
				text = a.heredoc(r.Hdoc)
			case r.Op == syntax.WordHdoc && r.Word != nil:
				text = a.word(r.Word) + "\n"
			}
		}
	default:
		return
	}
	for _, r := range s.Redirs {
		if r.Word == nil {
			continue
		}
		switch r.Op {
		case syntax.RdrOut, syntax.RdrClob, syntax.AppOut:
			if a.files == nil {
				a.files = map[string]string{}
			}
			p := path.Clean(a.word(r.Word))
			if r.Op == syntax.AppOut {
				a.files[p] += text
			} else {
				a.files[p] = text
			}
		}
	}
}

// runScript reads a script written earlier in the line with its
// arguments as $0, $1, ...
func (a *analyzer) runScript(code string, args []string, depth int) {
	if a.rewalks >= maxRewalks {
		a.res.computed = true
		return
	}
	a.rewalks++
	a.pos = append(a.pos, posFrame{args: args, known: true})
	a.reparse(code, depth+1)
	a.pos = a.pos[:len(a.pos)-1]
}

// feedArgs handles xargs and parallel: with known input the command is
// recorded again with it (echo / | xargs rm -rf is rm -rf /); with unknown
// input a recursive rm or shred is computed at run time.
func (a *analyzer) feedArgs(u commands.Unwrapped, cmd simpleCmd, in *stdinInfo, s *syntax.Stmt, depth int) {
	items, known, dyn := u.Items, u.HasItems, false
	if !known {
		if in == nil {
			in = a.redirStdin(s)
		}
		if in != nil {
			if in.safe {
				return
			}
			items, known, dyn = in.items, in.known, in.dyn
		}
	}
	if (!known || dyn) && commands.DeletesArgs(cmd.argv) {
		a.res.computed = true
	}
	if !known || len(items) == 0 {
		return
	}
	repl := u.Replace
	if repl == "" || !slices.ContainsFunc(cmd.argv, func(w string) bool { return strings.Contains(w, repl) }) {
		a.addArgv(append(slices.Clip(cmd.argv), items...), nil, depth+1, nil, nil)
		return
	}
	if len(items) > maxExpandedWords {
		if commands.DeletesArgs(cmd.argv) {
			a.res.computed = true
		}
		items = items[:maxExpandedWords]
	}
	for _, it := range items {
		sub := make([]string, len(cmd.argv))
		for i, w := range cmd.argv {
			sub[i] = strings.ReplaceAll(w, repl, it)
		}
		a.addArgv(sub, nil, depth+1, nil, nil)
	}
}

// redirStdin describes stdin given by a here-string, heredoc or < file.
func (a *analyzer) redirStdin(s *syntax.Stmt) *stdinInfo {
	if s == nil {
		return nil
	}
	var in *stdinInfo
	for _, r := range s.Redirs {
		switch {
		case r.Op == syntax.WordHdoc && r.Word != nil:
			var rr render
			text := a.renderWord(r.Word, &rr)
			in = &stdinInfo{items: strings.Fields(text), known: true, dyn: rr.flags&wDyn != 0}
		case r.Hdoc != nil && (r.Op == syntax.Hdoc || r.Op == syntax.DashHdoc):
			in = &stdinInfo{items: strings.Fields(a.heredoc(r.Hdoc)), known: true}
		case r.Op == syntax.RdrIn:
			in = &stdinInfo{}
		}
	}
	return in
}

// stdinCode re-parses (shell) or inspects (interpreter) code given to a
// command by a heredoc or here-string.
func (a *analyzer) stdinCode(s *syntax.Stmt, depth int, shell bool) {
	if s == nil {
		return
	}
	for _, r := range s.Redirs {
		var code string
		switch {
		case r.Hdoc != nil && (r.Op == syntax.Hdoc || r.Op == syntax.DashHdoc):
			code = a.heredoc(r.Hdoc)
		case r.Op == syntax.WordHdoc && r.Word != nil:
			code = a.word(r.Word)
		default:
			continue
		}
		if shell {
			a.reparse(code, depth+1)
		} else if commands.RunsOrDeletes(code) {
			a.res.interpDelete = true
		}
	}
}

// setPositional handles set -- ARGS (and set ARGS), which replaces $1, $2...
func (a *analyzer) setPositional(cmd simpleCmd) {
	for i := 1; i < len(cmd.argv); i++ {
		w := cmd.argv[i]
		if w == "--" {
			i++
		} else if strings.HasPrefix(w, "-") || strings.HasPrefix(w, "+") {
			if w == "-o" || w == "+o" {
				i++
			}
			continue
		}
		fr := posFrame{args: append([]string{a.zero()}, cmd.argv[min(i, len(cmd.argv)):]...), known: true,
			dyn: anyFlag(cmd.flags[min(i, len(cmd.flags)):], wDyn)}
		if len(a.pos) == 0 {
			a.pos = append(a.pos, fr)
		} else {
			a.pos[len(a.pos)-1] = fr
		}
		return
	}
}

func (a *analyzer) record(argv []string) {
	if len(a.res.cmds) >= maxBashCommands {
		a.res.capped = true
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
					if isDownloader(commands.Name(commands.Unwrap(argv).Argv)) {
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

// render collects facts about a word while it is rendered.
type render struct {
	flags    wordFlags
	split    bool // an unquoted known variable: bash splits the value into words
	quoted   bool // some part is quoted
	expanded bool // some part is an expansion printed as shell source
}

// appendFields expands one word the way bash would before running a command,
// as far as a static reading can: known variables and positional
// parameters are substituted (and split when unquoted), "$@" gives one word
// per argument, brace expansions ({a,b}) give several words. Unknown
// expansions are kept as source and flagged.
func (a *analyzer) appendFields(out []string, w *syntax.Word) ([]string, wordFlags) {
	if p := soleParam(w); p != nil && (p.Param.Value == "@" || p.Param.Value == "*") {
		if fr := a.frame(); fr != nil && fr.known {
			var f wordFlags
			if fr.dyn {
				f = wDyn | wDynName
			}
			return append(out, fr.args[1:]...), f
		}
	}
	if words, f, ok := a.braceFields(w); ok {
		return append(out, words...), f
	}
	var r render
	s := a.renderWord(w, &r)
	if r.split && !r.quoted {
		return append(out, strings.Fields(s)...), r.flags
	}
	return append(out, s), r.flags
}

// soleParam returns the parameter expansion a word consists of ($x, "$x").
func soleParam(w *syntax.Word) *syntax.ParamExp {
	if len(w.Parts) != 1 {
		return nil
	}
	p := w.Parts[0]
	if dq, ok := p.(*syntax.DblQuoted); ok && len(dq.Parts) == 1 {
		p = dq.Parts[0]
	}
	if pe, ok := p.(*syntax.ParamExp); ok && simpleParam(pe) {
		return pe
	}
	return nil
}

// braceFields expands the list brace expansions of a word ({rm,-rf,/},
// /{etc,usr}); sequences ({1..9}) are kept as written, and a word that
// would expand to more than maxExpandedWords words is left as it is.
func (a *analyzer) braceFields(w *syntax.Word) ([]string, wordFlags, bool) {
	if !hasBraceList(w) {
		return nil, 0, false
	}
	// SplitBraces rewrites the word's parts; work on a copy so that the
	// tree stays walkable (syntax.Walk does not know BraceExp).
	cp := &syntax.Word{Parts: slices.Clone(w.Parts)}
	if !syntax.SplitBraces(cp) {
		return nil, 0, false
	}
	var flags wordFlags
	words, ok := a.braceExpand(cp.Parts, &flags)
	if !ok {
		a.res.computed = true // too many words to follow
		return nil, 0, false
	}
	if len(words) < 2 {
		return nil, 0, false
	}
	return words, flags | wBrace, true
}

// hasBraceList is a cheap test for an unquoted literal with { and a comma.
func hasBraceList(w *syntax.Word) bool {
	for _, p := range w.Parts {
		if l, ok := p.(*syntax.Lit); ok && strings.IndexByte(l.Value, '{') >= 0 {
			return true
		}
	}
	return false
}

func (a *analyzer) braceExpand(parts []syntax.WordPart, flags *wordFlags) ([]string, bool) {
	acc := []string{""}
	for _, p := range parts {
		if be, ok := p.(*syntax.BraceExp); ok && !be.Sequence {
			var alts []string
			for _, e := range be.Elems {
				sub, ok := a.braceExpand(e.Parts, flags)
				if !ok {
					return nil, false
				}
				alts = append(alts, sub...)
			}
			if len(acc)*len(alts) > maxExpandedWords {
				return nil, false
			}
			next := make([]string, 0, len(acc)*len(alts))
			for _, x := range acc {
				for _, y := range alts {
					next = append(next, x+y)
				}
			}
			acc = next
			continue
		}
		var r render
		var sb strings.Builder
		a.part(&sb, p, false, &r)
		*flags |= r.flags &^ wDynName
		for i := range acc {
			acc[i] += sb.String()
		}
	}
	return acc, true
}

// word renders a word with quotes removed: literal text is unescaped,
// known variables are substituted, unknown simple parameter expansions are
// written $NAME and anything else (command substitutions, arithmetic,
// complex expansions) is printed as shell source.
func (a *analyzer) word(w *syntax.Word) string {
	var r render
	return a.renderWord(w, &r)
}

func (a *analyzer) renderWord(w *syntax.Word, r *render) string {
	if len(w.Parts) == 1 {
		if l, ok := w.Parts[0].(*syntax.Lit); ok && strings.IndexByte(l.Value, '\\') < 0 {
			if hasGlob(lastSegment(l.Value)) {
				r.flags |= wDynName
			}
			return l.Value
		}
	}
	var sb strings.Builder
	for _, p := range w.Parts {
		a.part(&sb, p, false, r)
	}
	s := sb.String()
	if r.expanded && strings.ContainsAny(s, " \t\n\r\v\f") {
		if a.expWords == nil {
			a.expWords = map[string]bool{}
		}
		a.expWords[s] = true
	}
	return s
}

// part appends one word part and records in r what it was.
func (a *analyzer) part(sb *strings.Builder, p syntax.WordPart, dquoted bool, r *render) {
	switch p := p.(type) {
	case *syntax.Lit:
		text := p.Value
		if dquoted {
			text = unescapeDouble(text)
		} else {
			if hasGlob(lastSegment(text)) {
				r.flags |= wDynName
			}
			text = unescapeUnquoted(text)
		}
		if strings.IndexByte(text, '/') >= 0 && !hasGlob(lastSegment(p.Value)) {
			r.flags &^= wDynName
		}
		sb.WriteString(text)
	case *syntax.SglQuoted:
		r.quoted = true
		text := p.Value
		if p.Dollar {
			text = decodeANSIC(text)
		}
		if strings.IndexByte(text, '/') >= 0 {
			r.flags &^= wDynName
		}
		sb.WriteString(text)
	case *syntax.DblQuoted:
		r.quoted = true
		for _, q := range p.Parts {
			a.part(sb, q, true, r)
		}
	case *syntax.ParamExp:
		a.param(sb, p, dquoted, r)
	case *syntax.CmdSubst, *syntax.ProcSubst:
		r.flags |= wDyn | wDynName | wSubst
		r.expanded = true
		sb.WriteString(a.printPart(p))
	case *syntax.BraceExp:
		// Left unexpanded ({1..9}, or too many words): written as source.
		r.flags |= wDyn | wDynName
		sep := ","
		if p.Sequence {
			sep = ".."
		}
		sb.WriteByte('{')
		for i, e := range p.Elems {
			if i > 0 {
				sb.WriteString(sep)
			}
			for _, q := range e.Parts {
				a.part(sb, q, dquoted, r)
			}
		}
		sb.WriteByte('}')
	default: // ArithmExp, ExtGlob
		r.flags |= wDyn | wDynName
		r.expanded = true
		sb.WriteString(a.printPart(p))
	}
}

// param renders a parameter expansion: the value of a variable or
// positional parameter known from the same line, else $NAME (or the
// printed expansion) flagged as unknown.
func (a *analyzer) param(sb *strings.Builder, p *syntax.ParamExp, dquoted bool, r *render) {
	if p.Param != nil && p.Param.Value == "IFS" {
		a.res.computed = true // rm${IFS}-rf${IFS}/
	}
	if p.Exp != nil && p.Param != nil {
		q := *p
		q.Exp = nil
		if simpleParam(&q) {
			switch p.Exp.Op {
			case syntax.ErrorUnset, syntax.ErrorUnsetOrNull:
				// ${HOME:?} is $HOME (or an error).
				a.param(sb, &q, dquoted, r)
				return
			case syntax.DefaultUnset, syntax.DefaultUnsetOrNull, syntax.AssignUnset, syntax.AssignUnsetOrNull:
				// ${X:-/}: X's value if known, else the default, which is
				// what runs when X is unset.
				_, known := a.vars[q.Param.Value]
				if known || p.Exp.Word == nil {
					a.param(sb, &q, dquoted, r)
					return
				}
				for _, part := range p.Exp.Word.Parts {
					a.part(sb, part, dquoted, r)
				}
				r.flags |= wDyn | wDynName
				r.expanded = true
				return
			}
		}
	}
	if simpleParam(p) {
		name := p.Param.Value
		if fr := a.frame(); fr != nil && fr.known && isPositional(name) {
			switch name {
			case "@", "*":
				sb.WriteString(strings.Join(fr.args[1:], " "))
			default:
				if n := positionalIndex(name); n < len(fr.args) {
					sb.WriteString(fr.args[n])
				}
			}
			if fr.dyn {
				r.flags |= wDyn | wDynName
			}
			if !dquoted {
				r.split = true
			}
			return
		}
		if v, ok := a.vars[name]; ok {
			val := v.vals[min(a.alt, len(v.vals)-1)]
			a.altN = max(a.altN, len(v.vals))
			sb.WriteString(val)
			if v.dyn {
				r.flags |= wDyn | wDynName
				r.expanded = true
			} else if strings.IndexByte(val, '/') >= 0 {
				r.flags &^= wDynName
			}
			if v.subst {
				r.flags |= wSubst
			}
			if !dquoted {
				r.split = true
			}
			return
		}
		sb.WriteByte('$')
		sb.WriteString(name)
	} else {
		sb.WriteString(a.printPart(p))
	}
	r.flags |= wDyn | wDynName
	r.expanded = true
}

// globBelowDangerous reports a path whose first glob segment is directly
// below /, a home or system directory, or only parent directories (..).
func globBelowDangerous(p string) bool {
	if !hasGlob(p) {
		return false
	}
	segs := strings.Split(p, "/")
	for i, seg := range segs {
		if !hasGlob(seg) {
			continue
		}
		if i == 0 {
			return false // relative to the working directory
		}
		parent := strings.Join(segs[:i], "/") + "/"
		if commands.IsDangerousDir(parent) {
			return true
		}
		return strings.Trim(strings.ReplaceAll(parent, "..", ""), "/") == "" && strings.Contains(parent, "..")
	}
	return false
}

// emptyParamRe matches parameter expansions as written in normalized words.
var emptyParamRe = regexp.MustCompile(`\$(?:[A-Za-z_][A-Za-z0-9_]*|\{[^}]*\}|[0-9@*#?$!-])`)

func isPositional(name string) bool {
	if name == "@" || name == "*" {
		return true
	}
	for i := 0; i < len(name); i++ {
		if name[i] < '0' || name[i] > '9' {
			return false
		}
	}
	return name != ""
}

func positionalIndex(name string) int {
	n := 0
	for i := 0; i < len(name) && n < 1<<20; i++ {
		n = n*10 + int(name[i]-'0')
	}
	return n
}

// lastSegment is the text after the last slash.
func lastSegment(s string) string {
	if i := strings.LastIndexByte(s, '/'); i >= 0 {
		return s[i+1:]
	}
	return s
}

// hasGlob reports unescaped pathname-expansion characters (* ? [...]).
func hasGlob(s string) bool {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '*', '?':
			return true
		case '[':
			if strings.IndexByte(s[i+1:], ']') >= 0 {
				return true
			}
		}
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

// shellCode returns the code string of `sh -c CODE` style invocations and
// its index in argv.
func shellCode(argv []string) (string, int, bool) {
	hasC := false
	for i := 1; i < len(argv); i++ {
		a := argv[i]
		switch {
		case a == "--" || a == "-":
			if hasC && i+1 < len(argv) {
				return argv[i+1], i + 1, true
			}
			return "", 0, false
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
				return a, i, true
			}
			return "", 0, false
		}
	}
	return "", 0, false
}

// shellScriptOperand returns the index of a shell's script operand
// (bash FILE, bash <(...)), or -1.
func shellScriptOperand(argv []string) int {
	for i := 1; i < len(argv); i++ {
		a := argv[i]
		switch {
		case a == "--" || a == "-":
			if i+1 < len(argv) {
				return i + 1
			}
			return -1
		case a == "-o" || a == "+o" || a == "-O" || a == "+O" || a == "--rcfile" || a == "--init-file":
			i++
		case len(a) > 1 && (a[0] == '-' || a[0] == '+'):
		default:
			return i
		}
	}
	return -1
}

// isStdinPath reports paths that name standard input.
func isStdinPath(p string) bool {
	switch p {
	case "/dev/stdin", "/dev/fd/0", "/proc/self/fd/0":
		return true
	}
	return false
}

// sourcesStdin reports source /dev/stdin (or . /dev/stdin).
func sourcesStdin(argv []string) bool {
	name := commands.Name(argv)
	return (name == "source" || name == ".") && len(argv) > 1 && isStdinPath(argv[1])
}

// isDotDir reports the current directory as a find root.
func isDotDir(p string) bool { return p == "." || p == "./" }

// shellReadsStdin reports whether a shell invocation reads its script from
// standard input: no -c and no script operand, or -s.
func shellReadsStdin(argv []string) bool {
	if !isShell(commands.Name(argv)) {
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
func fallbackAnalysis(cmd string) Analysis {
	res := Analysis{Fallback: true}
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
		u := commands.Unwrap(words)
		privileged = privileged || u.Privileged
		if u.HasCode {
			words = strings.Fields(quoteBreaker.Replace(u.Code))
			continue
		}
		words = u.Argv
		if len(words) == 0 {
			return nil, privileged
		}
		name := commands.Name(words)
		if isShell(name) {
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
