// Package config loads cbd's configuration into protocol.Config with viper:
// defaults (the struct's tags), then the config file
// ($XDG_CONFIG_HOME/claudebench/config.yaml or CB_CONFIG), then CB_*
// environment variables, then flags.
package config

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/claudebench/cb/protocol"
	"github.com/spf13/cast"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"
)

// Config is cbd's resolved configuration: the typed keys, plus the
// per-method handler settings (HandlerOverride), which are looked up by
// method.
type Config struct {
	protocol.Config
	v    *viper.Viper
	Dirs protocol.Dirs
	// File is the config file that was read ("" if none).
	File string
}

// AddFlags declares a flag for every config key on fs.
func AddFlags(fs *pflag.FlagSet) {
	for _, k := range protocol.ConfigKeys() {
		switch d := k.Default.(type) {
		case bool:
			fs.Bool(k.Name, d, k.Doc)
		case int:
			fs.Int(k.Name, d, k.Doc)
		case []string:
			fs.StringSlice(k.Name, d, k.Doc)
		case string:
			fs.String(k.Name, d, k.Doc)
		case time.Duration:
			fs.Duration(k.Name, d, k.Doc)
		default:
			// Structured keys (rule lists) come from the config file only.
		}
	}
	fs.String("config", "", "config file (default $XDG_CONFIG_HOME/claudebench/config.yaml; env CB_CONFIG)")
}

// Load resolves the configuration. fs may be nil.
func Load(fs *pflag.FlagSet) (*Config, error) {
	v := viper.New()
	for _, k := range protocol.ConfigKeys() {
		v.SetDefault(k.Name, k.Default)
		if err := v.BindEnv(k.Name, protocol.EnvName(k.Name)); err != nil {
			return nil, fmt.Errorf("bind env for %s: %w", k.Name, err)
		}
	}
	c := &Config{v: v, Dirs: protocol.UserDirs()}
	path := os.Getenv("CB_CONFIG")
	if fs != nil {
		if f := fs.Lookup("config"); f != nil && f.Changed {
			path = f.Value.String()
		}
		fs.VisitAll(func(f *pflag.Flag) {
			if f.Name != "config" && f.Changed {
				_ = v.BindPFlag(f.Name, f)
			}
		})
	}
	explicit := path != ""
	if !explicit {
		path = c.Dirs.ConfigFile()
	}
	v.SetConfigFile(path)
	v.SetConfigType("yaml")
	if err := v.ReadInConfig(); err != nil {
		var nf viper.ConfigFileNotFoundError
		if explicit || !(errors.As(err, &nf) || errors.Is(err, os.ErrNotExist) || isNotExist(path)) {
			return nil, fmt.Errorf("read config %s: %w", path, err)
		}
	} else {
		c.File = path
	}
	if err := c.check(); err != nil {
		return nil, err
	}
	c.fill()
	return c, nil
}

func isNotExist(path string) bool {
	_, err := os.Stat(path)
	return errors.Is(err, os.ErrNotExist)
}

// check rejects malformed durations at load instead of at use.
func (c *Config) check() error {
	for _, k := range protocol.ConfigKeys() {
		if _, ok := k.Default.(time.Duration); ok {
			if _, err := cast.ToDurationE(c.v.Get(k.Name)); err != nil {
				return fmt.Errorf("config %s: %q is not a duration like 10s", k.Name, c.v.GetString(k.Name))
			}
		}
	}
	return nil
}

// fill copies every key from viper into the struct.
func (c *Config) fill() {
	for _, k := range protocol.ConfigKeys() {
		switch p := k.Field(&c.Config).(type) {
		case *string:
			*p = c.v.GetString(k.Name)
		case *int:
			*p = c.v.GetInt(k.Name)
		case *bool:
			*p = c.v.GetBool(k.Name)
		case *time.Duration:
			*p = c.v.GetDuration(k.Name)
		case *[]string:
			*p = c.v.GetStringSlice(k.Name)
		case *any:
			*p = c.v.Get(k.Name)
		default:
			panic(fmt.Sprintf("config: %s has field type %T", k.Name, p))
		}
	}
}

// HandlerOverride holds the per-method settings that are set:
// handlers.<method with _ for .>.{rate_limit,circuit_failures,timeout}.
type HandlerOverride struct {
	RateLimit       *int
	CircuitFailures *int
	Timeout         *time.Duration
}

// HandlerOverride returns method's settings from the config file or their
// environment variables (protocol.HandlerKey).
func (c *Config) HandlerOverride(method string) HandlerOverride {
	var o HandlerOverride
	if v, ok := c.override(protocol.HandlerKey(method, "rate_limit")); ok {
		n := cast.ToInt(v)
		o.RateLimit = &n
	}
	if v, ok := c.override(protocol.HandlerKey(method, "circuit_failures")); ok {
		n := cast.ToInt(v)
		o.CircuitFailures = &n
	}
	if v, ok := c.override(protocol.HandlerKey(method, "timeout")); ok {
		d := cast.ToDuration(v)
		o.Timeout = &d
	}
	return o
}

// override returns a per-method key (not a field of the struct) and whether
// it is set.
func (c *Config) override(key string) (any, bool) {
	_ = c.v.BindEnv(key, protocol.EnvName(key))
	if !c.v.IsSet(key) {
		return nil, false
	}
	return c.v.Get(key), true
}
