// Package cli is cb-cli: every cb command but the lean `cb hook` path (the
// shell commands, cb mcp, install, service, doctor), built on cobra and the
// go-redis client of protocol/client. cb hands over to it with exec, so it
// names itself cb in usage and messages; its hook command runs
// hookcli.RunHook over go-redis for Redis URLs cb's own client does not
// serve (TLS, Sentinel).
package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"time"

	"github.com/claudebench/cb/hookcli"
	"github.com/claudebench/cb/protocol"
	"github.com/claudebench/cb/protocol/client"
	"github.com/spf13/cobra"
)

// app is the state one shell command shares: settings, streams, and the
// lazily opened connection to cbd.
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	settings       *hookcli.Settings
	client         *client.Client
	jsonOut        bool
	timeout        time.Duration
}

// exitError carries an exit status out of a command.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// Main runs cb-cli with args (without the program name) and returns its exit
// status. cb hands every command but `cb hook` over to it, so it calls
// itself cb in usage and messages.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) (code int) {
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(stderr, "cb: internal error: %v\n", r)
			code = 1
		}
	}()

	a := &app{stdin: stdin, stdout: stdout, stderr: stderr}
	root := a.rootCmd()
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	err := root.ExecuteContext(ctx)
	if a.client != nil {
		_ = a.client.Redis().Close()
	}
	if err == nil {
		return 0
	}
	fmt.Fprintf(stderr, "cb: %v\n", err)
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	var pe *protocol.Error
	if errors.As(err, &pe) {
		return pe.Code.Info().Exit
	}
	return 1
}

func (a *app) rootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "cb",
		Short:         "ClaudeBench: Claude Code hooks, a shared task queue and a live record of your agents",
		Version:       protocol.Version, // cb --version, like cbd --version
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			s, err := hookcli.LoadSettings(parseYAML)
			a.settings = s
			return err
		},
	}
	root.PersistentFlags().BoolVar(&a.jsonOut, "json", false, "print machine-readable JSON")
	root.PersistentFlags().DurationVar(&a.timeout, "timeout", 10*time.Second, "how long to wait for cbd")
	root.AddCommand(&cobra.Command{
		// cb runs `cb hook` itself; it hands over to this command only for
		// Redis URLs its lean client does not serve (TLS, Sentinel).
		Use:   "hook <type>",
		Short: "Claude Code hook bridge (reads hook JSON on stdin)",
		Long:  hookcli.HookUsage,
		Args:  cobra.ExactArgs(1),
		// The hook reads the settings itself and applies its fail mode to
		// their errors too.
		PersistentPreRunE: func(*cobra.Command, []string) error { return nil },
		RunE: func(cmd *cobra.Command, args []string) error {
			if code := hookcli.RunHook(args[0], a.stdin, a.stdout, a.stderr, hookTransport{}); code != 0 {
				return &exitError{code: code, err: errors.New("hook failed")}
			}
			return nil
		},
	})
	root.AddCommand(a.versionCmd(), a.callCmd(), a.taskCmd(), a.statusCmd())
	root.AddCommand(a.commands()...)
	return root
}

// connect opens the connection to Redis on first use.
func (a *app) connect() (*client.Client, error) {
	if a.client != nil {
		return a.client, nil
	}
	url, err := a.settings.RedisURL()
	if err != nil {
		return nil, err
	}
	rdb, err := dialRedis(url, 8)
	if err != nil {
		return nil, err
	}
	a.client = client.New(rdb, cliSource)
	return a.client, nil
}

// call sends one request to cbd and waits for the answer. A request
// refused for being over a rate limit is sent again after the wait cbd
// names, within --timeout.
func (a *app) call(ctx context.Context, method string, params any) (json.RawMessage, error) {
	c, err := a.connect()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, a.timeout)
	defer cancel()
	return retryRateLimited(ctx, method, func(ctx context.Context) (json.RawMessage, error) {
		return c.Call(ctx, method, params, client.Options{})
	})
}

func (a *app) versionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print cb's version and, when reachable, cbd's",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			out := map[string]any{"cb": protocol.Version}
			ctx, cancel := context.WithTimeout(cmd.Context(), 2*time.Second)
			defer cancel()
			if res, err := a.call(ctx, "system.version", nil); err == nil {
				var v struct {
					Version string `json:"version"`
				}
				if json.Unmarshal(res, &v) == nil {
					out["cbd"] = v.Version
				}
			}
			if a.jsonOut {
				return writeJSON(a.stdout, out)
			}
			fmt.Fprintf(a.stdout, "cb %s\n", protocol.Version)
			if v, ok := out["cbd"]; ok {
				fmt.Fprintf(a.stdout, "cbd %s\n", v)
			} else {
				fmt.Fprintln(a.stdout, "cbd not reachable")
			}
			return nil
		},
	}
}

func (a *app) callCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "call METHOD [PARAMS_JSON|-]",
		Short: "Call any method and print its result",
		Args:  cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			params := json.RawMessage("{}")
			if len(args) == 2 {
				raw := []byte(args[1])
				if args[1] == "-" {
					var err error
					if raw, err = io.ReadAll(a.stdin); err != nil {
						return fmt.Errorf("read params: %w", err)
					}
				}
				if !json.Valid(raw) {
					return &protocol.Error{Code: protocol.CodeParseError, Message: "params are not valid JSON"}
				}
				params = raw
			}
			res, err := a.call(cmd.Context(), args[0], params)
			if err != nil {
				return err
			}
			return writeJSON(a.stdout, res)
		},
	}
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
