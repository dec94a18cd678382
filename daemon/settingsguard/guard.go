// Package settingsguard gives the policy engine the facts it needs to
// refuse a Claude Code settings change that would switch ClaudeBench's
// hooks off (the default rule deny-disable-cb-hooks). A ConfigChange input
// names only the changed file; whether that file held ClaudeBench's hooks
// before is state, kept in Redis (protocol.SettingsGuardKey) from what
// SessionStart and earlier ConfigChange events found in the files.
package settingsguard

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/claudebench/cb/daemon/policy"
	"github.com/claudebench/cb/internal/claudesettings"
	"github.com/claudebench/cb/protocol"
	"github.com/redis/go-redis/v9"
	"github.com/tidwall/gjson"
)

// MaxSettingsBytes bounds the settings file the guard reads; a larger
// file is not read (and gives no facts).
const MaxSettingsBytes = 1 << 20

// settingsNames are the base names of the settings files the guard reads:
// a ConfigChange naming any other file gives no facts, so a hook input
// cannot make cbd read an arbitrary file.
var settingsNames = map[string]bool{"settings.json": true, "settings.local.json": true}

// Guard establishes the facts of the settings guard.
type Guard struct {
	rdb redis.UniversalClient
	rec claudesettings.Recognizer
	// userConfigDir is cbd's idea of Claude Code's config dir, used when a
	// SessionStart's transcript path does not tell the session's.
	userConfigDir func() string
}

// New returns a guard keeping its state in rdb; httpAddr is http.addr,
// so that http hooks to it count as ClaudeBench's.
func New(rdb redis.UniversalClient, httpAddr string) *Guard {
	return &Guard{rdb: rdb, rec: claudesettings.Recognizer{HTTPAddr: httpAddr}, userConfigDir: defaultConfigDir}
}

// defaultConfigDir is $CLAUDE_CONFIG_DIR, else ~/.claude ("" when
// neither can be found).
func defaultConfigDir() string {
	dir, _ := claudesettings.ConfigDir()
	return dir
}

// Facts is hooks.Deps.Facts: on session_start it records which settings
// files hold ClaudeBench's hooks (and returns no facts); on config_change
// it reads the changed file, returns policy.FactDropsCbHooks and
// policy.FactDisablesAllHooks as they hold, and records the file's state.
// Other hook types get no facts.
func (g *Guard) Facts(ctx context.Context, hookType string, params json.RawMessage) (map[string]bool, error) {
	switch hookType {
	case policy.EventSessionStart:
		return nil, g.sessionStart(ctx, params)
	case policy.EventConfigChange:
		return g.configChange(ctx, params)
	}
	return nil, nil
}

// sessionStart marks the user, project and local settings files of the
// session: each is a member of the set exactly when it holds our hooks now.
func (g *Guard) sessionStart(ctx context.Context, params json.RawMessage) error {
	var files []string
	if dir := sessionConfigDir(gjson.GetBytes(params, "transcript_path").String()); dir != "" {
		files = append(files, filepath.Join(dir, "settings.json"))
	} else if dir := g.userConfigDir(); dir != "" {
		files = append(files, filepath.Join(dir, "settings.json"))
	}
	if cwd := gjson.GetBytes(params, "cwd").String(); filepath.IsAbs(cwd) {
		files = append(files, filepath.Join(cwd, ".claude", "settings.json"), filepath.Join(cwd, ".claude", "settings.local.json"))
	}
	pipe := g.rdb.Pipeline()
	for _, f := range files {
		content, err := readSettings(f)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			continue // unreadable now: keep what is known
		}
		if g.rec.Summarize(content).HasOurHooks {
			pipe.SAdd(ctx, protocol.SettingsGuardKey, f)
		} else {
			pipe.SRem(ctx, protocol.SettingsGuardKey, f)
		}
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("settings guard: record settings files: %w", err)
	}
	return nil
}

// sessionConfigDir is the config dir a transcript path lies in
// (<dir>/projects/<project>/<session>.jsonl), which honours the session's
// $CLAUDE_CONFIG_DIR; "" when the path does not have that shape.
func sessionConfigDir(transcript string) string {
	if !filepath.IsAbs(transcript) || !strings.HasSuffix(transcript, ".jsonl") {
		return ""
	}
	projects := filepath.Dir(filepath.Dir(transcript))
	if filepath.Base(projects) != "projects" {
		return ""
	}
	return filepath.Dir(projects)
}

func (g *Guard) configChange(ctx context.Context, params json.RawMessage) (map[string]bool, error) {
	if gjson.GetBytes(params, "source").String() == "policy_settings" {
		return nil, nil // Claude Code never lets a hook block a managed settings change
	}
	file := gjson.GetBytes(params, "file_path").String()
	if !filepath.IsAbs(file) || !settingsNames[filepath.Base(file)] {
		return nil, nil
	}
	file = filepath.Clean(file)
	content, err := readSettings(file)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, nil // not a regular file, too large or unreadable: no facts
	}
	sum := g.rec.Summarize(content) // a deleted file holds no hooks
	held, err := g.rdb.SIsMember(ctx, protocol.SettingsGuardKey, file).Result()
	if err != nil {
		return nil, fmt.Errorf("settings guard: read state: %w", err)
	}
	if sum.HasOurHooks && !held {
		if err := g.rdb.SAdd(ctx, protocol.SettingsGuardKey, file).Err(); err != nil {
			return nil, fmt.Errorf("settings guard: record %s: %w", file, err)
		}
	}
	// A file that lost our hooks stays a member: the change is refused,
	// the session keeps its hooks, and the next change of the file is
	// judged against the same memory. SessionStart resets it.
	facts := map[string]bool{}
	if held && !sum.HasOurHooks {
		facts[policy.FactDropsCbHooks] = true
	}
	if sum.DisableAllHooks {
		facts[policy.FactDisablesAllHooks] = true
	}
	return facts, nil
}

// readSettings reads a regular file of at most MaxSettingsBytes.
func readSettings(path string) ([]byte, error) {
	// Stat first: opening a FIFO would block.
	if fi, err := os.Stat(path); err != nil {
		return nil, err
	} else if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", path)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", path)
	}
	if fi.Size() > MaxSettingsBytes {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, MaxSettingsBytes)
	}
	b, err := io.ReadAll(io.LimitReader(f, MaxSettingsBytes+1))
	if err != nil {
		return nil, err
	}
	if len(b) > MaxSettingsBytes {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, MaxSettingsBytes)
	}
	return b, nil
}
