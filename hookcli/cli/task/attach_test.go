package task

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/claudebench/cb/hookcli/cli/cmdutil"
	"github.com/claudebench/cb/hookcli/cli/internal/clitest"
	"github.com/claudebench/cb/hookcli/cli/iostreams"
	"github.com/claudebench/cb/protocol/api"
)

const fakeAttachment = `{"taskId":"t-17","key":"notes","type":"note","value":"half done","size":11,"createdBy":"w-1","createdAt":"2025-06-01T11:00:00.000Z","updatedAt":"2025-06-01T11:30:00.000Z"}`

// TestAttachCommands: the arguments, flags and stdin of cb task attach
// and cb task attachments become the params cbd gets.
func TestAttachCommands(t *testing.T) {
	me := cmdutil.DefaultWorkerID()
	cases := []struct {
		args       []string
		stdin      string
		params     string // "": no call
		out        string
		code       int
		errContain string
	}{
		{[]string{"attach", "t-17", "notes", "half", "done"}, "", `{"taskId":"t-17","key":"notes","type":"note","value":"half done","createdBy":"` + me + `"}`,
			"attached notes to t-17 (note, 11 bytes)\n", 0, ""},
		{[]string{"attach", "t-17", "notes", "-", "--by", "s-1"}, "line one\nline two\n", `{"taskId":"t-17","key":"notes","type":"note","value":"line one\nline two","createdBy":"s-1"}`, "", 0, ""},
		{[]string{"attach", "t-17", "paths", "a.go", "b c.go", "--type", "files"}, "", `{"taskId":"t-17","key":"paths","type":"files","value":["a.go","b c.go"],"createdBy":"` + me + `"}`, "", 0, ""},
		{[]string{"attach", "t-17", "paths", "-", "--type", "files"}, "a.go\r\n\n  b.go  \n", `{"taskId":"t-17","key":"paths","type":"files","value":["a.go","b.go"],"createdBy":"` + me + `"}`, "", 0, ""},
		{[]string{"attach", "t-17", "refs", "https://x.example/1", "--type", "links"}, "", `{"taskId":"t-17","key":"refs","type":"links","value":["https://x.example/1"],"createdBy":"` + me + `"}`, "", 0, ""},
		{[]string{"attach", "t-17", "bench", `{"p50":1.2}`, "--type", "json"}, "", `{"taskId":"t-17","key":"bench","type":"json","value":{"p50":1.2},"createdBy":"` + me + `"}`, "", 0, ""},
		{[]string{"attach", "t-17", "out", "all", "good", "--type", "result"}, "", `{"taskId":"t-17","key":"out","type":"result","value":"all good","createdBy":"` + me + `"}`, "", 0, ""},
		{[]string{"attach", "t-17", "raw", "-", "--json-value", "--type", "json"}, "[1, 2]\n", `{"taskId":"t-17","key":"raw","type":"json","value":[1,2],"createdBy":"` + me + `"}`, "", 0, ""},
		{[]string{"attach", "t-17", "raw", "nope", "--json-value"}, "", "", "", 2, "--json-value"},
		{[]string{"attach", "t-17", "paths", "-", "--type", "files"}, "\n\n", "", "", 2, "no files given"},
		{[]string{"attach", "t-17", "notes"}, "", "", "", 2, "at least 3"},
		{[]string{"attachments", "t-17", "--key", "result"}, "", `{"taskId":"t-17","key":"result"}`, "", 0, ""},
	}
	fake := clitest.NewFakeCaller(map[string]clitest.Handler{
		"task.attach":      clitest.Answer(fakeAttachment),
		"task.attachments": clitest.Answer(`{"taskId":"t-17","attachments":[` + fakeAttachment + `]}`),
	})
	for _, c := range cases {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			before := len(fake.Calls())
			f, _, s := clitest.NewFactory(fake)
			s.In.WriteString(c.stdin)
			code := clitest.Run(f, NewCmdTask(f), append([]string{"task"}, c.args...)...)
			if code != c.code || (c.errContain != "" && !strings.Contains(s.Err.String(), c.errContain)) {
				t.Fatalf("exit %d, stderr %q; want %d containing %q", code, s.Err, c.code, c.errContain)
			}
			if c.out != "" && s.Out.String() != c.out {
				t.Errorf("stdout = %q, want %q", s.Out, c.out)
			}
			calls := fake.Calls()[before:]
			if c.params == "" {
				if len(calls) != 0 {
					t.Errorf("calls = %v, want none", calls)
				}
				return
			}
			if len(calls) != 1 {
				t.Fatalf("calls = %v, want one", calls)
			}
			clitest.JSONEq(t, calls[0].Params, c.params)
		})
	}
}

// TestAttachmentsGolden: how cb task attachments, get and claim show
// attachments, control characters in values made harmless.
func TestAttachmentsGolden(t *testing.T) {
	at := func(min int) api.Time { return api.TimeOf(clitest.GoldenNow.Add(-time.Duration(min) * time.Minute)) }
	task := api.Task{ID: "t-17", Text: "review the PR", Status: "in_progress", Priority: 70, AssignedTo: "w-1",
		CreatedAt: at(90), UpdatedAt: at(5), Attachments: []api.Attachment{
			{TaskID: "t-17", Key: "notes", Type: "note", Value: json.RawMessage(`"Start with the parser.\nThen the \u001b[31mtests\u001b[0m."`), Size: 52, CreatedBy: "s-1", CreatedAt: at(60), UpdatedAt: at(30)},
			{TaskID: "t-17", Key: "paths", Type: "files", Value: json.RawMessage(`["daemon/tasks/attach.go","README.md"]`), Size: 38, CreatedAt: at(50), UpdatedAt: at(50)},
			{TaskID: "t-17", Key: "refs", Type: "links", Value: json.RawMessage(`["https://github.com/o/r/pull/42"]`), Size: 33, CreatedAt: at(40), UpdatedAt: at(40)},
			{TaskID: "t-17", Key: "result", Type: "result", Value: json.RawMessage(`{"pages":3,"ok":true}`), Size: 21, CreatedBy: "w-1", CreatedAt: at(10), UpdatedAt: at(10)},
		}}
	var buf bytes.Buffer
	if err := renderTask(&buf, task, clitest.GoldenNow, iostreams.ColorScheme{}); err != nil {
		t.Fatal(err)
	}
	clitest.Golden(t, "task_get_attachments.txt", buf.Bytes())
	if strings.ContainsRune(buf.String(), 0x1b) {
		t.Error("an escape sequence reached the terminal")
	}
}
