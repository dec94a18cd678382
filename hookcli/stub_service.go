package hookcli

import "github.com/spf13/cobra"

// Placeholder until service.go lands; replace this file.
func (a *app) serviceCmd() *cobra.Command { return &cobra.Command{Use: "service", Hidden: true} }
