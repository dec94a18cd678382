package hookcli

import "github.com/spf13/cobra"

// Placeholder until work.go lands; replace this file.
func (a *app) workCmd() *cobra.Command { return &cobra.Command{Use: "work", Hidden: true} }
