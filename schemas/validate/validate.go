// Package validate compiles the method schemas of package schemas once and
// validates requests and answers against them. A fast path (fast.go) accepts
// the documents it is sure of; everything else, and every error message,
// comes from santhosh-tekuri/jsonschema.
package validate

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/claudebench/cb/protocol"
	"github.com/claudebench/cb/schemas"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// Validator holds the compiled input and output schema of every method,
// and the fast path's version of those it supports (see fast.go).
type Validator struct {
	input, output   map[string]*jsonschema.Schema
	fastIn, fastOut map[string]*fastNode
	fastUnsupported map[string]error // "method input|output" → why it has no fast path
}

const base = "https://claudebench.local/schemas/"

// New compiles every schema in package schemas.
func New() (*Validator, error) {
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	docs := map[string]any{} // file name → document, for the fast path too
	err := fs.WalkDir(schemas.FS(), "methods", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(schemas.FS(), path)
		if err != nil {
			return err
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		name := strings.TrimPrefix(path, "methods/")
		docs[name] = doc
		return c.AddResource(base+name, doc)
	})
	if err != nil {
		return nil, fmt.Errorf("load schemas: %w", err)
	}
	names, err := schemas.Methods()
	if err != nil {
		return nil, err
	}
	v := &Validator{input: map[string]*jsonschema.Schema{}, output: map[string]*jsonschema.Schema{}}
	for _, n := range names {
		if v.input[n], err = c.Compile(base + n + ".json#/input"); err != nil {
			return nil, fmt.Errorf("compile %s input schema: %w", n, err)
		}
		if v.output[n], err = c.Compile(base + n + ".json#/output"); err != nil {
			return nil, fmt.Errorf("compile %s output schema: %w", n, err)
		}
	}
	v.fastIn, v.fastOut, v.fastUnsupported = compileFast(names, docs)
	return v, nil
}

// Has reports whether method has a schema.
func (v *Validator) Has(method string) bool { return v.input[method] != nil }

// fastValid is for tests: sure tells whether (method, dir) has a fast
// validator ("input" or "output"), ok whether it accepts data.
func (v *Validator) fastValid(method, dir string, data []byte) (ok, sure bool) {
	n := v.fastIn[method]
	if dir == "output" {
		n = v.fastOut[method]
	}
	if n == nil {
		return false, false
	}
	return n.validDoc(data), true
}

// FieldError is one failing field of a validation.
type FieldError struct {
	Path    string `json:"path"`
	Message string `json:"message"`
}

// Input validates a method's params; failures are CodeInvalidParams errors
// whose data lists the failing field paths.
func (v *Validator) Input(method string, params []byte) error {
	return check(v.input[method], v.fastIn[method], method, "params", params, protocol.CodeInvalidParams)
}

// Output validates a handler's answer; failures are CodeInternal errors.
func (v *Validator) Output(method string, result []byte) error {
	return check(v.output[method], v.fastOut[method], method, "result", result, protocol.CodeInternal)
}

// check accepts data at once when the fast path is sure it is valid;
// otherwise the reference validator decides and words the error.
func check(sch *jsonschema.Schema, fast *fastNode, method, what string, data []byte, code protocol.Code) error {
	if sch == nil {
		return &protocol.Error{Code: protocol.CodeMethodNotFound, Message: "no schema for method " + method}
	}
	if fast != nil && fast.validDoc(data) {
		return nil
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return &protocol.Error{Code: code, Message: fmt.Sprintf("%s %s: not valid JSON: %v", method, what, err)}
	}
	err = sch.Validate(inst)
	if err == nil {
		return nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return &protocol.Error{Code: code, Message: fmt.Sprintf("%s %s: %v", method, what, err)}
	}
	fields := leafErrors(ve)
	msgs := make([]string, len(fields))
	for i, f := range fields {
		msgs[i] = f.Path + ": " + f.Message
	}
	return &protocol.Error{
		Code:    code,
		Message: fmt.Sprintf("invalid %s for %s: %s", what, method, strings.Join(msgs, "; ")),
		Data:    map[string]any{"errors": fields},
	}
}

var printer = message.NewPrinter(language.English)

// leafErrors lists the innermost causes: the fields that actually failed.
func leafErrors(ve *jsonschema.ValidationError) []FieldError {
	var out []FieldError
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) == 0 {
			out = append(out, FieldError{Path: "/" + strings.Join(e.InstanceLocation, "/"), Message: e.ErrorKind.LocalizedString(printer)})
			return
		}
		for _, c := range e.Causes {
			walk(c)
		}
	}
	walk(ve)
	return out
}
