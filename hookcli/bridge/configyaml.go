package bridge

import (
	"bytes"
	"errors"
	"github.com/claudebench/cb/protocol"
	"strconv"
	"strings"
	"unicode/utf8"
)

// errNeedsYAML says the config file uses YAML that readConfigLean does not
// read: cb then hands `cb hook` over to cb-cli, which parses it with
// go.yaml.in/yaml/v3 (whose package init alone costs every call ~0.17 ms).
var errNeedsYAML = errors.New("config needs the full YAML parser")

// opaque stands for a value readConfigLean skipped (a list, a block or flow
// collection, an anchor, alias or tag, a multi-line or unusual scalar). A
// lookup that reaches one needs the full parser.
type opaque struct{}

// readConfigLean reads the block-mapping subset of YAML that config files are
// made of: nested "key: value" mappings indented with spaces, comments, and
// values that are plain strings, decimal integers, durations, null, or
// single-line quoted strings without escapes. Anything else under a key is
// skipped as opaque (by its indentation); anything it cannot place at all,
// and any duplicate key, is errNeedsYAML. For the file it accepts, it
// yields what yaml.Unmarshal into map[string]any yields, except at opaque
// values (a test and a fuzz target hold it to that).
func readConfigLean(data []byte) (map[string]any, error) {
	if !utf8.Valid(data) || bytes.ContainsAny(data, "\t\r") || bytes.HasPrefix(data, []byte("\xef\xbb\xbf")) {
		return nil, errNeedsYAML
	}
	type level struct {
		indent int
		m      map[string]any
	}
	root := map[string]any{}
	stack := []level{{0, root}}
	lines := strings.Split(string(data), "\n")
	// pending is the mapping key whose value is the block below it.
	var pendingMap map[string]any
	var pendingKey string
	pendingIndent := -1
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		content := strings.TrimLeft(line, " ")
		indent := len(line) - len(content)
		if content == "" || content[0] == '#' {
			continue
		}
		if indent == 0 && (strings.HasPrefix(content, "---") || strings.HasPrefix(content, "...") || content[0] == '%') {
			return nil, errNeedsYAML
		}
		if pendingMap != nil {
			key, _, isKey := splitKeyLine(content)
			switch {
			case indent > pendingIndent && isKey && plainKey(key):
				// A nested mapping at this indentation.
				m := map[string]any{}
				pendingMap[pendingKey] = m
				stack = append(stack, level{indent, m})
			case indent > pendingIndent || (indent == pendingIndent && (content == "-" || strings.HasPrefix(content, "- "))):
				// A sequence or scalar block: skip it.
				pendingMap[pendingKey] = opaque{}
				i = skipBlock(lines, i, pendingIndent, true) - 1
				pendingMap = nil
				continue
			}
			pendingMap = nil
		}
		for len(stack) > 1 && indent < stack[len(stack)-1].indent {
			stack = stack[:len(stack)-1]
		}
		top := stack[len(stack)-1]
		if indent != top.indent {
			return nil, errNeedsYAML
		}
		key, rest, isKey := splitKeyLine(content)
		if !isKey || !plainKey(key) {
			return nil, errNeedsYAML
		}
		if _, dup := top.m[key]; dup {
			return nil, errNeedsYAML
		}
		if rest == "" {
			top.m[key] = nil // null unless a block follows
			pendingMap, pendingKey, pendingIndent = top.m, key, indent
			continue
		}
		v, err := leanScalar(rest)
		if err != nil {
			return nil, err
		}
		// More-indented lines after an inline value continue it (a
		// multi-line scalar, a block scalar's text): skip them.
		if next := skipBlock(lines, i+1, indent, false); next > i+1 {
			v = opaque{}
			i = next - 1
		}
		top.m[key] = v
	}
	return root, nil
}

// splitKeyLine splits "key: rest" or "key:"; rest has its comment removed
// and is trimmed.
func splitKeyLine(content string) (key, rest string, ok bool) {
	i := strings.Index(content, ":")
	if i <= 0 || (i+1 < len(content) && content[i+1] != ' ') {
		return "", "", false
	}
	return content[:i], strings.TrimSpace(content[i+1:]), true
}

// plainKey is a key yaml decodes as this very string: a letter or _, then
// letters, digits, _ . and -, and no word YAML may read as a bool or null.
func plainKey(k string) bool {
	for i := 0; i < len(k); i++ {
		c := k[i]
		letter := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_'
		if !letter && (i == 0 || !(c >= '0' && c <= '9' || c == '.' || c == '-')) {
			return false
		}
	}
	return k != "" && !reservedWord(k)
}

// reservedWord is a plain scalar some YAML reading turns into a bool or null.
func reservedWord(s string) bool {
	switch strings.ToLower(s) {
	case "true", "false", "null", "yes", "no", "on", "off", "y", "n":
		return true
	}
	return false
}

