package cmdutil

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"

	"github.com/claudebench/cb/hookcli/cli/iostreams"
	"github.com/itchyny/gojq"
)

// PrintJSON prints v (a json.RawMessage is printed as received, fields in
// their order): indented on a terminal, one compact line otherwise. With
// --jq the expression's results are printed instead, one per line, strings
// without quotes.
func (f *Factory) PrintJSON(v any) error {
	return PrintJSON(f.IOStreams, f.Flags.JQ, v)
}

// PrintJSON prints v to ios.Out as Factory.PrintJSON does, filtered by
// the jq expression jq when it is not empty.
func PrintJSON(ios *iostreams.IOStreams, jq string, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode output: %w", err)
	}
	if jq == "" {
		return writeJSONLine(ios, raw)
	}
	query, err := gojq.Parse(jq)
	if err != nil {
		return FlagErrorf("--jq: %v", err)
	}
	code, err := gojq.Compile(query)
	if err != nil {
		return FlagErrorf("--jq: %v", err)
	}
	var in any
	if err := json.Unmarshal(raw, &in); err != nil {
		return fmt.Errorf("decode output for --jq: %w", err)
	}
	iter := code.Run(in)
	for {
		out, ok := iter.Next()
		if !ok {
			return nil
		}
		if err, ok := out.(error); ok {
			return fmt.Errorf("--jq: %w", err)
		}
		if s, ok := out.(string); ok {
			if _, err := fmt.Fprintln(ios.Out, s); err != nil {
				return err
			}
			continue
		}
		b, err := gojq.Marshal(out)
		if err != nil {
			return fmt.Errorf("--jq: %w", err)
		}
		if err := writeJSONLine(ios, b); err != nil {
			return err
		}
	}
}

// writeJSONLine writes one JSON document and a newline: indented on a
// terminal, compact otherwise.
func writeJSONLine(ios *iostreams.IOStreams, raw []byte) error {
	var b bytes.Buffer
	var err error
	if ios.IsStdoutTTY() {
		err = json.Indent(&b, raw, "", "  ")
	} else {
		err = json.Compact(&b, raw)
	}
	if err != nil {
		return fmt.Errorf("encode output: %w", err)
	}
	b.WriteByte('\n')
	_, err = io.Copy(ios.Out, &b)
	return err
}

// PrintResult prints a method's result: as JSON (PrintJSON) with --json or
// --jq, else through human, given stdout and its color scheme.
func (f *Factory) PrintResult(raw json.RawMessage, human func(w io.Writer, cs iostreams.ColorScheme) error) error {
	if f.Flags.JSONOut() {
		return f.PrintJSON(raw)
	}
	return human(f.IOStreams.Out, f.IOStreams.ColorScheme())
}

// JSONFlag parses a flag holding a JSON value.
func JSONFlag(name, value string) (json.RawMessage, error) {
	if !json.Valid([]byte(value)) {
		return nil, FlagErrorf("--%s: not valid JSON: %s", name, value)
	}
	return json.RawMessage(value), nil
}

// ObjectFlag parses a flag holding a JSON object.
func ObjectFlag(name, value string) (json.RawMessage, error) {
	raw, err := JSONFlag(name, value)
	if err != nil {
		return nil, err
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(raw, &obj) != nil || obj == nil {
		return nil, FlagErrorf("--%s: want a JSON object like {\"key\":\"value\"}, got %s", name, value)
	}
	return raw, nil
}
