package work

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/claudebench/cb/protocol/api"
)

func noteOf(typ string, v any) api.Attachment {
	raw, _ := json.Marshal(v)
	return api.Attachment{Key: "k", Type: typ, Value: raw}
}

// TestNotes: CB_TASK_NOTES holds only the notes, oldest first, joined by
// blank lines, without the NUL bytes no environment string can hold, and
// is cut at a rune boundary with a marker that stays within the bound.
func TestNotes(t *testing.T) {
	atts := []api.Attachment{
		noteOf(api.AttachmentNote, "first\nline"),
		noteOf(api.AttachmentFiles, []string{"a.go"}),
		noteOf(api.AttachmentNote, "nul\x00byte"),
		noteOf(api.AttachmentJSON, "a json string, not a note"),
		noteOf(api.AttachmentNote, "last"),
	}
	if got, want := notes(atts, maxNotesEnv), "first\nline\n\nnulbyte\n\nlast"; got != want {
		t.Fatalf("notes = %q, want %q", got, want)
	}
	if got := notes(nil, maxNotesEnv); got != "" {
		t.Fatalf("no attachments: %q", got)
	}
	long := []api.Attachment{noteOf(api.AttachmentNote, strings.Repeat("é", 1000))} // 2000 bytes
	for limit := 190; limit < 200; limit++ {
		got := notes(long, limit)
		if len(got) > limit || !utf8.ValidString(got) || !strings.HasSuffix(got, "of 2000 bytes: all of them are in $CB_TASK_ATTACHMENTS]") {
			t.Fatalf("limit %d: %d bytes %q", limit, len(got), got)
		}
	}
}
