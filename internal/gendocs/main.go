// Command gendocs writes the README tables that have a source of truth in
// code: config keys (the tags of protocol.Config), error codes
// (protocol.Codes) and the default hook rules (daemon/policy). `make docs`
// runs it with -w; the test in this package fails when README.md is out of
// date.
package main

import (
	"flag"
	"fmt"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/claudebench/cb/daemon/policy"
	"github.com/claudebench/cb/protocol"
)

func main() {
	write := flag.Bool("w", false, "rewrite the file in place")
	flag.Parse()
	path := "README.md"
	if flag.NArg() > 0 {
		path = flag.Arg(0)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gendocs:", err)
		os.Exit(1)
	}
	out, err := Render(string(data))
	if err != nil {
		fmt.Fprintln(os.Stderr, "gendocs:", err)
		os.Exit(1)
	}
	if !*write {
		fmt.Print(out)
		return
	}
	if err := os.WriteFile(path, []byte(out), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "gendocs:", err)
		os.Exit(1)
	}
}

// Sections maps a marker name to its generated content.
func Sections() map[string]string {
	return map[string]string{
		"config": configTable(),
		"errors": errorTable(),
		"rules":  policy.DefaultRulesTable(),
	}
}

// Render replaces the content between <!-- BEGIN name --> and
// <!-- END name --> for every section.
func Render(doc string) (string, error) {
	for name, body := range Sections() {
		re := regexp.MustCompile(`(?s)(<!-- BEGIN ` + name + ` -->\n).*?(<!-- END ` + name + ` -->)`)
		if !re.MatchString(doc) {
			return "", fmt.Errorf("README has no <!-- BEGIN %s --> ... <!-- END %s --> section", name, name)
		}
		doc = re.ReplaceAllLiteralString(doc, "<!-- BEGIN "+name+" -->\n"+strings.TrimRight(body, "\n")+"\n<!-- END "+name+" -->")
	}
	return doc, nil
}

func configTable() string {
	var b strings.Builder
	b.WriteString("| key | env | default | what |\n|---|---|---|---|\n")
	for _, k := range protocol.ConfigKeys() {
		fmt.Fprintf(&b, "| `%s` | `%s` | %s | %s |\n", k.Name, protocol.EnvName(k.Name), formatDefault(k.Default), escape(k.Doc))
	}
	return b.String()
}

func formatDefault(v any) string {
	switch d := v.(type) {
	case string:
		if d == "" {
			return "(empty)"
		}
		return "`" + d + "`"
	case time.Duration:
		return "`" + d.String() + "`"
	case []string:
		if len(d) == 0 {
			return "`[]`"
		}
		return "`" + strings.Join(d, ",") + "`"
	case []any:
		return "`[]`"
	default:
		return fmt.Sprintf("`%v`", d)
	}
}

func errorTable() string {
	var b strings.Builder
	b.WriteString("| code | name | meaning | `cb` exit status |\n|---|---|---|---|\n")
	for _, c := range protocol.Codes {
		fmt.Fprintf(&b, "| %d | `%s` | %s | %d |\n", int(c.Code), c.Name, escape(c.Doc), c.Exit)
	}
	return b.String()
}

func escape(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
