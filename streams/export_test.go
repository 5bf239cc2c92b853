package streams

// IgnoredProperties lists the properties app was given that have no effect,
// with what happens instead (for the external tests of this package).
func IgnoredProperties(app *App) []ignoredProperty { return app.cfg.IgnoredProperties }

// Restores returns the progress of app's store restores in flight.
func Restores(app *App) []restoreStatus { return app.restoreStatuses() }

// StandbyTasks returns the standby and warm-up tasks app holds.
func StandbyTasks(app *App) []standbyTaskInfo { return app.standbyTasks() }
