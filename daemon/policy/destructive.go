package policy

import (
	"path"
	"regexp"
	"strings"

	"mvdan.cc/sh/v3/syntax"
)

// isDangerousDir reports a directory whose wholesale deletion, move or
// overwrite is catastrophic: /, a home directory (~, ~user, $HOME,
// /home/user), a top-level system directory or /usr/<dir>. A trailing /*
// and redundant slashes or dots (//, /./, /usr/..) do not hide it.
func isDangerousDir(p string) bool {
	if p == "" {
		return false
	}
	if dangerousDirRe.MatchString(p) {
		return true
	}
	q := p
	if strings.HasSuffix(q, "/*") || strings.HasSuffix(q, "/.*") {
		q = q[:strings.LastIndexByte(q, '/')+1]
	}
	if strings.HasPrefix(q, "/") {
		q = path.Clean(q)
	}
	return q != p && dangerousDirRe.MatchString(q)
}

// criticalFileRe matches system files whose loss or truncation locks users
// out or stops the machine from booting.
var criticalFileRe = regexp.MustCompile(`^/(?:etc/(?:passwd|shadow|group|gshadow|sudoers|fstab|crypttab|ld\.so\.preload|ld\.so\.conf|(?:sudoers\.d|pam\.d|security)/[^/]+|ssh/sshd_config)|boot/.+)$`)

// systemBinaryRe matches programs and libraries of the system.
var systemBinaryRe = regexp.MustCompile(`^/(?:usr/)?(?:s?bin|lib|lib32|lib64|libexec)/.+$`)

func isCriticalFile(p string) bool {
	if strings.HasPrefix(p, "/") {
		p = path.Clean(p)
	}
	return criticalFileRe.MatchString(p)
}

func isSystemBinary(p string) bool {
	if strings.HasPrefix(p, "/") {
		p = path.Clean(p)
	}
	return systemBinaryRe.MatchString(p)
}

// findCmd is what a find command line does, as far as deletion goes.
type findCmd struct {
	roots    []string
	deletes  bool // -delete, or -exec/-ok of rm, shred, unlink
	narrowed bool // a test picks some files (-name x, -mtime +3, ...), so not everything goes
}

// findNarrowing lists find tests that select a subset of the files.
var findNarrowing = map[string]bool{
	"-name": true, "-iname": true, "-path": true, "-ipath": true, "-wholename": true, "-iwholename": true,
	"-regex": true, "-iregex": true, "-lname": true, "-ilname": true, "-newer": true, "-anewer": true, "-cnewer": true,
	"-mtime": true, "-mmin": true, "-ctime": true, "-cmin": true, "-atime": true, "-amin": true, "-size": true,
	"-user": true, "-group": true, "-uid": true, "-gid": true, "-nouser": true, "-nogroup": true, "-perm": true,
	"-inum": true, "-samefile": true, "-links": true, "-empty": true, "-used": true, "-newermt": true,
}

func parseFind(argv []string) findCmd {
	var f findCmd
	i := 1
	// Leading options: -H -L -P -O3 -D debugopts.
	for i < len(argv) {
		a := argv[i]
		if a == "-H" || a == "-L" || a == "-P" || strings.HasPrefix(a, "-O") {
			i++
			continue
		}
		if a == "-D" {
			i += 2
			continue
		}
		break
	}
	for i < len(argv) {
		a := argv[i]
		if strings.HasPrefix(a, "-") || a == "(" || a == "!" || a == "," || a == ")" {
			break
		}
		f.roots = append(f.roots, a)
		i++
	}
	if len(f.roots) == 0 {
		f.roots = []string{"."}
	}
	for ; i < len(argv); i++ {
		a := argv[i]
		switch {
		case a == "-delete":
			f.deletes = true
		case a == "-exec" || a == "-execdir" || a == "-ok" || a == "-okdir":
			if i+1 < len(argv) {
				u := unwrap(argv[i+1:])
				switch cmdName(u.argv) {
				case "rm", "shred", "unlink", "rmdir", "truncate":
					f.deletes = true
				}
			}
		case findNarrowing[a]:
			// -name '*' selects everything.
			if i+1 < len(argv) && (argv[i+1] == "*" || argv[i+1] == "**") {
				continue
			}
			f.narrowed = true
		}
	}
	return f
}

