package main

import (
	"os"
	"testing"
)

// TestReadmeUpToDate fails when a table in README.md no longer matches its
// source of truth; `make docs` fixes it.
func TestReadmeUpToDate(t *testing.T) {
	data, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	want, err := Render(string(data))
	if err != nil {
		t.Fatal(err)
	}
	if want != string(data) {
		t.Fatal("README.md tables are out of date: run `make docs`")
	}
}
