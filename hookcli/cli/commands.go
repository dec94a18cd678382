package cli

import "github.com/spf13/cobra"

// commands lists the command groups still built on app.
func (a *app) commands() []*cobra.Command {
	return []*cobra.Command{
		a.installCmd(), a.uninstallCmd(), a.doctorCmd(), // install.go, doctor.go
	}
}
