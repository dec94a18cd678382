package hookcli

import "github.com/spf13/cobra"

// Placeholder until events.go lands; replace this file.
func (a *app) eventsCmd() *cobra.Command { return &cobra.Command{Use: "events", Hidden: true} }
