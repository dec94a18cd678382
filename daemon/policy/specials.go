package policy

import (
	"maps"
	"path/filepath"
	"slices"
	"strings"

	"github.com/claudebench/cb/daemon/policy/internal/commands"
	"github.com/claudebench/cb/daemon/policy/shell"
	"github.com/tidwall/gjson"
)

// specialFunc is a named built-in predicate. It sees the whole input; it is
// ANDed with the rule's tool / field / match conditions.
type specialFunc func(c *evalCtx) bool

type special struct {
	fn  specialFunc
	doc string
}

var specials = map[string]special{
	"outside_cwd": {specialOutsideCwd,
		"the target path (file_path, notebook_path or path of tool_input) is not inside the input cwd (lexically, after cleaning; symlinks are not resolved); false when cwd or the path is unknown"},
	"system_dir": {specialSystemDir,
		"the target path is inside a system directory (/etc /usr /bin /sbin /boot /lib* /dev /proc /sys /System /Library /private/etc)"},
	"pipe_to_shell": {bashFact((*shell.Analysis).PipeToShell),
		"Bash: a download (curl, wget, fetch, httpie, xh, aria2c) is piped into a shell reading stdin, or substituted into sh -c / bash <(...) / eval / source"},
	"fork_bomb": {bashFact((*shell.Analysis).ForkBomb),
		"Bash: a function that calls itself in a pipeline or in the background (:(){ :|:& };: and renamed variants)"},
	"cd_dangerous_rm": {bashFact((*shell.Analysis).CdDangerousRm),
		"Bash: cd to / ~ $HOME or a top-level system dir (or bare cd), later followed by rm -r of * . ./* or .*"},
	"block_device_write": {bashFact((*shell.Analysis).BlockDeviceWrite),
		"Bash: output redirection (>, >>, &>, ...) or tee into a disk device such as /dev/sda, /dev/nvme0n1, /dev/disk2"},
	"privileged": {bashFact((*shell.Analysis).Privileged),
		"Bash: some simple command runs through sudo, doas, pkexec, su or runuser (the prefix is stripped from the normalized commands, so this is how to match it)"},
	"computed_command": {bashFact((*shell.Analysis).Computed),
		"Bash: what runs is computed at run time, so no static reading can know it: a command or process substitution, unknown variable or glob as the command name ($(echo rm) -rf /, $CMD, /???/r?), eval or sh -c of non-literal text, code piped into a shell or interpreter (... | base64 -d | sh), source/. or bash of <(...), ${IFS} or an IFS assignment, a brace expansion producing the command ({rm,-rf,/}), rm -r of $(...), of a path that is / or ~ when a variable is empty (rm -rf \"$DIR/\") or of a glob right below /, ~, a system dir or .. (rm -rf /*/), xargs/parallel feeding rm -r or shred with unknown input, or a line too large to follow"},
	"interpreter_delete": {bashFact((*shell.Analysis).InterpreterDeletes),
		"Bash: an interpreter runs inline code (python -c, perl -e, ruby -e, node -e, php -r, awk 'prog', a heredoc or echo piped into it) that deletes files or runs commands (shutil.rmtree, os.remove, unlink, rmSync, FileUtils.rm_rf, os.system, subprocess, child_process, system(...), ...)"},
	"find_delete": {bashFact(func(b *shell.Analysis) bool { broad, _ := b.FindDeletes(); return broad }),
		"Bash: find -delete, or find -exec/-ok rm|shred|unlink|truncate, below /, a home directory (~, ~user, $HOME, /home/<user>) or a system directory, with no test narrowing what is deleted (-type and -maxdepth do not narrow; -name '*' does not either)"},
	"find_delete_filtered": {bashFact(func(b *shell.Analysis) bool { _, filtered := b.FindDeletes(); return filtered }),
		"Bash: like find_delete, but a test such as -name, -path, -mtime or -size selects what is deleted"},
	"rsync_delete_dangerous": {bashFact((*shell.Analysis).RsyncDeletesDangerous),
		"Bash: rsync --delete (--del, --delete-after, ..., --remove-source-files) whose destination is /, a home directory or a system directory"},
	"moves_dangerous_dir": {bashFact((*shell.Analysis).MovesDangerousDir),
		"Bash: mv whose source is /, a home directory (~, $HOME, /home/<user>) or a system directory (mv ~ /dev/null, mv /etc /tmp)"},
	"clobbers_system_file": {bashFact((*shell.Analysis).ClobbersSystemFile),
		"Bash: a critical system file (/etc/passwd, shadow, group, gshadow, sudoers, fstab, /etc/pam.d/*, /boot/*) or system program (/bin, /usr/bin, /lib, ...) is truncated (>, truncate), overwritten (cp, tee, dd of=), edited in place (sed -i, perl -i), deleted (rm, unlink, shred) or moved"},
	"wipes_device": {bashFact((*shell.Analysis).WipesDevice),
		"Bash: a disk device is erased: shred, blkdiscard, mkswap, wipefs -a, sgdisk --zap-all, badblocks -w, diskutil erase* or cryptsetup luksFormat of /dev/sda, /dev/nvme0n1, ..., or cp/mv onto one"},
	"read_only": {specialReadOnly,
		"the call only reads, inside the project (the input cwd): Bash where EVERY simple command is read-only (ls, cat, head, tail, wc, grep, rg, find without -exec/-delete/-fprint, git status/log/diff/show/blame, git branch/tag listing, ...; see README, Read-only rule set), with no output redirection to a file, no variable assignment, no wrapper (env, xargs, sudo, ...), nothing computed at run time, no secret file and no path outside the cwd; or a read-only tool (" + strings.Join(readOnlyTools, ", ") + ") whose path is inside the cwd and not a secret file"},
	"disables_cb_hooks": {func(c *evalCtx) bool { return c.facts[FactDropsCbHooks] || c.facts[FactDisablesAllHooks] },
		"config_change: the changed settings file no longer holds ClaudeBench's hooks although it did (fact " + FactDropsCbHooks + "), or sets disableAllHooks: true (fact " + FactDisablesAllHooks + "); the facts come from cbd, which reads the file and remembers which settings files held its hooks"},
	"reads_secret": {specialReadsSecret,
		"Read/Grep path, or a Bash reader (cat, less, head, tail, grep, sed, awk, base64, ...) operand or < redirect, is a secret file: .env / .env.* (not .example/.sample/.template/.dist), *.env, SSH private keys (id_rsa, id_ed25519, ...), *.pem, *.key, *.p12, *.pfx, .netrc, .pgpass, .git-credentials, .aws/credentials"},
}