// findDeletes returns whether some find in the command line deletes below
// a dangerous root, and whether it does so without a narrowing test.
func (b *BashAnalysis) findDeletes() (broad, filtered bool) {
	for _, c := range b.cmds {
		if cmdName(c.argv) != "find" {
			continue
		}
		f := parseFind(c.argv)
		if !f.deletes {
			continue
		}
		for _, r := range f.roots {
			if isDangerousDir(r) {
				if f.narrowed {
					filtered = true
				} else {
					broad = true
				}
			}
		}
	}
	return broad, filtered
}

// rsyncDeletesDangerous: rsync --delete (or a variant) into /, a home or a
// system directory, which deletes whatever is not in the source.
func (b *BashAnalysis) rsyncDeletesDangerous() bool {
	for _, c := range b.cmds {
		if cmdName(c.argv) != "rsync" || len(c.argv) < 3 {
			continue
		}
		del := false
		for _, a := range c.argv[1:] {
			if a == "--del" || strings.HasPrefix(a, "--delete") || a == "--remove-source-files" {
				del = true
			}
		}
		dest := c.argv[len(c.argv)-1]
		if del && !strings.HasPrefix(dest, "-") && isDangerousDir(dest) {
			return true
		}
	}
	return false
}

// movesDangerousDir: mv of /, a home or a system directory (to /dev/null,
// to the trash, anywhere): the system or the home is gone from its place.
func (b *BashAnalysis) movesDangerousDir() bool {
	for _, c := range b.cmds {
		if cmdName(c.argv) != "mv" {
			continue
		}
		var ops []string
		target := false
		opts := true
		for i := 1; i < len(c.argv); i++ {
			a := c.argv[i]
			switch {
			case opts && a == "--":
				opts = false
			case opts && (a == "-t" || a == "--target-directory" || a == "-S" || a == "--suffix"):
				target = target || a == "-t" || a == "--target-directory"
				i++
			case opts && strings.HasPrefix(a, "--target-directory="):
				target = true
			case opts && len(a) > 1 && a[0] == '-':
			default:
				ops = append(ops, a)
			}
		}
		sources := ops
		if !target && len(ops) > 0 {
			sources = ops[:len(ops)-1]
		}
		for _, s := range sources {
			if isDangerousDir(s) {
				return true
			}
		}
	}
	return false
}

// clobbersSystemFile: a critical system file (/etc/passwd, /etc/shadow,
// /etc/sudoers, /boot/...) or system program is deleted, truncated,
// shredded, moved, overwritten or edited in place (sed -i).
func (b *BashAnalysis) clobbersSystemFile() bool {
	if b.sysFileClobber {
		return true
	}
	for _, c := range b.cmds {
		args := c.argv[1:]
		switch cmdName(c.argv) {
		case "rm", "unlink", "shred", "truncate", "srm", "wipe":
			for _, a := range operands(args, false) {
				if isCriticalFile(a) || isSystemBinary(a) {
					return true
				}
			}
		case "mv":
			for _, a := range operands(args, false) {
				if isCriticalFile(a) || isSystemBinary(a) {
					return true
				}
			}
		case "cp", "install", "ln":
			ops := operands(args, false)
			if len(ops) >= 2 && isCriticalFile(ops[len(ops)-1]) {
				return true
			}
		case "tee":
			appends := false
			for _, a := range args {
				if a == "-a" || a == "--append" || (len(a) > 1 && a[0] == '-' && a[1] != '-' && strings.IndexByte(a, 'a') > 0) {
					appends = true
				}
			}
			if appends {
				continue
			}
			for _, a := range operands(args, false) {
				if isCriticalFile(a) || isSystemBinary(a) {
					return true
				}
			}
		case "sed", "perl":
			// In-place edits: sed -i, sed --in-place, perl -pi -e.
			if !hasOpt(args, 'i', "--in-place") {
				continue
			}
			for _, a := range operands(args, true) {
				if isCriticalFile(a) || isSystemBinary(a) {
					return true
				}
			}
		case "dd":
			for _, a := range args {
				if of, ok := strings.CutPrefix(a, "of="); ok && (isCriticalFile(of) || isSystemBinary(of)) {
					return true
				}
			}
		}
	}
	return false
}

