package hookcli

import "github.com/spf13/cobra"

// Placeholder until install.go lands; replace this file.
func (a *app) installCmd() *cobra.Command   { return &cobra.Command{Use: "install", Hidden: true} }
func (a *app) uninstallCmd() *cobra.Command { return &cobra.Command{Use: "uninstall", Hidden: true} }
