package bridge

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

// Settings is cb's (and cb-cli's) view of the configuration: environment
// variables (protocol.EnvName) override the config file, which overrides the
// defaults of protocol.Config. It fills the same struct as cbd's loader
// (daemon/config, viper) from the same file; a malformed value keeps its
// default and is reported by Check for the commands that read it, so a bad
// key one command does not use never stops another.
type Settings struct {
	dirs protocol.Dirs
	file map[string]any
	cfg  protocol.Config
	errs map[string]error // malformed values, by key
}

// ConfigParser reads the config file's YAML into nested maps, as
// yaml.Unmarshal into map[string]any does.
type ConfigParser func(data []byte) (map[string]any, error)

// LoadSettings reads the config file, if there is one, with parse. cb-cli
// parses with go.yaml.in/yaml/v3; cb hook with readConfigLean, which does
// not link it (the keys it skipped keep their defaults; cb hook's own keys
// are never among them, see readConfigForHook).
func LoadSettings(parse ConfigParser) (*Settings, error) {
	s := &Settings{dirs: protocol.UserDirs()}
	path := os.Getenv("CB_CONFIG")
	if path == "" {
		path = s.dirs.ConfigFile()
	}
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		err = nil
	case err != nil:
		err = fmt.Errorf("read config %s: %w", path, err)
	default:
		if s.file, err = parse(data); err != nil {
			err = fmt.Errorf("parse config %s: %w", path, err)
		}
	}
	s.decode()
	return s, err
}

// Dirs returns the user directories.
func (s *Settings) Dirs() protocol.Dirs { return s.dirs }

// Config returns the configuration. A malformed value is at its default
// here; Check reports it.
func (s *Settings) Config() *protocol.Config { return &s.cfg }

// FailMode returns "open" or "closed" for a hook type
// (protocol.Config.FailMode).
func (s *Settings) FailMode(hookType string) string { return s.cfg.FailMode(hookType) }

// Check returns the error of the first of keys whose value is malformed,
// or of any key when none is given.
func (s *Settings) Check(keys ...string) error {
	if len(keys) == 0 {
		for f := range protocol.ConfigField(protocol.NumConfigFields) {
			keys = append(keys, f.Name())
		}
	}
	for _, k := range keys {
		if err := s.errs[k]; err != nil {
			return err
		}
	}
	return nil
}

// fromFile returns the value the config file gives key, if any.
func (s *Settings) fromFile(key string) (any, bool) {
	var cur any = s.file
	for rest, more := key, true; more; {
		var part string
		part, rest, more = strings.Cut(rest, ".")
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[part]; !ok {
			return nil, false
		}
	}
	if hasOpaque(cur) {
		return nil, false
	}
	return cur, cur != nil
}

// hasOpaque says whether v is or holds a value readConfigLean skipped.
func hasOpaque(v any) bool {
	switch v := v.(type) {
	case opaque:
		return true
	case map[string]any:
		for _, e := range v {
			if hasOpaque(e) {
				return true
			}
		}
	}
	return false
}

// decode fills the struct: defaults, then every key that is set.
func (s *Settings) decode() {
	s.cfg = protocol.DefaultConfig()
	env := cbEnv()
	// ConfigField, not ConfigKeys: no reflection on cb hook's start.
	for f := range protocol.ConfigField(protocol.NumConfigFields) {
		v, ok := envValue(env, f)
		if !ok {
			v, ok = s.fromFile(f.Name())
		}
		if !ok {
			continue
		}
		if err := setField(f.Field(&s.cfg), v); err != nil {
			if s.errs == nil {
				s.errs = map[string]error{}
			}
			s.errs[f.Name()] = fmt.Errorf("config %s: %w", f.Name(), err)
		}
	}
}

// cbEnv returns the environment's CB_ entries ("CB_X=v"), usually none or
// a few: matching those against the keys costs cb hook less than looking
// up every key's variable.
func cbEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "CB_") {
			out = append(out, kv)
		}
	}
	return out
}

// envValue returns the value env gives f's variable; the first entry wins,
// as with os.LookupEnv.
func envValue(env []string, f protocol.ConfigField) (any, bool) {
	for _, kv := range env {
		if name, v, ok := strings.Cut(kv, "="); ok && f.IsEnv(name) {
			return v, true
		}
	}
	return nil, false
}

// setField stores v, as YAML or the environment gives it, in the field p
// points to, converting as cbd's loader does where it can tell a malformed
// value (durations, integers and booleans are checked).
func setField(p any, v any) error {
	switch p := p.(type) {
	case *string:
		*p = fmt.Sprint(v)
	case *int:
		if n, ok := v.(int); ok {
			*p = n
			return nil
		}
		n, err := strconv.Atoi(fmt.Sprint(v))
		if err != nil {
			return fmt.Errorf("%q is not an integer", fmt.Sprint(v))
		}
		*p = n
	case *bool:
		if b, ok := v.(bool); ok {
			*p = b
			return nil
		}
		b, err := strconv.ParseBool(fmt.Sprint(v))
		if err != nil {
			return fmt.Errorf("%q is not true or false", fmt.Sprint(v))
		}
		*p = b
	case *time.Duration:
		d, err := time.ParseDuration(fmt.Sprint(v))
		if err != nil {
			return fmt.Errorf("%q is not a duration like 2s", fmt.Sprint(v))
		}
		*p = d
	case *[]string:
		switch l := v.(type) {
		case []any:
			out := make([]string, len(l))
			for i, e := range l {
				out[i] = fmt.Sprint(e)
			}
			*p = out
		default:
			// A single value (an environment variable) is a
			// space-separated list, as viper reads it.
			*p = strings.Fields(fmt.Sprint(v))
		}
	case *any:
		*p = v
	default:
		return fmt.Errorf("field type %T", p)
	}
	return nil
}

// RedisURL finds the Redis cbd serves: redis.url (env or file), else the
// address cbd wrote to the runtime dir.
func (s *Settings) RedisURL() (string, error) {
	if u := s.cfg.Redis.URL; u != "" {
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