// skipBlock returns the index after the last line, from i on, of a block
// belonging to a key at indent: lines indented deeper and (seq) sequence
// items at indent, with the blank lines and comments between them. It
// returns i when there is no such line.
func skipBlock(lines []string, i, indent int, seq bool) int {
	end := i
	for ; i < len(lines); i++ {
		content := strings.TrimLeft(lines[i], " ")
		n := len(lines[i]) - len(content)
		switch {
		case content == "" || (content[0] == '#' && n > indent):
		case n > indent, seq && n == indent && (content == "-" || strings.HasPrefix(content, "- ")):
			end = i + 1
		default:
			return end
		}
	}
	return end
}

// isDecimal is an integer yaml reads as the same int: 0, or up to 18
// digits without a leading zero (no sign, no _, no base prefix).
func isDecimal(s string) bool {
	if s == "" || len(s) > 18 || (s[0] == '0' && len(s) > 1) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// isDuration is a Go duration without sign ("2s", "1m30s", "1.5h"): YAML
// reads it as a string.
func isDuration(s string) bool {
	if s == "" {
		return false
	}
	for s != "" {
		i := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == 0 {
			return false
		}
		if i < len(s) && s[i] == '.' {
			j := i + 1
			for j < len(s) && s[j] >= '0' && s[j] <= '9' {
				j++
			}
			if j == i+1 {
				return false
			}
			i = j
		}
		s = s[i:]
		unit := ""
		for _, u := range []string{"ns", "us", "µs", "ms", "s", "m", "h"} {
			if strings.HasPrefix(s, u) {
				unit = u
				break
			}
		}
		if unit == "" {
			return false
		}
		s = s[len(unit):]
	}
	return true
}

// leanScalar reads an inline value (comment included). Values it does not
// know for sure become opaque; text it cannot delimit is errNeedsYAML.
func leanScalar(s string) (any, error) {
	switch s[0] {
	case '"', '\'':
		q := s[0]
		var b strings.Builder
		i := 1
		for ; i < len(s); i++ {
			c := s[i]
			if q == '"' && c == '\\' {
				return nil, errNeedsYAML
			}
			if c == q {
				if q == '\'' && i+1 < len(s) && s[i+1] == '\'' {
					b.WriteByte('\'')
					i++
					continue
				}
				break
			}
			b.WriteByte(c)
		}
		if i >= len(s) {
			return nil, errNeedsYAML // continues on the next line
		}
		if tail := strings.TrimLeft(s[i+1:], " "); tail != "" && tail[0] != '#' {
			return nil, errNeedsYAML
		}
		if tail := s[i+1:]; tail != "" && tail[0] != ' ' {
			return nil, errNeedsYAML
		}
		return b.String(), nil
	case '[', '{':
		if strings.ContainsAny(s, "#\"'") || !strings.HasSuffix(s, map[byte]string{'[': "]", '{': "}"}[s[0]]) {
			return nil, errNeedsYAML
		}
		return opaque{}, nil
	}
	if i := strings.Index(s, " #"); i >= 0 {
		s = strings.TrimSpace(s[:i])
	}
	switch {
	case s == "~" || s == "null" || s == "Null" || s == "NULL":
		return nil, nil
	case strings.Contains(s, ": ") || strings.HasSuffix(s, ":"):
		return nil, errNeedsYAML
	case isDecimal(s):
		n, err := strconv.Atoi(s)
		if err != nil {
			return opaque{}, nil
		}
		return n, nil
	case isDuration(s):
		return s, nil
	case strings.IndexByte("-?:,[]{}#&*!|>'\"%@`.+<=0123456789", s[0]) >= 0, reservedWord(s):
		return opaque{}, nil
	}
	return s, nil
}

// readConfigForHook is readConfigLean, and errNeedsYAML when a setting cb
// hook reads is (or lies under) a value it skipped.
func readConfigForHook(data []byte) (map[string]any, error) {
	m, err := readConfigLean(data)
	if err != nil {
		return nil, err
	}
	keys := []string{"redis.url", "hook.timeout", "hook.fail_mode", "hook.max_input_bytes"}
	for _, ev := range protocol.HookEvents {
		keys = append(keys, "hook."+ev.Type+".fail_mode")
	}
	return m, probeLean(m, keys)
}

// probeLean is errNeedsYAML when the walk to one of keys meets an opaque
// value.
func probeLean(m map[string]any, keys []string) error {
	for _, k := range keys {
		var cur any = m
		for _, part := range strings.Split(k, ".") {
			mm, ok := cur.(map[string]any)
			if !ok {
				break
			}
			if cur, ok = mm[part]; !ok {
				break
			}
			if _, ok := cur.(opaque); ok {
				return errNeedsYAML
			}
		}
	}
	return nil
}