// Facts cbd establishes for an input (Input.Facts).
const (
	// FactDropsCbHooks: a ConfigChange's settings file held ClaudeBench's
	// hooks and no longer does.
	FactDropsCbHooks = "drops_cb_hooks"
	// FactDisablesAllHooks: a ConfigChange's settings file sets
	// disableAllHooks: true.
	FactDisablesAllHooks = "disables_all_hooks"
)

// bashFact turns a fact of the Bash analysis into a special; false for
// other tools.
func bashFact(f func(*shell.Analysis) bool) specialFunc {
	return func(c *evalCtx) bool {
		b := c.bashAnalysis()
		return b != nil && f(b)
	}
}

// SpecialNames lists the names accepted in Rule.Special.
func SpecialNames() []string {
	return slices.Sorted(maps.Keys(specials))
}

// SpecialDoc describes a special predicate; "" if unknown.
func SpecialDoc(name string) string { return specials[name].doc }

// targetPath is the path a file tool operates on.
func (c *evalCtx) targetPath() string {
	for _, k := range [...]string{"file_path", "notebook_path", "path"} {
		if v := gjson.GetBytes(c.toolInput, k); v.Type == gjson.String && v.Str != "" {
			return v.Str
		}
	}
	return ""
}

func (c *evalCtx) absTarget() string {
	p := c.targetPath()
	if p == "" {
		return ""
	}
	if !filepath.IsAbs(p) {
		if c.cwd == "" {
			return ""
		}
		p = filepath.Join(c.cwd, p)
	}
	return filepath.Clean(p)
}

func specialOutsideCwd(c *evalCtx) bool {
	p := c.absTarget()
	if p == "" || c.cwd == "" || !filepath.IsAbs(c.cwd) {
		return false
	}
	return !within(p, filepath.Clean(c.cwd))
}

func within(p, dir string) bool {
	if p == dir {
		return true
	}
	if !strings.HasSuffix(dir, string(filepath.Separator)) {
		dir += string(filepath.Separator)
	}
	return strings.HasPrefix(p, dir)
}

var systemDirs = []string{"/etc", "/usr", "/bin", "/sbin", "/boot", "/lib", "/lib32", "/lib64", "/libx32",
	"/dev", "/proc", "/sys", "/System", "/Library", "/private/etc"}

func specialSystemDir(c *evalCtx) bool {
	p := c.absTarget()
	if p == "" {
		return false
	}
	p = filepath.ToSlash(p)
	for _, d := range systemDirs {
		if within(p, d) {
			return true
		}
	}
	return false
}

// readOnlyTools are Claude Code's tools that only read local state.
// WebFetch and WebSearch are not among them: they send data out. MCP
// tools are not either: only their server knows what they do.
var readOnlyTools = []string{"Read", "Glob", "Grep", "TaskGet", "TaskList", "CronList", "ListAgents", "ToolSearch"}

func specialReadOnly(c *evalCtx) bool {
	cwd := filepath.Clean(c.cwd)
	if c.cwd == "" || !filepath.IsAbs(cwd) {
		return false
	}
	if c.tool == "Bash" {
		b := c.bashAnalysis()
		return b != nil && c.hasCommand && b.ReadOnlyWithin(filepath.ToSlash(cwd))
	}
	if !slices.Contains(readOnlyTools, c.tool) {
		return false
	}
	if c.tool == "Glob" {
		// The pattern may name a directory of its own. ** can match no
		// directory at all, so "**/../x" climbs out although it cleans to
		// "x": any .. is refused.
		pat := gjson.GetBytes(c.toolInput, "pattern").String()
		if strings.HasPrefix(pat, "~") || strings.Contains(pat, "$") || strings.Contains(pat, "..") {
			return false
		}
		if filepath.IsAbs(pat) && !within(filepath.Clean(pat), cwd) {
			return false
		}
	}
	p := c.targetPath()
	if p == "" {
		return true // Glob and Grep default to the cwd; the task tools read no path
	}
	return !commands.IsSecretPath(p) && within(c.absTarget(), cwd)
}

func specialReadsSecret(c *evalCtx) bool {
	switch c.tool {
	case "Bash":
		b := c.bashAnalysis()
		return b != nil && b.ReadsSecret()
	default:
		return commands.IsSecretPath(c.targetPath())
	}
}
