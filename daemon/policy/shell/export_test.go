package shell

// RecoverPanics lets the fuzz tests switch off turning panics into the
// textual fallback, so that such bugs surface.
var RecoverPanics = &recoverPanics
