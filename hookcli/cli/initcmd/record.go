package initcmd

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
)

// record is what cb init added to one project, so that --undo takes out
// exactly that and leaves alone what was there before (a permission the
// user had already granted looks the same as one init adds).
//
// It lives in cb's data directory, <data>/init/<hash of the project
// path>.json, not in the project: the project's files are often committed
// and shared, and what init added on this machine says nothing about
// another clone, where init may have found different files; and the
// project stays free of cb's bookkeeping. Each run adds to the record;
// --undo deletes it.
type record struct {
	Project string `json:"project"`
	// Hooks are the hook types whose entries init added to .claude/settings.json.
	Hooks []string `json:"hooks,omitempty"`
	// Permissions are the permissions.allow entries init added.
	Permissions []string `json:"permissions,omitempty"`
	// EnabledServer: init added "claudebench" to enabledMcpjsonServers.
	EnabledServer bool `json:"enabledServer,omitempty"`
	// MCPCommand is the command of the .mcp.json entry init wrote ("" when
	// it wrote none): undo removes the entry only while it is that one.
	MCPCommand string `json:"mcpCommand,omitempty"`
	// Created are the files (and the .claude directory) init created,
	// relative to the project: undo deletes them when nothing else is left.
	Created []string `json:"created,omitempty"`
	// CreatedKeys are the JSON objects and arrays init created, as
	// "<file>#<dotted path>": undo deletes them when they are empty.
	CreatedKeys []string `json:"createdKeys,omitempty"`
}

// recordPath is the record's file for a project.
func recordPath(recordDir, project string) string {
	sum := sha256.Sum256([]byte(project))
	return filepath.Join(recordDir, hex.EncodeToString(sum[:12])+".json")
}

// loadRecord reads a project's record; a missing one is an empty record.
func loadRecord(recordDir, project string) (*record, string, error) {
	path := recordPath(recordDir, project)
	rec := &record{Project: project}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return rec, path, nil
	}
	if err != nil {
		return nil, path, fmt.Errorf("read cb init's record: %w", err)
	}
	if err := json.Unmarshal(data, rec); err != nil {
		return nil, path, fmt.Errorf("cb init's record %s is not valid JSON: %w", path, err)
	}
	if rec.Project != project {
		return nil, path, fmt.Errorf("cb init's record %s is for %s, not %s", path, rec.Project, project)
	}
	return rec, path, nil
}

// empty reports whether the record holds nothing init added.
func (r *record) empty() bool {
	return len(r.Hooks) == 0 && len(r.Permissions) == 0 && !r.EnabledServer && r.MCPCommand == "" &&
		len(r.Created) == 0 && len(r.CreatedKeys) == 0
}

func saveRecord(path string, rec *record) error {
	if rec.empty() {
		return nil
	}
	data, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return fmt.Errorf("encode cb init's record: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("save cb init's record: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(data, '\n'), 0o600); err != nil {
		return fmt.Errorf("save cb init's record: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("save cb init's record: %w", err)
	}
	return nil
}

func removeRecord(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove cb init's record: %w", err)
	}
	return nil
}

// addSorted adds v to the sorted set s.
func addSorted(s []string, v ...string) []string {
	for _, x := range v {
		if !slices.Contains(s, x) {
			s = append(s, x)
		}
	}
	sort.Strings(s)
	return s
}

func (r *record) addCreated(rel string) { r.Created = addSorted(r.Created, rel) }

func (r *record) createdKey(file, key string) bool {
	return slices.Contains(r.CreatedKeys, file+"#"+key)
}
