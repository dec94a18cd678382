package policy

import (
	"path"
	"regexp"
	"strings"

	"mvdan.cc/sh/v3/syntax"
)

// IsDangerousDir reports a directory whose wholesale deletion, move or
// overwrite is catastrophic: /, a home directory (~, ~user, $HOME,
// /home/user), a top-level system directory or /usr/<dir>. A trailing /*
// and redundant slashes or dots (//, /./, /usr/..) do not hide it.
func IsDangerousDir(p string) bool {
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

func IsCriticalFile(p string) bool {
	if strings.HasPrefix(p, "/") {
		p = path.Clean(p)
	}
	return criticalFileRe.MatchString(p)
}

func IsSystemBinary(p string) bool {
	if strings.HasPrefix(p, "/") {
		p = path.Clean(p)
	}
	return systemBinaryRe.MatchString(p)
}

// Find is what a find command line does, as far as deletion goes.
type Find struct {
	Roots    []string
	Deletes  bool // -delete, or -exec/-ok of rm, shred, unlink
	Narrowed bool // a test picks some files (-name x, -mtime +3, ...), so not everything goes
}

// findNarrowing lists find tests that select a subset of the files.
var findNarrowing = map[string]bool{
	"-name": true, "-iname": true, "-path": true, "-ipath": true, "-wholename": true, "-iwholename": true,
	"-regex": true, "-iregex": true, "-lname": true, "-ilname": true, "-newer": true, "-anewer": true, "-cnewer": true,
	"-mtime": true, "-mmin": true, "-ctime": true, "-cmin": true, "-atime": true, "-amin": true, "-size": true,
	"-user": true, "-group": true, "-uid": true, "-gid": true, "-nouser": true, "-nogroup": true, "-perm": true,
	"-inum": true, "-samefile": true, "-links": true, "-empty": true, "-used": true, "-newermt": true,
}

func ParseFind(argv []string) Find {
	var f Find
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
		f.Roots = append(f.Roots, a)
		i++
	}
	if len(f.Roots) == 0 {
		f.Roots = []string{"."}
	}
	for ; i < len(argv); i++ {
		a := argv[i]
		switch {
		case a == "-delete":
			f.Deletes = true
		case a == "-exec" || a == "-execdir" || a == "-ok" || a == "-okdir":
			if i+1 < len(argv) {
				u := Unwrap(argv[i+1:])
				switch Name(u.Argv) {
				case "rm", "shred", "unlink", "rmdir", "truncate":
					f.Deletes = true
				}
			}
		case findNarrowing[a]:
			// -name '*' selects everything.
			if i+1 < len(argv) && (argv[i+1] == "*" || argv[i+1] == "**") {
				continue
			}
			f.Narrowed = true
		}
	}
	return f
}

// FindDeletes returns whether some find in the command line deletes below
// a dangerous root, and whether it does so without a narrowing test.
func (b *Analysis) FindDeletes() (broad, filtered bool) {
	for _, c := range b.cmds {
		if Name(c.argv) != "find" {
			continue
		}
		f := ParseFind(c.argv)
		if !f.Deletes {
			continue
		}
		for _, r := range f.Roots {
			if IsDangerousDir(r) {
				if f.Narrowed {
					filtered = true
				} else {
					broad = true
				}
			}
		}
	}
	return broad, filtered
}

// RsyncDeletesDangerous: rsync --delete (or a variant) into /, a home or a
// system directory, which deletes whatever is not in the source.
func (b *Analysis) RsyncDeletesDangerous() bool {
	for _, c := range b.cmds {
		if Name(c.argv) != "rsync" || len(c.argv) < 3 {
			continue
		}
		del := false
		for _, a := range c.argv[1:] {
			if a == "--del" || strings.HasPrefix(a, "--delete") || a == "--remove-source-files" {
				del = true
			}
		}
		dest := c.argv[len(c.argv)-1]
		if del && !strings.HasPrefix(dest, "-") && IsDangerousDir(dest) {
			return true
		}
	}
	return false
}

