package hookcli

import "github.com/spf13/cobra"

// Placeholder until emit.go lands; replace this file.
func (a *app) emitCmd() *cobra.Command { return &cobra.Command{Use: "emit", Hidden: true} }
