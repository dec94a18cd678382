package hookcli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/claudebench/cb/protocol"
)

// Settings is cb's (and cb-cli's) view of the configuration: environment variables
// (protocol.EnvName) override the config file, which overrides the defaults
// of protocol.ConfigKeys.
type Settings struct {
	dirs protocol.Dirs
	file map[string]any
}

// ConfigParser reads the config file's YAML into nested maps, as
// yaml.Unmarshal into map[string]any does.
type ConfigParser func(data []byte) (map[string]any, error)

// LoadSettings reads the config file, if there is one, with parse. cb-cli
// parses with go.yaml.in/yaml/v3; cb hook with readConfigLean, which does
// not link it.
func LoadSettings(parse ConfigParser) (*Settings, error) {
	s := &Settings{dirs: protocol.UserDirs()}
	path := os.Getenv("CB_CONFIG")
	if path == "" {
		path = s.dirs.ConfigFile()
	}
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return s, nil
	case err != nil:
		return s, fmt.Errorf("read config %s: %w", path, err)
	}
	if s.file, err = parse(data); err != nil {
		return s, fmt.Errorf("parse config %s: %w", path, err)
	}
	return s, nil
}

// Dirs returns the user directories.
func (s *Settings) Dirs() protocol.Dirs { return s.dirs }

// raw returns the value of key and whether anything set it.
func (s *Settings) raw(key string) (any, bool) {
	if v, ok := os.LookupEnv(protocol.EnvName(key)); ok {
		return v, true
	}
	var cur any = s.file
	for _, part := range strings.Split(key, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[part]; !ok {
			return nil, false
		}
	}
	return cur, cur != nil
}

func defaultOf(key string) any {
	for _, k := range protocol.ConfigKeys {
		if k.Name == key {
			return k.Default
		}
	}
	return nil
}

// String returns a string setting.
func (s *Settings) String(key string) string {
	if v, ok := s.raw(key); ok {
		return fmt.Sprint(v)
	}
	switch d := defaultOf(key).(type) {
	case string:
		return d
	case time.Duration:
		return d.String()
	}
	return ""
}

// Duration returns a duration setting ("2s", "1500ms"); a bad value is an error.
func (s *Settings) Duration(key string) (time.Duration, error) {
	v := s.String(key)
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, fmt.Errorf("config %s: %q is not a duration like 2s", key, v)
	}
	return d, nil
}

// Int returns an integer setting.
func (s *Settings) Int(key string) (int, error) {
	if v, ok := s.raw(key); ok {
		switch n := v.(type) {
		case int:
			return n, nil
		default:
			i, err := strconv.Atoi(fmt.Sprint(v))
			if err != nil {
				return 0, fmt.Errorf("config %s: %q is not an integer", key, fmt.Sprint(v))
			}
			return i, nil
		}
	}
	n, _ := defaultOf(key).(int)
	return n, nil
}

// RedisURL finds the Redis cbd serves: redis.url (env or file), else the
// address cbd wrote to the runtime dir.
func (s *Settings) RedisURL() (string, error) {
	if u := s.String("redis.url"); u != "" {
		return u, nil
	}
	data, err := os.ReadFile(s.dirs.AddrFile())
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", &protocol.Error{Code: protocol.CodeUnavailable,
				Message: "no Redis address: cbd has not written " + s.dirs.AddrFile() + " (is cbd running? or set CB_REDIS_URL)"}
		}
		return "", fmt.Errorf("read redis address: %w", err)
	}
	return strings.TrimSpace(string(data)), nil
}

// FailMode returns "open" or "closed" for a hook type (protocol.FailMode).
func (s *Settings) FailMode(hookType string) string {
	return protocol.FailMode(hookType, s.String)
}
