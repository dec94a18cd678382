// Command gendocs writes the README tables that have a source of truth in
// code: config keys (the tags of protocol.Config), error codes
// (protocol.Codes), the default hook rules (daemon/policy) and the hook
// events (protocol.HookEvents with their schemas' descriptions). `make docs`
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
	"github.com/claudebench/cb/schemas"
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
		"events": eventsTable(),
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

// eventPrefix is how a hook schema's description names its event
// ("Claude Code Stop: ", "Claude Code PostToolUse for TodoWrite, ...: ").
var eventPrefix = regexp.MustCompile(`^Claude Code \w+( for [^:]*)?: `)

// eventsTable lists every hook type: its Claude Code event, what cb does
// with it (its schema's description) and whether cb install adds it by
// default.
func eventsTable() string {
	var b strings.Builder
	b.WriteString("| Claude Code event | `cb hook` type | what cb does | installed by default |\n|---|---|---|---|\n")
	for _, he := range protocol.HookEvents {
		m, err := schemas.Load(protocol.HookMethod(he.Type))
		if err != nil {
			panic(err) // every type has a schema (protocol/api's contract test)
		}
		event := he.ClaudeEvent
		if he.Matcher != "" && he.Matcher != "*" {
			event += " (`" + he.Matcher + "`)"
		}
		typ := "`" + he.Type + "`"
		if he.Alias != "" {
			typ += " or `" + he.Alias + "`"
		}
		installed := "no"
		switch {
		case he.Default:
			installed = "yes"
		case he.Replaces:
			installed = "only when named"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", escape(event), escape(typ), escape(eventPrefix.ReplaceAllString(m.Description, "")), installed)
	}
	m, err := schemas.Load(protocol.HookMethod(protocol.OtherHookType))
	if err != nil {
		panic(err)
	}
	fmt.Fprintf(&b, "| any other | `%s` | %s | — |\n", protocol.OtherHookType, escape(m.Description))
	return b.String()
}

func escape(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
