package task

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/claudebench/cb/hookcli/cli/cmdutil"
	"github.com/claudebench/cb/hookcli/cli/iostreams"
	"github.com/claudebench/cb/protocol/api"
	"github.com/spf13/cobra"
)

// AttachOptions are cb task attach's inputs.
type AttachOptions struct {
	Options
	ID, Key, Type string
	// Values are the value arguments; ["-"] reads stdin.
	Values []string
	// JSONValue sends the value (joined arguments, or stdin) as raw JSON.
	JSONValue bool
	By        string
}

// NewCmdAttach is `cb task attach`.
func NewCmdAttach(f *cmdutil.Factory, runF func(context.Context, *AttachOptions) error) *cobra.Command {
	opts := &AttachOptions{Options: newOptions(f)}
	cmd := cmdutil.WithRun(f, &cobra.Command{
		Use:   "attach ID KEY [VALUE...|-]",
		Short: "Attach a note, files, links or JSON to a task, for whoever works on it",
		Long: `Attach a typed value to a task under KEY, so that whoever claims it
(cb task claim, cb work, a Claude session fed work) starts with its context.
Attaching a KEY again replaces its value. "-" reads the value from stdin.

  --type note    the words, joined (stdin: the text as it is)
  --type files   each argument a path (stdin: one path per line)
  --type links   each argument an absolute http(s) or file URL (stdin: one per line)
  --type result  a JSON value; text that is not JSON is sent as a string
  --type json    the same, for anything else

--json-value sends the value as raw JSON whatever the type. cbd caps a
value at tasks.attachment_max_bytes of JSON and a task at
tasks.max_attachments keys. task.complete keeps a result as the key "result".`,
		Example: `  cb task attach t-1795753372385000001 notes "Half done: the parser works, the tests do not"
  git diff --name-only | cb task attach "$ID" changed - --type files
  cb task attach "$ID" refs https://github.com/o/r/pull/42 --type links
  cb task attach "$ID" bench '{"p50_ms":1.2}' --type json
  cb task attachments "$ID"`,
		Args: cobra.MinimumNArgs(3),
	}, opts, func(_ *cobra.Command, args []string) error {
		opts.ID, opts.Key, opts.Values = args[0], args[1], args[2:]
		return nil
	}, runF, attachRun)
	fl := cmd.Flags()
	fl.StringVar(&opts.Type, "type", api.AttachmentNote, "what the value is: "+strings.Join(api.AttachmentTypes, ", "))
	fl.BoolVar(&opts.JSONValue, "json-value", false, "the value is raw JSON (any type)")
	fl.StringVar(&opts.By, "by", "", "who attaches it (default $USER@$HOSTNAME)")
	_ = cmd.RegisterFlagCompletionFunc("type", cobra.FixedCompletions(api.AttachmentTypes, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

func attachRun(ctx context.Context, opts *AttachOptions) error {
	value, err := opts.value()
	if err != nil {
		return err
	}
	by := opts.By
	if by == "" {
		by = cmdutil.DefaultWorkerID()
	}
	params := api.TaskAttachParams{TaskID: opts.ID, Key: opts.Key, Type: opts.Type, Value: value, CreatedBy: by}
	return cmdutil.CallPrint(ctx, &opts.CallOptions, "task.attach", params, func(w io.Writer, _ iostreams.ColorScheme, a api.Attachment) error {
		_, err := fmt.Fprintf(w, "attached %s to %s (%s, %d bytes)\n", a.Key, a.TaskID, a.Type, a.Size)
		return err
	})
}

// value builds the attachment's JSON value from the arguments or stdin.
func (o *AttachOptions) value() (json.RawMessage, error) {
	fromStdin := len(o.Values) == 1 && o.Values[0] == "-"
	var text string
	var items []string
	if fromStdin {
		data, err := io.ReadAll(o.IO.In)
		if err != nil {
			return nil, fmt.Errorf("read the value from stdin: %w", err)
		}
		text = strings.TrimSuffix(strings.TrimSuffix(string(data), "\n"), "\r")
		sc := bufio.NewScanner(strings.NewReader(string(data)))
		sc.Buffer(make([]byte, 0, 64*1024), len(data)+1)
		for sc.Scan() {
			if line := strings.TrimSpace(sc.Text()); line != "" {
				items = append(items, line)
			}
		}
	} else {
		text = strings.Join(o.Values, " ")
		items = o.Values
	}
	if o.JSONValue {
		if !json.Valid([]byte(text)) {
			return nil, cmdutil.FlagErrorf("--json-value: the value is not JSON")
		}
		return json.RawMessage(text), nil
	}
	switch o.Type {
	case api.AttachmentFiles, api.AttachmentLinks:
		if len(items) == 0 {
			return nil, cmdutil.FlagErrorf("no %s given: list them as arguments or one per line on stdin (-)", o.Type)
		}
		return json.Marshal(items)
	case api.AttachmentResult, api.AttachmentJSON:
		if json.Valid([]byte(text)) {
			return json.RawMessage(text), nil
		}
	}
	// A note, or text that is not JSON: a JSON string. cbd checks the
	// type itself, an unknown one included.
	return json.Marshal(text)
}

// AttachmentsOptions are cb task attachments' inputs.
type AttachmentsOptions struct {
	Options
	ID, Key string
}

// NewCmdAttachments is `cb task attachments`.
func NewCmdAttachments(f *cmdutil.Factory, runF func(context.Context, *AttachmentsOptions) error) *cobra.Command {
	opts := &AttachmentsOptions{Options: newOptions(f)}
	cmd := cmdutil.WithRun(f, &cobra.Command{
		Use:   "attachments ID",
		Short: "Show a task's attachments, oldest first",
		Long: `Show a task's attachments, oldest first: each key with its type, size, who
attached it and when, then its value (a note's text, one path or link a
line, JSON on one line). --key shows one.`,
		Example: `  cb task attachments "$ID"
  cb task attachments "$ID" --key result --jq '.attachments[0].value'`,
		Args: cobra.ExactArgs(1),
	}, opts, func(_ *cobra.Command, args []string) error {
		opts.ID = args[0]
		return nil
	}, runF, attachmentsRun)
	cmd.Flags().StringVar(&opts.Key, "key", "", "only the attachment with this key")
	return cmd
}

func attachmentsRun(ctx context.Context, opts *AttachmentsOptions) error {
	params := api.TaskAttachmentsParams{TaskID: opts.ID, Key: opts.Key}
	return cmdutil.CallPrint(ctx, &opts.CallOptions, "task.attachments", params, func(w io.Writer, _ iostreams.ColorScheme, res api.TaskAttachmentsResult) error {
		if len(res.Attachments) == 0 {
			what := "no attachments"
			if opts.Key != "" {
				what = "no attachment " + opts.Key
			}
			_, err := fmt.Fprintf(opts.IO.ErrOut, "%s has %s\n", res.TaskID, what)
			return err
		}
		return renderAttachments(w, res.Attachments, "", opts.Now())
	})
}

// renderAttachments prints attachments, each as a heading line (key, type,
// size, who, when) and its value indented below it, every line prefixed
// with indent. Control characters in values are shown as spaces.
func renderAttachments(w io.Writer, as []api.Attachment, indent string, now time.Time) error {
	for _, a := range as {
		by := ""
		if a.CreatedBy != "" {
			by = ", by " + cmdutil.OneLine(a.CreatedBy)
		}
		if _, err := fmt.Fprintf(w, "%s%s (%s, %d bytes%s, %s ago)\n", indent, a.Key, a.Type, a.Size, by,
			cmdutil.HumanAge(now.Sub(a.UpdatedAt.Time))); err != nil {
			return err
		}
		for _, line := range valueLines(a) {
			if _, err := fmt.Fprintf(w, "%s  %s\n", indent, line); err != nil {
				return err
			}
		}
	}
	return nil
}

// valueLines are the lines that show an attachment's value.
func valueLines(a api.Attachment) []string {
	switch a.Type {
	case api.AttachmentNote:
		var s string
		if json.Unmarshal(a.Value, &s) == nil {
			lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
			for i, l := range lines {
				lines[i] = cmdutil.OneLine(l)
			}
			return lines
		}
	case api.AttachmentFiles, api.AttachmentLinks:
		var items []string
		if json.Unmarshal(a.Value, &items) == nil {
			for i, s := range items {
				items[i] = cmdutil.OneLine(s)
			}
			return items
		}
	}
	return []string{cmdutil.CompactJSON(a.Value)}
}
