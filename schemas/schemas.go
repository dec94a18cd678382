// Package schemas holds the JSON Schema of every method, input and output:
// the single source of truth that validation, system.discover, the HTTP
// method listing and MCP tool listings all read. One file per method in
// methods/, named <method>.json, with "description", "input" and "output";
// shared definitions live in methods/common.json.
package schemas

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"sync"
)

//go:embed methods/*.json
var files embed.FS

// FS returns the embedded schema files (paths "methods/<name>.json").
func FS() fs.FS { return files }

// CommonFile is the file of shared definitions, not a method.
const CommonFile = "common.json"

// Method is one method's published schema.
type Method struct {
	Name        string          `json:"name"`
	Description string          `json:"description"`
	Input       json.RawMessage `json:"inputSchema"`
	Output      json.RawMessage `json:"outputSchema"`
}

// Methods returns every method with a schema, sorted by name.
func Methods() ([]string, error) {
	entries, err := fs.ReadDir(files, "methods")
	if err != nil {
		return nil, fmt.Errorf("list schemas: %w", err)
	}
	var names []string
	for _, e := range entries {
		n := e.Name()
		if n == CommonFile || !strings.HasSuffix(n, ".json") {
			continue
		}
		names = append(names, strings.TrimSuffix(n, ".json"))
	}
	sort.Strings(names)
	return names, nil
}

// Load returns a method's schema document.
func Load(method string) (Method, error) {
	data, err := fs.ReadFile(files, "methods/"+method+".json")
	if err != nil {
		return Method{}, fmt.Errorf("schema for %s: %w", method, err)
	}
	var m Method
	if err := json.Unmarshal(data, &struct {
		Description *string          `json:"description"`
		Input       *json.RawMessage `json:"input"`
		Output      *json.RawMessage `json:"output"`
	}{&m.Description, &m.Input, &m.Output}); err != nil {
		return Method{}, fmt.Errorf("schema for %s: %w", method, err)
	}
	m.Name = method
	return m, nil
}

// Common returns the shared definitions document.
func Common() (json.RawMessage, error) {
	data, err := fs.ReadFile(files, "methods/"+CommonFile)
	if err != nil {
		return nil, fmt.Errorf("common schema: %w", err)
	}
	return data, nil
}

// Resolved returns a method's schema with every "$ref" inlined, so each of
// its input and output schemas is a self-contained document a client can use
// without fetching common.json. References of the form
// "common.json#/$defs/X" (and, inside common.json, "#/$defs/Y") are replaced
// by the referenced definition, recursively; a reference with sibling
// keywords becomes {"allOf":[definition], ...siblings}, which means the same
// under draft 2020-12. A recursive definition is an error.
func Resolved(method string) (Method, error) {
	m, err := Load(method)
	if err != nil {
		return Method{}, err
	}
	common, err := commonDoc()
	if err != nil {
		return Method{}, err
	}
	// A local ref in a method file points into the method's own document.
	self, err := methodDoc(method)
	if err != nil {
		return Method{}, err
	}
	r := &resolver{docs: map[string]any{CommonFile: common, method + ".json": self}}
	for _, part := range []struct {
		name string
		raw  *json.RawMessage
	}{{"input", &m.Input}, {"output", &m.Output}} {
		if len(*part.raw) == 0 {
			continue
		}
		doc, err := decodeJSON(*part.raw)
		if err != nil {
			return Method{}, fmt.Errorf("schema for %s: %s: %w", method, part.name, err)
		}
		out, err := r.resolve(doc, method+".json", nil)
		if err != nil {
			return Method{}, fmt.Errorf("schema for %s: %s: %w", method, part.name, err)
		}
		b, err := json.Marshal(out)
		if err != nil {
			return Method{}, fmt.Errorf("schema for %s: %s: encode: %w", method, part.name, err)
		}
		*part.raw = b
	}
	return m, nil
}

// resolver inlines references between the documents it knows, by file name.
type resolver struct {
	docs map[string]any
}

