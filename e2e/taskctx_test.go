package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/claudebench/cb/internal/testenv"
	"github.com/claudebench/cb/protocol/api"
)

// TestWorkTaskContext: cb work hands its command each task's context: the
// task JSON on stdin carries the attachments (task.claim's answer), the
// notes' text is in CB_TASK_NOTES (joined by blank lines, cut with a
// marker past 32 KiB) and all of the attachments are in the private file
// CB_TASK_ATTACHMENTS names, removed when the command exits; a task
// without attachments gets empty notes and an empty array. The command
// leaves a note for the next worker with cb task attach.
func TestWorkTaskContext(t *testing.T) {
	e := newTaskEnv(t)
	attach := func(id, key, typ string, value any) {
		t.Helper()
		raw, _ := json.Marshal(value)
		var a api.Attachment
		e.mustCall(t, "task.attach", api.TaskAttachParams{TaskID: id, Key: key, Type: typ, Value: raw, CreatedBy: "w-before"}, &a)
	}
	withCtx := e.mustTask(t, "task.create", map[string]any{"text": "with context", "priority": 90}).ID
	attach(withCtx, "handover", api.AttachmentNote, "Start from parse.go.\nThe lexer is fine: don't touch it $HOME `x`.")
	attach(withCtx, "touched", api.AttachmentFiles, []string{"parse.go", "lex.go"})
	attach(withCtx, "refs", api.AttachmentLinks, []string{"https://example.com/issue/7"})
	attach(withCtx, "second", api.AttachmentNote, "Ünïcode too.")
	big := e.mustTask(t, "task.create", map[string]any{"text": "large notes", "priority": 80}).ID
	chunk := strings.Repeat("0123456789", 3000) // 30000 bytes; three of them pass the 32 KiB bound
	for _, k := range []string{"n1", "n2", "n3"} {
		attach(big, k, api.AttachmentNote, chunk)
	}
	bare := e.mustTask(t, "task.create", map[string]any{"text": "no context", "priority": 70}).ID

	out := t.TempDir()
	script := `set -e
d="` + out + `/$CB_TASK_ID"
mkdir "$d"
cat > "$d/stdin"
printf '%s' "$CB_TASK_NOTES" > "$d/notes"
printf '%s' "$CB_TASK_ATTACHMENTS" > "$d/path"
stat -c %a "$CB_TASK_ATTACHMENTS" > "$d/mode"
cp "$CB_TASK_ATTACHMENTS" "$d/attachments"
"` + bin.CB + `" task attach "$CB_TASK_ID" next "Left for the next worker." --by "$CB_WORKER_ID" >/dev/null
echo ok`
	r := testenv.RunCB(t, bin, e.h, nil, nil, "work", "--worker", "w-ctx", "--until-idle", "1s", "--", "sh", "-c", script)
	if r.Code != 0 {
		t.Fatalf("cb work: exit %d %s", r.Code, r.Stderr)
	}
	read := func(id, name string) string {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(out, id, name))
		if err != nil {
			t.Fatalf("the command for %s left no %s: %v\ncb work said: %s", id, name, err, r.Stderr)
		}
		return string(b)
	}
	attachments := func(id string) []api.Attachment {
		t.Helper()
		var list []api.Attachment
		if err := json.Unmarshal([]byte(read(id, "attachments")), &list); err != nil || list == nil {
			t.Fatalf("CB_TASK_ATTACHMENTS of %s holds %q: %v", id, read(id, "attachments"), err)
		}
		return list
	}
	for _, id := range []string{withCtx, big, bare} {
		if tk := getLeaseTask(t, e, id); tk.Status != "completed" {
			t.Fatalf("task %s: %+v\n%s", id, tk, r.Stderr)
		}
		path := read(id, "path")
		if !filepath.IsAbs(path) {
			t.Fatalf("CB_TASK_ATTACHMENTS of %s is %q, want a file's path", id, path)
		}
		if _, err := os.Stat(path); !os.IsNotExist(err) {
			t.Errorf("the attachments file %s of %s is left behind (%v)", path, id, err)
		}
		if m := strings.TrimSpace(read(id, "mode")); m != "600" {
			t.Errorf("the attachments file of %s has mode %s, want 600", id, m)
		}
		// The command left a note for the next worker, after the
		// attachments it was given; completing kept its result.
		var got api.TaskAttachmentsResult
		e.mustCall(t, "task.attachments", api.TaskAttachmentsParams{TaskID: id, Key: "next"}, &got)
		if len(got.Attachments) != 1 || string(got.Attachments[0].Value) != `"Left for the next worker."` || got.Attachments[0].CreatedBy != "w-ctx" {
			t.Errorf("the note the command attached to %s: %+v", id, got.Attachments)
		}
	}

	// The task with context: the notes in order, every attachment in the
	// file and on stdin.
	if got, want := read(withCtx, "notes"), "Start from parse.go.\nThe lexer is fine: don't touch it $HOME `x`.\n\nÜnïcode too."; got != want {
		t.Errorf("CB_TASK_NOTES = %q, want %q", got, want)
	}
	var keys []string
	for _, a := range attachments(withCtx) {
		keys = append(keys, a.Type+":"+a.Key)
		if a.TaskID != withCtx || a.CreatedBy != "w-before" {
			t.Errorf("attachment %+v", a)
		}
	}
	if strings.Join(keys, " ") != "note:handover files:touched links:refs note:second" {
		t.Errorf("CB_TASK_ATTACHMENTS has %v", keys)
	}
	var stdin api.Task
	if err := json.Unmarshal([]byte(read(withCtx, "stdin")), &stdin); err != nil || stdin.ID != withCtx || len(stdin.Attachments) != 4 ||
		string(stdin.Attachments[1].Value) != `["parse.go","lex.go"]` {
		t.Errorf("stdin had %+v (%v), want the task with its 4 attachments", stdin, err)
	}

	// Large notes: the variable is cut with a marker, the file has all.
	notes := read(big, "notes")
	if len(notes) > 32<<10 || !strings.HasPrefix(notes, chunk+"\n\n") ||
		!strings.HasSuffix(notes, "[… notes cut at 32768 of 90004 bytes: all of them are in $CB_TASK_ATTACHMENTS]") {
		t.Errorf("CB_TASK_NOTES of large notes: %d bytes, ending %q", len(notes), notes[max(0, len(notes)-120):])
	}
	if list := attachments(big); len(list) != 3 || string(list[2].Value) != `"`+chunk+`"` {
		t.Errorf("CB_TASK_ATTACHMENTS of large notes: %d attachments", len(list))
	}

	// No attachments: nothing in either.
	if n := read(bare, "notes"); n != "" {
		t.Errorf("CB_TASK_NOTES without notes = %q", n)
	}
	if list := attachments(bare); len(list) != 0 {
		t.Errorf("CB_TASK_ATTACHMENTS without attachments: %v", list)
	}
}
