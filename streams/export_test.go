package streams

// IgnoredProperties lists the properties app was given that have no effect,
// with what happens instead (for the external tests of this package).
func IgnoredProperties(app *App) []ignoredProperty { return app.cfg.IgnoredProperties }
