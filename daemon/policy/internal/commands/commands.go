// Package commands knows what single commands do with their words: which
// commands run another command (the wrapper table: sudo, env, timeout,
// xargs, ...), which interpreters run inline code (python -c, perl -e,
// awk 'prog'), what find deletes, and which paths are catastrophic to
// delete, overwrite or read (/, homes, system directories, /etc/passwd,
// secret files). It works on argv that the shell analysis
// (daemon/policy/shell) has already parsed and normalized.
package commands

import (
	"path"
	"path/filepath"
	"regexp"
	"strings"
)

// Name is the base name of the command word (/usr/bin/rm -> rm).
func Name(argv []string) string {
	if len(argv) == 0 {
		return ""
	}
	return path.Base(argv[0])
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

// dangerousDirRe matches directories whose wholesale deletion is
// catastrophic: the root, home directories and top-level system dirs.
var dangerousDirRe = regexp.MustCompile(`^(?:/+|~[A-Za-z0-9._-]*/?|\$HOME/?|/(?:etc|usr|bin|sbin|boot|lib|lib32|lib64|var|opt|home|Users|root|dev|proc|sys|srv|System|Library|Applications|private)/?|(?:/home|/Users|/usr)/[^/]+/?)$`)

// CdToDangerousDir reports a cd to /, a home directory or a top-level
// system directory, or a bare cd (which goes home).
func CdToDangerousDir(argv []string) bool {
	args := skipOptions(argv[1:], "", nil)
	if len(args) == 0 {
		return Name(argv) == "cd" // bare cd goes home
	}
	return dangerousDirRe.MatchString(args[0])
}

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

// IsCriticalFile reports a system file whose loss or truncation locks users
// out or stops the machine from booting (/etc/passwd, /etc/sudoers, /boot/...).
func IsCriticalFile(p string) bool {
	if strings.HasPrefix(p, "/") {
		p = path.Clean(p)
	}
	return criticalFileRe.MatchString(p)
}

// IsSystemBinary reports a program or library of the system (/bin/..., /usr/lib/...).
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

// ParseFind reads the roots, deleting actions and narrowing tests of a
// find command line.
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

// Operands returns the non-option words, optionally without the first one.
func Operands(args []string, skipFirst bool) []string {
	var out []string
	opts := true
	for _, a := range args {
		if opts && a == "--" {
			opts = false
			continue
		}
		if opts && len(a) > 1 && a[0] == '-' {
			// -f=file / --file=file
			if i := strings.IndexByte(a, '='); i > 0 {
				out = append(out, a[i+1:])
			}
			continue
		}
		out = append(out, a)
	}
	if skipFirst && len(out) > 0 {
		out = out[1:]
	}
	return out
}

var envExampleSuffixes = map[string]bool{
	"example": true, "examples": true, "sample": true, "template": true, "tmpl": true, "dist": true,
	"defaults": true, "default": true, "schema": true, "local.example": true,
}

var sshKeyNames = map[string]bool{
	"id_rsa": true, "id_dsa": true, "id_ecdsa": true, "id_ed25519": true, "id_ecdsa_sk": true, "id_ed25519_sk": true,
	"identity": true,
}

// IsSecretPath reports whether a path names a file that typically holds
// secrets.
func IsSecretPath(p string) bool {
	if p == "" {
		return false
	}
	p = filepath.ToSlash(p)
	base := strings.ToLower(path.Base(p))
	switch {
	case base == ".env":
		return true
	case strings.HasPrefix(base, ".env."):
		return !envExampleSuffixes[strings.TrimPrefix(base, ".env.")]
	case strings.HasSuffix(base, ".env") && len(base) > len(".env"):
		return true
	case sshKeyNames[base]:
		return true
	case base == ".netrc" || base == "_netrc" || base == ".pgpass" || base == ".git-credentials":
		return true
	case base == "credentials" && strings.Contains(p, ".aws/"):
		return true
	}
	switch path.Ext(base) {
	case ".pem", ".key", ".p12", ".pfx":
		return true
	}
	return false
}
