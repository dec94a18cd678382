package shell

import (
	"path"
	"strings"

	"github.com/claudebench/cb/daemon/policy/internal/commands"
	"mvdan.cc/sh/v3/syntax"
)

// The facts below are what the special predicates of daemon/policy are
// made of; each holds for the command line as a whole.

// PipeToShell: a download (curl, wget, fetch, httpie, xh, aria2c) is piped
// into a shell reading stdin, or substituted into sh -c, bash <(...), eval
// or source.
func (b *Analysis) PipeToShell() bool { return b.pipeToShell }

// ForkBomb: a function calls itself in a pipeline or in the background.
func (b *Analysis) ForkBomb() bool { return b.forkBomb }

// CdDangerousRm: a cd to /, ~, $HOME or a top-level system directory (or a
// bare cd) is followed by rm -r of *, ., ./* or .* (or find . -delete).
func (b *Analysis) CdDangerousRm() bool { return b.cdDangerousRm }

// BlockDeviceWrite: output is redirected or tee'd into a disk device.
func (b *Analysis) BlockDeviceWrite() bool { return b.blockDevWrite }

// Privileged: some simple command runs through sudo, doas, pkexec, su or
// runuser.
func (b *Analysis) Privileged() bool { return b.privileged }

// Computed: what runs is computed at run time, so no static reading can
// know it (see the package documentation).
func (b *Analysis) Computed() bool { return b.computed }

// ReadOnly: the line only reads. Every simple command (including those in
// $(...), <(...), loops, functions and find -exec) is a read-only command
// named without a path and used without an option that writes or runs
// something else (commands.ReadOnly: ls, cat, grep, git status/log/diff,
// find without -exec/-delete, ...); output goes to the terminal, a
// descriptor or /dev/null, never to a file; no variable is assigned (PATH=
// or LD_PRELOAD= would change what runs), no wrapper (env, timeout, xargs,
// sudo, ...) is used; what runs is not computed; no secret file is read;
// and the line parsed completely. A read-only line has at least one
// command.
func (b *Analysis) ReadOnly() bool {
	if b.Fallback || b.computed || b.privileged || b.writeRedir || b.assigns || b.wrapped || b.capped ||
		b.pipeToShell || b.interpDelete || b.forkBomb || len(b.cmds) == 0 || b.ReadsSecret() {
		return false
	}
	for _, c := range b.cmds {
		if !commands.ReadOnly(c.argv) {
			return false
		}
	}
	return true
}

// ReadOnlyWithin is ReadOnly, and every path a command names (a word, or
// the value of an --opt=value word, that is absolute, starts with ~, holds
// a variable or climbs with ..) lies inside dir, an absolute directory:
// reading ~/.npmrc or /etc is not approved by a rule meant for the project.
func (b *Analysis) ReadOnlyWithin(dir string) bool {
	if !path.IsAbs(dir) || !b.ReadOnly() {
		return false
	}
	dir = path.Clean(dir)
	for _, c := range b.cmds {
		for _, w := range c.argv[1:] {
			if strings.HasPrefix(w, "-") {
				_, v, ok := strings.Cut(w, "=")
				if !ok {
					continue
				}
				w = v
			}
			if !pathInside(w, dir) {
				return false
			}
		}
	}
	return true
}

// pathInside: w, read as a path relative to dir, stays inside dir.
func pathInside(w, dir string) bool {
	switch {
	case strings.HasPrefix(w, "~") || strings.ContainsRune(w, '$'):
		return false
	case path.IsAbs(w):
	case w == ".." || strings.HasPrefix(w, "../") || strings.Contains(w, "/../") || strings.HasSuffix(w, "/.."):
		if strings.ContainsAny(w, "*?[") {
			return false // a glob before .. may match more or less than one directory
		}
		w = path.Join(dir, w)
	default:
		return true
	}
	w = path.Clean(w)
	return w == dir || dir == "/" || strings.HasPrefix(w, dir+"/")
}

// writesTarget reports whether a redirection writes to a file: any output
// redirection except to /dev/null, and >&N / N>&M duplications of a
// descriptor (>&file is bash's &>file).
func writesTarget(op syntax.RedirOperator, target string) bool {
	switch op {
	case syntax.RdrOut, syntax.AppOut, syntax.RdrClob, syntax.AppClob, syntax.RdrAll, syntax.AppAll,
		syntax.RdrAllClob, syntax.AppAllClob, syntax.RdrInOut:
		return target != "/dev/null"
	case syntax.DplOut:
		return target != "-" && strings.Trim(target, "0123456789") != ""
	}
	return false
}

// InterpreterDeletes: an interpreter runs inline code that deletes files or
// runs commands.
func (b *Analysis) InterpreterDeletes() bool { return b.interpDelete }

