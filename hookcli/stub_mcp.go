package hookcli

import "github.com/spf13/cobra"

// Placeholder until mcp.go lands; replace this file.
func (a *app) mcpCmd() *cobra.Command { return &cobra.Command{Use: "mcp", Hidden: true} }
