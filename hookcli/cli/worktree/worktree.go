// Package worktree does what Claude Code does itself for WorktreeCreate and
// WorktreeRemove when no hook replaces it: a hook on those events takes the
// job over, so `cb hook worktree_create` (installed only when asked for by
// name) records the event and then creates the git worktree, printing its
// path, the one output Claude Code reads from such a hook.
package worktree

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
)

// Input is what the two events send beside the common fields.
type Input struct {
	Cwd          string `json:"cwd"`
	Name         string `json:"name"`          // WorktreeCreate: a suggested slug
	WorktreePath string `json:"worktree_path"` // WorktreeRemove
}

// Parse reads the hook input.
func Parse(data []byte) (Input, error) {
	var in Input
	if err := json.Unmarshal(data, &in); err != nil {
		return in, fmt.Errorf("hook input: %w", err)
	}
	return in, nil
}

// slug keeps a name safe as a directory and branch name.
var unsafe = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// Create adds a worktree for in.Name under <repository>/.claude/worktrees
// on a new branch of that name (or the existing branch of that name) and
// returns its absolute path.
func Create(ctx context.Context, in Input) (string, error) {
	name := strings.Trim(unsafe.ReplaceAllString(in.Name, "-"), "-.")
	if name == "" {
		return "", errors.New("worktree_create: the input names no worktree")
	}
	top, err := git(ctx, in.Cwd, "rev-parse", "--show-toplevel")
	if err != nil {
		return "", err
	}
	path := filepath.Join(top, ".claude", "worktrees", name)
	if _, err := git(ctx, top, "worktree", "add", "-b", name, path); err != nil {
		// The branch may exist already: check it out instead.
		if _, err2 := git(ctx, top, "worktree", "add", path, name); err2 != nil {
			return "", err
		}
	}
	return path, nil
}

// Remove removes the worktree at in.WorktreePath; git refuses one with
// changes that are not committed, and so does this.
func Remove(ctx context.Context, in Input) error {
	if in.WorktreePath == "" {
		return errors.New("worktree_remove: the input names no worktree_path")
	}
	_, err := git(ctx, in.Cwd, "worktree", "remove", in.WorktreePath)
	return err
}

func git(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(errb.String()))
	}
	return strings.TrimSpace(out.String()), nil
}