// ReadsSecret: input is redirected from a secret file (< .env), or a
// command that prints or searches file contents (cat, less, grep, sed,
// base64, ...) is given one as an operand.
func (b *Analysis) ReadsSecret() bool {
	if b.secretRedir {
		return true
	}
	for _, cmd := range b.cmds {
		skipFirst, ok := secretReaders[commands.Name(cmd.argv)]
		if !ok {
			continue
		}
		for _, arg := range commands.Operands(cmd.argv[1:], skipFirst) {
			if commands.IsSecretPath(arg) {
				return true
			}
		}
	}
	return false
}

// FindDeletes returns whether some find in the command line deletes below
// a dangerous root, and whether it does so without a narrowing test.
func (b *Analysis) FindDeletes() (broad, filtered bool) {
	for _, c := range b.cmds {
		if commands.Name(c.argv) != "find" {
			continue
		}
		f := commands.ParseFind(c.argv)
		if !f.Deletes {
			continue
		}
		for _, r := range f.Roots {
			if commands.IsDangerousDir(r) {
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
		if commands.Name(c.argv) != "rsync" || len(c.argv) < 3 {
			continue
		}
		del := false
		for _, a := range c.argv[1:] {
			if a == "--del" || strings.HasPrefix(a, "--delete") || a == "--remove-source-files" {
				del = true
			}
		}
		dest := c.argv[len(c.argv)-1]
		if del && !strings.HasPrefix(dest, "-") && commands.IsDangerousDir(dest) {
			return true
		}
	}
	return false
}

// MovesDangerousDir: mv of /, a home or a system directory (to /dev/null,
// to the trash, anywhere): the system or the home is gone from its place.
func (b *Analysis) MovesDangerousDir() bool {
	for _, c := range b.cmds {
		if commands.Name(c.argv) != "mv" {
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
			if commands.IsDangerousDir(s) {
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
		switch commands.Name(c.argv) {
		case "rm", "unlink", "shred", "truncate", "srm", "wipe":
			for _, a := range commands.Operands(args, false) {
				if commands.IsCriticalFile(a) || commands.IsSystemBinary(a) {
					return true
				}
			}
		case "mv":
			for _, a := range commands.Operands(args, false) {
				if commands.IsCriticalFile(a) || commands.IsSystemBinary(a) {
					return true
				}
			}
		case "cp", "install", "ln":
			ops := commands.Operands(args, false)
			if len(ops) >= 2 && commands.IsCriticalFile(ops[len(ops)-1]) {
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
			for _, a := range commands.Operands(args, false) {
				if commands.IsCriticalFile(a) || commands.IsSystemBinary(a) {
					return true
				}
			}
		case "sed", "perl":
			// In-place edits: sed -i, sed --in-place, perl -pi -e.
			if !commands.HasOpt(args, 'i', "--in-place") {
				continue
			}
			for _, a := range commands.Operands(args, true) {
				if commands.IsCriticalFile(a) || commands.IsSystemBinary(a) {
					return true
				}
			}
		case "dd":
			for _, a := range args {
				if of, ok := strings.CutPrefix(a, "of="); ok && (commands.IsCriticalFile(of) || commands.IsSystemBinary(of)) {
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
		switch commands.Name(c.argv) {
		case "shred", "blkdiscard", "mkswap", "wipe", "srm":
			return true
		case "cp", "install", "mv":
			// cp /dev/zero /dev/sda: the device is the destination.
			if ops := commands.Operands(args, false); len(ops) >= 2 && blockDeviceRe.MatchString(ops[len(ops)-1]) {
				return true
			}
		case "wipefs":
			if commands.HasOpt(args, 'a', "--all") || commands.HasOpt(args, 'o', "--offset") {
				return true
			}
		case "sgdisk":
			if commands.HasOpt(args, 'Z', "--zap-all") || commands.HasOpt(args, 'z', "--zap") || commands.HasOpt(args, 'o', "--clear") {
				return true
			}
		case "badblocks":
			if commands.HasOpt(args, 'w', "") {
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

// interpreter checks the inline code of python -c, perl -e, node -e, awk
// 'prog', ... (or a heredoc it reads) for deleting files or running
// commands; code computed at run time (python3 -c "$CODE") is computed.
func (a *analyzer) interpreter(cmd simpleCmd, s *syntax.Stmt) {
	code, idx, stdin := commands.InterpCode(cmd.argv)
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
	if commands.InlineCodeRunsOrDeletes(cmd.argv, code) {
		a.res.interpDelete = true
	}
}

// secretReaders maps commands that print or search file contents to whether
// their first operand is a pattern/script rather than a file.
var secretReaders = map[string]bool{
	"cat": false, "less": false, "more": false, "head": false, "tail": false, "bat": false, "batcat": false,
	"tac": false, "nl": false, "strings": false, "xxd": false, "hexdump": false, "od": false, "base64": false,
	"view": false,
	"grep": true, "egrep": true, "fgrep": true, "rg": true, "ag": true, "sed": true, "awk": true,
}
