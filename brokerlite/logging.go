package brokerlite

import "log/slog"

// componentLogger is the logger of one of the broker's parts: the logger
// given to Start with component=name, once (b.logger already carries
// component=brokerlite, and a second component key would repeat it).
func (b *Broker) componentLogger(name string) *slog.Logger {
	if b.root == nil {
		return b.logger
	}
	return b.root.With("component", name)
}
