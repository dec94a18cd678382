// Package cmdutil is what every cb-cli command is built from: the Factory
// handing out I/O streams, settings and the connection to cbd; the Caller
// commands send requests through; exit and usage errors; and the output
// conventions (JSON, --jq, tables) shared by all commands.
package cmdutil

import (
	"sync"
	"time"

	"github.com/claudebench/cb/hookcli/bridge"
	"github.com/claudebench/cb/hookcli/cli/iostreams"
	"github.com/claudebench/cb/protocol/client"
)

// Factory hands a command what it needs, each opened on first use: tests
// build one with iostreams.Test and a fake Caller.
type Factory struct {
	IOStreams *iostreams.IOStreams
	// Settings reads cb's settings (config file and environment).
	Settings func() (*bridge.Settings, error)
	// Client is the go-redis connection to cbd's Redis, for commands that
	// read streams or lists themselves (events, sessions, claim --wait).
	Client func() (*client.Client, error)
	// Caller sends requests to cbd.
	Caller func() (Caller, error)
	// Flags are the flags every command takes (--json, --jq, --timeout).
	Flags *GlobalFlags
}

// GlobalFlags are the root command's persistent flags.
type GlobalFlags struct {
	JSON    bool
	JQ      string
	Timeout time.Duration
}

// JSONOut reports whether to print machine-readable JSON (--json or --jq).
func (g *GlobalFlags) JSONOut() bool { return g.JSON || g.JQ != "" }

// New is the Factory of the cb-cli process: settings from the config file
// and environment, one go-redis connection opened on first use. close
// releases the connection.
func New(ios *iostreams.IOStreams) (f *Factory, close func()) {
	flags := &GlobalFlags{Timeout: 10 * time.Second}
	settings := sync.OnceValues(func() (*bridge.Settings, error) { return bridge.LoadSettings(ParseYAML) })
	var mu sync.Mutex
	var c *client.Client
	clientFn := func() (*client.Client, error) {
		mu.Lock()
		defer mu.Unlock()
		if c != nil {
			return c, nil
		}
		s, err := settings()
		if err != nil {
			return nil, err
		}
		url, err := s.RedisURL()
		if err != nil {
			return nil, err
		}
		rdb, err := DialRedis(url, 8)
		if err != nil {
			return nil, err
		}
		c = client.New(rdb, CLISource)
		return c, nil
	}
	f = &Factory{
		IOStreams: ios,
		Settings:  settings,
		Client:    clientFn,
		Flags:     flags,
	}
	f.Caller = func() (Caller, error) {
		c, err := clientFn()
		if err != nil {
			return nil, err
		}
		return &RedisCaller{Client: c, Timeout: flags.Timeout}, nil
	}
	return f, func() {
		mu.Lock()
		defer mu.Unlock()
		if c != nil {
			_ = c.Redis().Close()
		}
	}
}
