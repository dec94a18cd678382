package hookcli

import "github.com/spf13/cobra"

// Placeholder until audit.go lands; replace this file.
func (a *app) auditCmd() *cobra.Command { return &cobra.Command{Use: "audit", Hidden: true} }
