package hookcli

import "github.com/spf13/cobra"

// Placeholder until sessions.go lands; replace this file.
func (a *app) sessionsCmd() *cobra.Command { return &cobra.Command{Use: "sessions", Hidden: true} }
