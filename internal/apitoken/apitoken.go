// Package apitoken keeps cbd's API token, the one secret of its HTTP side,
// and derives the narrower credentials handed out from it. Both binaries
// use it: cbd to check requests, cb-cli to make them (cb dashboard) and to
// write the http hooks' credential (cb install --http). It uses the
// standard library only.
package apitoken

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// File is the token file: configured (config http.token_file) when set,
// else "token" in the config dir.
func File(configured, configDir string) string {
	if configured != "" {
		return configured
	}
	return filepath.Join(configDir, "token")
}

// hookCredentialPrefix marks a hook credential, so a log line or a settings
// file shows which kind of secret it holds.
const hookCredentialPrefix = "cbh_"

// HookCredential derives the credential Claude Code's http hooks send
// (Authorization: Bearer <credential>) from the API token: an HMAC, so it
// reveals nothing of the token, changes when the token does, and needs no
// file of its own. cbd accepts it on /hooks/* only.
func HookCredential(token string) string {
	if token == "" {
		return ""
	}
	m := hmac.New(sha256.New, []byte(token))
	m.Write([]byte("claudebench http hook credential v1"))
	return hookCredentialPrefix + hex.EncodeToString(m.Sum(nil))
}

// LoadOrCreate returns the API token kept in the file at path. On first
// start it creates the file: 32 random bytes, hex encoded, mode 0600, in a
// parent directory created with mode 0700. Later starts reuse it. A file
// that group or others may read or write is refused, as is an empty one.
// Two processes creating the file at once end up with the same token.
func LoadOrCreate(path string) (string, error) {
	if path == "" {
		return "", errors.New("api token: no token file configured")
	}
	tok, err := readToken(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return tok, err
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("api token: create directory: %w", err)
	}
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("api token: random bytes: %w", err)
	}
	tok = hex.EncodeToString(b[:])
	if err := createExclusive(path, []byte(tok+"\n")); err != nil {
		if errors.Is(err, fs.ErrExist) { // another process was first: use its token
			return readToken(path)
		}
		return "", err
	}
	return tok, nil
}

// createExclusive writes data to a new file at path with mode 0600, failing
// with fs.ErrExist when path exists. The file appears complete or not at
// all (written beside it, then hard-linked into place) where the file
// system supports links.
func createExclusive(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".token-*")
	if err != nil {
		return fmt.Errorf("api token: create %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if err := writeClose(tmp, data); err != nil {
		return fmt.Errorf("api token: write %s: %w", tmp.Name(), err)
	}
	switch err := os.Link(tmp.Name(), path); {
	case err == nil:
		return nil
	case errors.Is(err, fs.ErrExist):
		return fmt.Errorf("api token: create %s: %w", path, err)
	}
	// No hard links here: create in place.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("api token: create %s: %w", path, err)
	}
	if err := writeClose(f, data); err != nil {
		return fmt.Errorf("api token: write %s: %w", path, err)
	}
	return nil
}

// writeClose writes data, syncs and closes f with mode 0600.
func writeClose(f *os.File, data []byte) error {
	err := f.Chmod(0o600)
	if err == nil {
		_, err = f.Write(data)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// Read returns the token of an existing token file, refusing one that group
// or others may access. It never creates the file: that is cbd's job.
func Read(path string) (string, error) { return readToken(path) }

// readToken reads and checks an existing token file.
func readToken(path string) (string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("api token: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return "", fmt.Errorf("api token: %s is not a regular file", path)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 && runtime.GOOS != "windows" {
		return "", fmt.Errorf("api token: %s has mode %04o: group and others must have no access (chmod 600 %s)", path, perm, path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("api token: %w", err)
	}
	tok := strings.TrimSpace(string(data))
	switch {
	case tok == "":
		return "", fmt.Errorf("api token: %s is empty (delete it to have a new token created)", path)
	case strings.ContainsAny(tok, " \t\r\n"):
		return "", fmt.Errorf("api token: %s must hold a single token on one line", path)
	}
	return tok, nil
}