// MovesDangerousDir: mv of /, a home or a system directory (to /dev/null,
// to the trash, anywhere): the system or the home is gone from its place.
func (b *Analysis) MovesDangerousDir() bool {
	for _, c := range b.cmds {
		if Name(c.argv) != "mv" {
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
			if IsDangerousDir(s) {
				return true
			}
		}
	}
	return false
}

// ClobbersSystemFile: a critical system file (/etc/passwd, /etc/shadow,
// /etc/sudoers, /boot/...) or system program is deleted, truncated,
// shredded, moved, overwritten or edited in place (sed -i).
func (b *Analysis) ClobbersSystemFile() bool {
	if b.sysFileClobber {
		return true
	}
	for _, c := range b.cmds {
		args := c.argv[1:]
		switch Name(c.argv) {
		case "rm", "unlink", "shred", "truncate", "srm", "wipe":
			for _, a := range Operands(args, false) {
				if IsCriticalFile(a) || IsSystemBinary(a) {
					return true
				}
			}
		case "mv":
			for _, a := range Operands(args, false) {
				if IsCriticalFile(a) || IsSystemBinary(a) {
					return true
				}
			}
		case "cp", "install", "ln":
			ops := Operands(args, false)
			if len(ops) >= 2 && IsCriticalFile(ops[len(ops)-1]) {
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
			for _, a := range Operands(args, false) {
				if IsCriticalFile(a) || IsSystemBinary(a) {
					return true
				}
			}
		case "sed", "perl":
			// In-place edits: sed -i, sed --in-place, perl -pi -e.
			if !HasOpt(args, 'i', "--in-place") {
				continue
			}
			for _, a := range Operands(args, true) {
				if IsCriticalFile(a) || IsSystemBinary(a) {
					return true
				}
			}
		case "dd":
			for _, a := range args {
				if of, ok := strings.CutPrefix(a, "of="); ok && (IsCriticalFile(of) || IsSystemBinary(of)) {
					return true
				}
			}
		}
	}
	return false
}

// WipesDevice: a command that erases a disk device (shred /dev/sda,
// wipefs -a, blkdiscard, sgdisk --zap-all, mkswap, cryptsetup luksFormat,
// badblocks -w, diskutil eraseDisk, cp or mv onto it).
func (b *Analysis) WipesDevice() bool {
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
		switch Name(c.argv) {
		case "shred", "blkdiscard", "mkswap", "wipe", "srm":
			return true
		case "cp", "install", "mv":
			// cp /dev/zero /dev/sda: the device is the destination.
			if ops := Operands(args, false); len(ops) >= 2 && blockDeviceRe.MatchString(ops[len(ops)-1]) {
				return true
			}
		case "wipefs":
			if HasOpt(args, 'a', "--all") || HasOpt(args, 'o', "--offset") {
				return true
			}
		case "sgdisk":
			if HasOpt(args, 'Z', "--zap-all") || HasOpt(args, 'z', "--zap") || HasOpt(args, 'o', "--clear") {
				return true
			}
		case "badblocks":
			if HasOpt(args, 'w', "") {
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

// HasOpt reports a short option (also inside a cluster such as -fa) or a
// long option.
func HasOpt(args []string, short byte, long string) bool {
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

// DeletesArgs reports commands that destroy what their (unknown) arguments
// name: rm -r and shred.
func DeletesArgs(argv []string) bool {
	switch Name(argv) {
	case "rm":
		return HasOpt(argv[1:], 'r', "--recursive") || HasOpt(argv[1:], 'R', "")
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

// interpreter checks the inline code of python -c, perl -e, node -e, awk
// 'prog', ... (or a heredoc it reads) for deleting files or running
// commands; code computed at run time (python3 -c "$CODE") is computed.
func (a *analyzer) interpreter(cmd simpleCmd, s *syntax.Stmt) {
	code, idx, stdin := InterpCode(cmd.argv)
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
		interpreters[interpName(Name(cmd.argv))].backtick && strings.IndexByte(code, '`') >= 0 {
		a.res.interpDelete = true
	}
}
