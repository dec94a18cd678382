package cli

import "github.com/spf13/cobra"

// commands lists the command groups, one file each.
func (a *app) commands() []*cobra.Command {
	return append([]*cobra.Command{
		a.emitCmd(), a.eventsCmd(), a.sessionsCmd(), // emit.go, events.go, sessions.go
		a.installCmd(), a.uninstallCmd(), a.doctorCmd(), // install.go, service.go, doctor.go

	}, a.helpCmds()...) // help.go: help topics and completion
}
