package daemon

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/claudebench/cb/daemon/config"
	"github.com/claudebench/cb/protocol"
	"github.com/spf13/cobra"
)

// Main runs cbd with args and returns its exit status.
func Main(args []string, stderr io.Writer) int {
	cmd := Command(stderr)
	cmd.SetArgs(args)
	if err := cmd.Execute(); err != nil {
		fmt.Fprintf(stderr, "cbd: %v\n", err)
		return 1
	}
	return 0
}

// Command is the cbd command line.
func Command(stderr io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:           "cbd",
		Short:         "ClaudeBench daemon: hook decisions, task queue and event record over Redis",
		Version:       protocol.Version,
		SilenceUsage:  true,
		SilenceErrors: true,
		Args:          cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := config.Load(cmd.Flags())
			if err != nil {
				return err
			}
			log := config.NewLogger(stderr, cfg.Log.Level, cfg.Log.Format)
			if cfg.File != "" {
				log.Info("config", "file", cfg.File)
			}
			return run(cmd.Context(), cfg, log)
		},
	}
	cmd.SetErr(stderr)
	config.AddFlags(cmd.Flags())
	return cmd
}

// run wires signals: the first SIGINT/SIGTERM starts a graceful shutdown,
// a second one exits at once.
func run(parent context.Context, cfg *config.Config, log *slog.Logger) error {
	if parent == nil {
		parent = context.Background()
	}
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigs)
	go func() {
		sig := <-sigs
		log.Info("signal received; stopping (send again to exit at once)", "signal", sig.String())
		cancel()
		sig = <-sigs
		log.Warn("second signal; exiting now", "signal", sig.String())
		os.Exit(1)
	}()
	d, err := New(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Run(ctx)
}
