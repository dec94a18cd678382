package jsonint

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
)

func TestIntegral(t *testing.T) {
	for in, want := range map[string]string{
		`{"priority":50.0}`:                            `{"priority":50}`,
		`{"priority":1e2}`:                             `{"priority":100}`,
		`{"a":5.0E+1,"b":-2.50e1,"c":100e-2}`:          `{"a":50,"b":-25,"c":1}`,
		`{"z":0.0,"nz":-0e5,"p":0.5e1}`:                `{"z":0,"nz":0,"p":5}`,
		`[1.5, 1e-1, 2.25e1, 7, -3]`:                   `[1.5, 1e-1, 2.25e1, 7, -3]`,
		`{"s":"50.0 and 1e2","k\"1.0":2.0}`:            `{"s":"50.0 and 1e2","k\"1.0":2}`,
		`{"big":1e18,"max":123456789012345678.0}`:      `{"big":1e18,"max":123456789012345678}`,
		`{"huge":1e99999,"t":true,"f":false,"n":null}`: `{"huge":1e99999,"t":true,"f":false,"n":null}`,
		`{"nested":{"updates":{"priority":75.000}}}`:   `{"nested":{"updates":{"priority":75}}}`,
	} {
		if got := string(Integral([]byte(in))); got != want {
			t.Errorf("Integral(%s) = %s, want %s", in, got, want)
		}
	}
}

func TestUnmarshal(t *testing.T) {
	var p struct {
		Priority int `json:"priority"`
		Limit    int `json:"limit"`
	}
	if err := Unmarshal([]byte(`{"priority":50.0,"limit":1e2}`), &p); err != nil || p.Priority != 50 || p.Limit != 100 {
		t.Fatalf("Unmarshal → %+v, %v", p, err)
	}
	if err := Unmarshal([]byte(`{"priority":50.5}`), &p); err == nil {
		t.Fatal("50.5 decoded into an int")
	}
}

// FuzzIntegral: Integral never changes what a valid document means, keeps
// it valid, and is idempotent.
func FuzzIntegral(f *testing.F) {
	for _, s := range []string{`{"priority":50.0}`, `[1e2,-2.5e1,0.0,"1.0\"2.0"]`, `1.5e-3`, `{"a":[{"b":1E+2}]}`, `-0.0`, `"\\"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		out := Integral(data)
		if !bytes.Equal(Integral(out), out) {
			t.Fatalf("not idempotent: %q → %q → %q", data, out, Integral(out))
		}
		if !json.Valid(data) {
			return
		}
		if !json.Valid(out) {
			t.Fatalf("valid %q became invalid %q", data, out)
		}
		var a, b any
		if err := json.Unmarshal(data, &a); err != nil {
			return // a number out of float64 range
		}
		if err := json.Unmarshal(out, &b); err != nil {
			t.Fatalf("%q decodes, %q does not: %v", data, out, err)
		}
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("%q means %v, %q means %v", data, a, out, b)
		}
	})
}
