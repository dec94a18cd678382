// Package jsonint decodes JSON whose integers may be written as integral
// numbers of another form. JSON Schema counts 50.0, 5e1 and 5.0E+1 as the
// integer 50, and clients in languages without an integer type send such
// forms, but encoding/json refuses to put them into a Go int. Integral
// rewrites them as plain integer literals first.
package jsonint

import (
	"encoding/json"
	"strings"
)

// maxDigits bounds the integers Integral writes: 18 decimal digits always
// fit an int64. A longer value is left as it is (and refused by an int
// field, as it would overflow anyway).
const maxDigits = 18

// Unmarshal is json.Unmarshal after Integral.
func Unmarshal(data []byte, v any) error {
	return json.Unmarshal(Integral(data), v)
}

// Integral returns data with every number that is an integer written with a
// fraction or an exponent (50.0, 1e2, -2.50e1) replaced by its plain
// integer literal (50, 100, -25). Numbers that are not integral, or whose
// integer has more than 18 digits, and everything inside strings are left
// alone. data is returned unchanged (not copied) when nothing changes; it
// need not be valid JSON (invalid input stays invalid).
func Integral(data []byte) []byte {
	var out []byte // nil until the first rewrite
	last := 0      // data[:last] is already in out
	inString := false
	for i := 0; i < len(data); i++ {
		c := data[i]
		if inString {
			switch c {
			case '\\':
				i++ // skip the escaped byte
			case '"':
				inString = false
			}
			continue
		}
		if c == '"' {
			inString = true
			continue
		}
		if c != '-' && (c < '0' || c > '9') {
			continue
		}
		end := i + 1
		for end < len(data) && isNumberByte(data[end]) {
			end++
		}
		if lit, ok := integer(string(data[i:end])); ok {
			out = append(append(out, data[last:i]...), lit...)
			last = end
		}
		i = end - 1
	}
	if out == nil {
		return data
	}
	return append(out, data[last:]...)
}

func isNumberByte(c byte) bool {
	return c >= '0' && c <= '9' || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-'
}

// integer returns the plain integer literal of the JSON number tok when tok
// has a fraction or an exponent and its value is an integer of at most
// maxDigits digits.
func integer(tok string) (string, bool) {
	if !strings.ContainsAny(tok, ".eE") {
		return "", false // already plain (or not a number)
	}
	neg := strings.HasPrefix(tok, "-")
	if neg {
		tok = tok[1:]
	}
	mant, exp := tok, 0
	if k := strings.IndexAny(tok, "eE"); k >= 0 {
		mant = tok[:k]
		e, ok := exponent(tok[k+1:])
		if !ok {
			return "", false
		}
		exp = e
	}
	intPart, frac, _ := strings.Cut(mant, ".")
	if !digits(intPart) || intPart == "" || (len(intPart) > 1 && intPart[0] == '0') || !digits(frac) ||
		(strings.Contains(mant, ".") && frac == "") {
		return "", false // not a JSON number
	}
	// The value is ds × 10^exp with ds a string of digits.
	ds := strings.TrimLeft(intPart+frac, "0")
	exp -= len(frac)
	for exp < 0 && strings.HasSuffix(ds, "0") {
		ds = ds[:len(ds)-1]
		exp++
	}
	if ds == "" {
		return "0", true // 0.0, -0e5
	}
	if exp < 0 || len(ds)+exp > maxDigits {
		return "", false
	}
	lit := ds + strings.Repeat("0", exp)
	if neg {
		lit = "-" + lit
	}
	return lit, true
}

// exponent parses a JSON exponent ([+-]digits); absurdly long ones are
// refused, so no work depends on their value.
func exponent(s string) (int, bool) {
	neg := false
	if s != "" && (s[0] == '+' || s[0] == '-') {
		neg = s[0] == '-'
		s = s[1:]
	}
	if s == "" || len(s) > 4 || !digits(s) {
		return 0, false
	}
	e := 0
	for _, c := range s {
		e = e*10 + int(c-'0')
	}
	if neg {
		e = -e
	}
	return e, true
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
