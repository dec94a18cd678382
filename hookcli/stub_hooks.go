package hookcli

import "github.com/spf13/cobra"

// Placeholder until hooks.go lands; replace this file.
func (a *app) hooksCmd() *cobra.Command { return &cobra.Command{Use: "hooks", Hidden: true} }
