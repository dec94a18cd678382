// Package schemas holds the JSON Schema of every method, input and output:
// the single source of truth that validation, system.discover, the HTTP
// method listing and MCP tool listings all read. One file per method in
// methods/, named <method>.json, with "description", "input" and "output";
// shared definitions live in methods/common.json.
package schemas

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"sort"
	"strings"
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
