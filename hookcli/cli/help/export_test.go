package help

// Exported for help_test.
var (
	FormatConfigDefault = formatConfigDefault
	WrapHelpText        = wrapHelpText
)
