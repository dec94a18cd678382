package hookcli

import "github.com/spf13/cobra"

// Placeholder until doctor.go lands; replace this file.
func (a *app) doctorCmd() *cobra.Command { return &cobra.Command{Use: "doctor", Hidden: true} }