// resolve returns a copy of v with every "$ref" inlined. doc names the
// document v belongs to (the base of "#/..." refs); stack holds the refs
// being expanded, to refuse recursive definitions.
func (r *resolver) resolve(v any, doc string, stack []string) (any, error) {
	switch x := v.(type) {
	case map[string]any:
		if ref, ok := x["$ref"].(string); ok {
			file, ptr, _ := strings.Cut(ref, "#")
			if file == "" {
				file = doc
			}
			target, ok := r.docs[file]
			if !ok {
				return nil, fmt.Errorf("$ref %q: unknown document %q", ref, file)
			}
			key := file + "#" + ptr
			for _, s := range stack {
				if s == key {
					return nil, fmt.Errorf("$ref %q: recursive definition cannot be inlined", ref)
				}
			}
			def, err := pointer(target, ptr)
			if err != nil {
				return nil, fmt.Errorf("$ref %q: %w", ref, err)
			}
			def, err = r.resolve(def, file, append(stack, key))
			if err != nil {
				return nil, err
			}
			if len(x) == 1 {
				return def, nil
			}
			out := map[string]any{"allOf": []any{def}}
			for k, sub := range x {
				if k == "$ref" {
					continue
				}
				if k == "allOf" {
					rest, err := r.resolve(sub, doc, stack)
					if err != nil {
						return nil, err
					}
					list, _ := rest.([]any)
					out["allOf"] = append([]any{def}, list...)
					continue
				}
				if out[k], err = r.resolve(sub, doc, stack); err != nil {
					return nil, err
				}
			}
			return out, nil
		}
		out := make(map[string]any, len(x))
		for k, sub := range x {
			var err error
			if out[k], err = r.resolve(sub, doc, stack); err != nil {
				return nil, err
			}
		}
		return out, nil
	case []any:
		out := make([]any, len(x))
		for i, sub := range x {
			var err error
			if out[i], err = r.resolve(sub, doc, stack); err != nil {
				return nil, err
			}
		}
		return out, nil
	default:
		return v, nil
	}
}

// pointer follows a JSON Pointer (RFC 6901) such as "/$defs/task" in doc.
func pointer(doc any, ptr string) (any, error) {
	if ptr == "" {
		return doc, nil
	}
	if !strings.HasPrefix(ptr, "/") {
		return nil, fmt.Errorf("unsupported JSON pointer %q", ptr)
	}
	cur := doc
	for _, tok := range strings.Split(ptr[1:], "/") {
		tok = strings.NewReplacer("~1", "/", "~0", "~").Replace(tok)
		switch c := cur.(type) {
		case map[string]any:
			next, ok := c[tok]
			if !ok {
				return nil, fmt.Errorf("JSON pointer %q: no %q", ptr, tok)
			}
			cur = next
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(c) {
				return nil, fmt.Errorf("JSON pointer %q: bad index %q", ptr, tok)
			}
			cur = c[i]
		default:
			return nil, fmt.Errorf("JSON pointer %q: %q is not in a container", ptr, tok)
		}
	}
	return cur, nil
}

// commonDoc decodes common.json once.
var commonDoc = sync.OnceValues(func() (any, error) {
	data, err := Common()
	if err != nil {
		return nil, err
	}
	doc, err := decodeJSON(data)
	if err != nil {
		return nil, fmt.Errorf("common schema: %w", err)
	}
	return doc, nil
})

// methodDoc decodes a method's whole schema file.
func methodDoc(method string) (any, error) {
	data, err := fs.ReadFile(files, "methods/"+method+".json")
	if err != nil {
		return nil, fmt.Errorf("schema for %s: %w", method, err)
	}
	doc, err := decodeJSON(data)
	if err != nil {
		return nil, fmt.Errorf("schema for %s: %w", method, err)
	}
	return doc, nil
}

// decodeJSON decodes generically, keeping numbers exact.
func decodeJSON(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	return v, nil
}
