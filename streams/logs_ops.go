package streams

import (
	"strconv"
	"time"
)

// Log lines an operator can act on: a dropped record names its topic,
// partition and offset (when a record is being processed) and its times
// are written as UTC dates, not epoch milliseconds.

// readableMs formats epoch milliseconds as a UTC date with milliseconds;
// negative values (no time) stay numbers.
func readableMs(ms int64) string {
	if ms < 0 {
		return strconv.FormatInt(ms, 10)
	}
	return time.UnixMilli(ms).UTC().Format("2006-01-02T15:04:05.000Z")
}

// recordAttrs are the log attributes of the record the task processes
// now: task, topic, partition, offset, timestamp and stream time.
func recordAttrs(t *streamTask) []any {
	attrs := []any{"task", t.id.String()}
	if meta, ok := t.recordMetadata(); ok {
		attrs = append(attrs, "topic", meta.Topic, "partition", meta.Partition, "offset", meta.Offset,
			"timestamp", readableMs(t.currentTS))
	}
	return append(attrs, "stream_time", readableMs(t.streamTime))
}

// logDropped logs a record dropped for reason, with the record's place.
func logDropped(t *streamTask, reason string, extra ...any) {
	t.cfg.Logger.Warn("streams: dropping record: "+reason, append(recordAttrs(t), extra...)...)
}

// announceState logs a state change and tells the state listener, for
// setState and the changes made outside it (CREATED to REBALANCING in
// Start).
func (a *App) announceState(old, s State) {
	a.mu.Lock()
	l := a.listener
	a.mu.Unlock()
	a.cfg.Logger.Info("streams: state change", "application.id", a.cfg.ApplicationID, "from", old.String(), "to", s.String())
	if l != nil {
		l(old, s)
	}
}