// wipesDevice: a command that erases a disk device (shred /dev/sda,
// wipefs -a, blkdiscard, sgdisk --zap-all, mkswap, cryptsetup luksFormat,
// badblocks -w, diskutil eraseDisk, cp or mv onto it).
func (b *BashAnalysis) wipesDevice() bool {
	for _, c := range b.cmds {
		dev := false
		for _, a := range c.argv[1:] {
			if strings.HasPrefix(a, "/dev/") && blockDeviceRe.MatchString(a) {
				dev = true
				break
			}
		}
		if !dev {
			continue
		}
		args := c.argv[1:]
		switch cmdName(c.argv) {
		case "shred", "blkdiscard", "mkswap", "wipe", "srm":
			return true
		case "cp", "install", "mv":
			// cp /dev/zero /dev/sda: the device is the destination.
			if ops := operands(args, false); len(ops) >= 2 && blockDeviceRe.MatchString(ops[len(ops)-1]) {
				return true
			}
		case "wipefs":
			if hasOpt(args, 'a', "--all") || hasOpt(args, 'o', "--offset") {
				return true
			}
		case "sgdisk":
			if hasOpt(args, 'Z', "--zap-all") || hasOpt(args, 'z', "--zap") || hasOpt(args, 'o', "--clear") {
				return true
			}
		case "badblocks":
			if hasOpt(args, 'w', "") {
				return true
			}
		case "diskutil":
			for _, a := range args {
				if strings.HasPrefix(a, "erase") || a == "zeroDisk" || a == "randomDisk" || a == "secureErase" || a == "partitionDisk" {
					return true
				}
			}
		case "cryptsetup":
			for _, a := range args {
				if a == "luksFormat" || a == "erase" || a == "luksErase" {
					return true
				}
			}
		}
	}
	return false
}

// hasOpt reports a short option (also inside a cluster such as -fa) or a
// long option.
func hasOpt(args []string, short byte, long string) bool {
	for _, a := range args {
		if a == "--" {
			return false
		}
		if long != "" && (a == long || strings.HasPrefix(a, long+"=")) {
			return true
		}
		if len(a) > 1 && a[0] == '-' && a[1] != '-' && strings.IndexByte(a[1:], short) >= 0 {
			return true
		}
	}
	return false
}

// deletesArgs reports commands that destroy what their (unknown) arguments
// name: rm -r and shred.
func deletesArgs(argv []string) bool {
	switch cmdName(argv) {
	case "rm":
		return hasOpt(argv[1:], 'r', "--recursive") || hasOpt(argv[1:], 'R', "")
	case "shred":
		return true
	}
	return false
}

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

func isInterpreter(name string) bool {
	_, ok := interpreters[interpName(name)]
	return ok
}

// interpDeleteRe matches inline interpreter code that deletes files or
// runs commands (whose text a static reading of the shell does not see).
var interpDeleteRe = regexp.MustCompile(`rmtree|remove_tree|rm_rf|rm_r\b|\brmSync|rmdirSync|unlinkSync|\bunlink\b|\brmdir\b|removedirs|os\.remove|removeSync|Deno\.remove|File\.delete|Dir\.delete|FileUtils\.|fs\.rm\b|fs\.promises\.rm|os\.system|os\.popen|os\.exec|os\.spawn|subprocess|child_process|execSync|spawnSync|\bsystem\s*\(|\bsystem\s+["'\x60]|\bexec\s*\(|shell_exec|passthru|proc_open|\bpopen\b|\bqx\b|Remove-Item|do shell script|os\.truncate|__import__|pty\.spawn|\|\s*"[^"]*sh\b`)

// interpCode returns the inline code given to an interpreter (python -c,
// perl -e, node -e, awk 'prog'), its index in argv, and whether it reads
// code from stdin instead.
func interpCode(argv []string) (code string, idx int, stdin bool) {
	spec := interpreters[interpName(cmdName(argv))]
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

// interpReadsStdin reports an interpreter that reads its program from
// stdin (python3, python3 -, perl, node).
func interpReadsStdin(argv []string) bool {
	if !isInterpreter(cmdName(argv)) {
		return false
	}
	_, _, stdin := interpCode(argv)
	return stdin
}

// interpreter checks the inline code of python -c, perl -e, node -e, awk
// 'prog', ... (or a heredoc it reads) for deleting files or running
// commands; code computed at run time (python3 -c "$CODE") is computed.
func (a *analyzer) interpreter(cmd simpleCmd, s *syntax.Stmt) {
	code, idx, stdin := interpCode(cmd.argv)
	if stdin {
		a.stdinCode(s, 0, false)
		return
	}
	if code == "" {
		return
	}
	if idx > 0 && idx < len(cmd.flags) && cmd.flags[idx]&wDyn != 0 {
		a.res.computed = true // python3 -c "$CODE"
	}
	if interpDeleteRe.MatchString(code) ||
		interpreters[interpName(cmdName(cmd.argv))].backtick && strings.IndexByte(code, '`') >= 0 {
		a.res.interpDelete = true
	}
}
