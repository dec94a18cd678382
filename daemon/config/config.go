// Package config loads cbd's configuration with viper from the key table in
// protocol.ConfigKeys: defaults, then the config file
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

// Config is cbd's resolved configuration.
type Config struct {
	v    *viper.Viper
	Dirs protocol.Dirs
	// File is the config file that was read ("" if none).
	File string
}

// AddFlags declares a flag for every config key on fs.
func AddFlags(fs *pflag.FlagSet) {
	for _, k := range protocol.ConfigKeys {
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
	for _, k := range protocol.ConfigKeys {
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
	return c, c.check()
}

func isNotExist(path string) bool {
	_, err := os.Stat(path)
	return errors.Is(err, os.ErrNotExist)
}

// check rejects malformed durations at load instead of at use.
func (c *Config) check() error {
	for _, k := range protocol.ConfigKeys {
		if _, ok := k.Default.(time.Duration); ok {
			if _, err := cast.ToDurationE(c.v.Get(k.Name)); err != nil {
				return fmt.Errorf("config %s: %q is not a duration like 10s", k.Name, c.v.GetString(k.Name))
			}
		}
	}
	return nil
}

// String returns a string key.
func (c *Config) String(key string) string { return c.v.GetString(key) }

// Int returns an integer key.
func (c *Config) Int(key string) int { return c.v.GetInt(key) }

// Bool returns a boolean key.
func (c *Config) Bool(key string) bool { return c.v.GetBool(key) }

// Strings returns a list key.
func (c *Config) Strings(key string) []string { return c.v.GetStringSlice(key) }

// Duration returns a duration key (validated at load).
func (c *Config) Duration(key string) time.Duration { return c.v.GetDuration(key) }

// Get returns a key's raw value (for structured keys such as hook.rules).
func (c *Config) Get(key string) any { return c.v.Get(key) }

// Override returns a per-method key (not in the key table) from the config
// file or its environment variable, and whether it is set.
func (c *Config) Override(key string) (any, bool) {
	_ = c.v.BindEnv(key, protocol.EnvName(key))
	if !c.v.IsSet(key) {
		return nil, false
	}
	return c.v.Get(key), true
}
