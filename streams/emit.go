package streams

// EmitStrategy says when a windowed aggregation sends its results
// downstream (Kafka Streams' EmitStrategy, KIP-825).
type EmitStrategy uint8

const (
	// EmitOnWindowUpdate sends every update of a window (folded by the
	// record cache until the next commit), the default.
	EmitOnWindowUpdate EmitStrategy = iota
	// EmitOnWindowClose sends each window's final result once, when stream
	// time passes the window's end plus its grace period (for sessions, the
	// session's end plus the inactivity gap plus grace). Windows that are
	// replaced before they close (sessions merged into a later one) send
	// nothing. The aggregation's store is updated as usual and stays
	// queryable; only what flows downstream waits.
	EmitOnWindowClose
)

// EmitStrategy returns w with the given emit strategy for the aggregation
// that follows.
func (w *TimeWindowedStream[K, V]) EmitStrategy(e EmitStrategy) *TimeWindowedStream[K, V] {
	c := *w
	c.emit = e
	return &c
}

// EmitStrategy returns s with the given emit strategy for the aggregation
// that follows.
func (s *SessionWindowedStream[K, V]) EmitStrategy(e EmitStrategy) *SessionWindowedStream[K, V] {
	c := *s
	c.emit = e
	return &c
}

// withEmit applies e to the table a windowed aggregation made: on window
// close, its updates go through a suppression until the window closes (an
// unbounded buffer backed by a changelog, so held results survive restarts
// and move with the task).
func withEmit[K, VA any](t *Table[Windowed[K], VA], e EmitStrategy) *Table[Windowed[K], VA] {
	if e != EmitOnWindowClose {
		return t
	}
	out := t.Suppress(UntilWindowCloses(Unbounded()))
	// Interactive queries read the aggregation's store; table lookups (joins)
	// are refused, as for any suppressed table.
	out.store = t.store
	return out
}

// String names the strategy as Kafka Streams' EmitStrategy does.
func (e EmitStrategy) String() string {
	switch e {
	case EmitOnWindowUpdate:
		return "ON_WINDOW_UPDATE"
	case EmitOnWindowClose:
		return "ON_WINDOW_CLOSE"
	default:
		return "EmitStrategy(?)"
	}
}
