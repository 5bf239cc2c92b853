package streams

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"
)

// Window is a span of event time in ms since the Unix epoch. For time
// windows (tumbling and hopping) it is [Start, End): End is exclusive, as
// in Kafka Streams' TimeWindow. For sliding windows and sessions both
// bounds are inclusive, as in Kafka Streams' SlidingWindows and
// SessionWindow.
type Window struct {
	Start int64
	End   int64
}

// String prints the window as Kafka Streams does: "[start,end)".
func (w Window) String() string {
	return "[" + strconv.FormatInt(w.Start, 10) + "," + strconv.FormatInt(w.End, 10) + ")"
}

// Windowed is a record key with the window it belongs to: the key of the
// results of windowed aggregations (Kafka Streams' Windowed<K>).
type Windowed[K any] struct {
	Key    K
	Window Window
}

// String prints the windowed key as Kafka Streams does: "[key@start/end]".
func (w Windowed[K]) String() string {
	return fmt.Sprintf("[%v@%d/%d]", w.Key, w.Window.Start, w.Window.End)
}

func durationMs(d time.Duration) int64 { return d.Milliseconds() }

// ---- time windows ----

// TimeWindows are fixed-size windows: tumbling (advance == size, the
// default) or hopping (advance < size, so windows overlap and a record
// belongs to size/advance of them). Windows are aligned to the epoch: a
// window starts at every multiple of the advance, as in Kafka Streams'
// TimeWindows. Build them with TimeWindowsOfSizeWithNoGrace or
// TimeWindowsOfSizeAndGrace; a bad argument is reported when the topology
// is built.
type TimeWindows struct {
	size, advance, grace int64
	err                  error
}

// TimeWindowsOfSizeWithNoGrace returns tumbling windows of the given size
// that accept no record after they end (grace 0).
func TimeWindowsOfSizeWithNoGrace(size time.Duration) TimeWindows {
	return TimeWindowsOfSizeAndGrace(size, 0)
}

// TimeWindowsOfSizeAndGrace returns tumbling windows of the given size that
// still accept out-of-order records for grace after they end (measured in
// stream time); later records are dropped and counted as dropped records.
func TimeWindowsOfSizeAndGrace(size, grace time.Duration) TimeWindows {
	w := TimeWindows{size: durationMs(size), advance: durationMs(size), grace: durationMs(grace)}
	switch {
	case w.size <= 0:
		w.err = fmt.Errorf("streams: time windows: size %v must be at least 1ms", size)
	case w.grace < 0:
		w.err = fmt.Errorf("streams: time windows: grace period %v must not be negative", grace)
	}
	return w
}

// AdvanceBy makes the windows hopping: a new window starts every advance,
// which must be in (0, size].
func (w TimeWindows) AdvanceBy(advance time.Duration) TimeWindows {
	a := durationMs(advance)
	if w.err == nil && (a <= 0 || a > w.size) {
		w.err = fmt.Errorf("streams: time windows: advance %v must be at least 1ms and at most the window size %dms", advance, w.size)
	}
	w.advance = a
	return w
}

// Size returns the window size.
func (w TimeWindows) Size() time.Duration { return time.Duration(w.size) * time.Millisecond }

// Advance returns the advance (equal to the size for tumbling windows).
func (w TimeWindows) Advance() time.Duration { return time.Duration(w.advance) * time.Millisecond }

// GracePeriod returns the grace period.
func (w TimeWindows) GracePeriod() time.Duration { return time.Duration(w.grace) * time.Millisecond }

// WindowsFor returns the windows a record with timestamp ts (ms) belongs
// to, in start order: every window [start, start+size) with start a
// multiple of the advance, start >= 0 and start <= ts < start+size.
func (w TimeWindows) WindowsFor(ts int64) []Window {
	return w.appendWindowsFor(nil, ts)
}

func (w TimeWindows) appendWindowsFor(dst []Window, ts int64) []Window {
	if w.err != nil || ts < 0 {
		return dst
	}
	start := max(0, ts-w.size+w.advance) / w.advance * w.advance
	for ; start <= ts; start += w.advance {
		end := start + w.size
		if end < start { // overflow: the window reaches the end of time
			end = math.MaxInt64
		}
		dst = append(dst, Window{Start: start, End: end})
	}
	return dst
}

// ---- sliding windows ----

// SlidingWindows are windows of a fixed size that slide with the records
// (Kafka's KIP-450): two records fall into a common window when their
// timestamps differ by at most the time difference. A window exists for
// each distinct combination of records, both bounds inclusive: each record
// at t creates its left window [t-d, t] and, when later records are within
// d, its right window [t+1, t+1+d]. Build them with
// SlidingWindowsOfTimeDifferenceWithNoGrace or
// SlidingWindowsOfTimeDifferenceAndGrace.
type SlidingWindows struct {
	diff, grace int64
	err         error
}

// SlidingWindowsOfTimeDifferenceWithNoGrace returns sliding windows of the
// given time difference with no grace period.
func SlidingWindowsOfTimeDifferenceWithNoGrace(timeDifference time.Duration) SlidingWindows {
	return SlidingWindowsOfTimeDifferenceAndGrace(timeDifference, 0)
}

// SlidingWindowsOfTimeDifferenceAndGrace returns sliding windows of the
// given time difference that accept out-of-order records for grace after a
// window ends.
func SlidingWindowsOfTimeDifferenceAndGrace(timeDifference, grace time.Duration) SlidingWindows {
	w := SlidingWindows{diff: durationMs(timeDifference), grace: durationMs(grace)}
	switch {
	case w.diff < 0:
		w.err = fmt.Errorf("streams: sliding windows: time difference %v must not be negative", timeDifference)
	case w.grace < 0:
		w.err = fmt.Errorf("streams: sliding windows: grace period %v must not be negative", grace)
	}
	return w
}

// TimeDifference returns the largest difference between the timestamps of
// two records of one window.
func (w SlidingWindows) TimeDifference() time.Duration {
	return time.Duration(w.diff) * time.Millisecond
}

// GracePeriod returns the grace period.
func (w SlidingWindows) GracePeriod() time.Duration { return time.Duration(w.grace) * time.Millisecond }

// ---- session windows ----

// SessionWindows group the records of a key into sessions: a session ends
// when no record arrives for the inactivity gap, and a record that falls
// between two sessions merges them. Build them with
// SessionWindowsOfInactivityGapWithNoGrace or
// SessionWindowsOfInactivityGapAndGrace.
type SessionWindows struct {
	gap, grace int64
	err        error
}

// closeDelay is how long after a session's end stream time must be for the session to be
// closed: it stays open for records until stream time passes its end plus the gap (a
// record may still extend it) plus grace, so a final result may be emitted once its end is
// at or before stream time minus all of that minus 1 (Kafka Streams'
// EmitStrategy.onWindowClose).
func (w SessionWindows) closeDelay() int64 { return w.gap + w.grace + 1 }

// SessionWindowsOfInactivityGapWithNoGrace returns session windows with the
// given inactivity gap and no grace period.
func SessionWindowsOfInactivityGapWithNoGrace(gap time.Duration) SessionWindows {
	return SessionWindowsOfInactivityGapAndGrace(gap, 0)
}

// SessionWindowsOfInactivityGapAndGrace returns session windows with the
// given inactivity gap that accept out-of-order records for grace after a
// session ends.
func SessionWindowsOfInactivityGapAndGrace(gap, grace time.Duration) SessionWindows {
	w := SessionWindows{gap: durationMs(gap), grace: durationMs(grace)}
	switch {
	case w.gap <= 0:
		w.err = fmt.Errorf("streams: session windows: inactivity gap %v must be at least 1ms", gap)
	case w.grace < 0:
		w.err = fmt.Errorf("streams: session windows: grace period %v must not be negative", grace)
	}
	return w
}

// InactivityGap returns the inactivity gap.
func (w SessionWindows) InactivityGap() time.Duration { return time.Duration(w.gap) * time.Millisecond }

// GracePeriod returns the grace period.
func (w SessionWindows) GracePeriod() time.Duration { return time.Duration(w.grace) * time.Millisecond }

// ---- join windows ----

// JoinWindows say which records of two streams join: a left record at t
// joins the right records with timestamps in [t-before, t+after]. Build
// them with JoinWindowsOfTimeDifferenceWithNoGrace or
// JoinWindowsOfTimeDifferenceAndGrace (before = after = the difference),
// then narrow one side with Before or After.
type JoinWindows struct {
	before, after, grace int64
	err                  error
}

// JoinWindowsOfTimeDifferenceWithNoGrace returns join windows of
// [t-d, t+d] with no grace period.
func JoinWindowsOfTimeDifferenceWithNoGrace(timeDifference time.Duration) JoinWindows {
	return JoinWindowsOfTimeDifferenceAndGrace(timeDifference, 0)
}

// JoinWindowsOfTimeDifferenceAndGrace returns join windows of [t-d, t+d]
// that accept out-of-order records for grace. Left and outer joins emit the
// result of an unmatched record only once its window has closed (stream
// time passed t+after+grace), as Kafka Streams does since KIP-633.
func JoinWindowsOfTimeDifferenceAndGrace(timeDifference, grace time.Duration) JoinWindows {
	d := durationMs(timeDifference)
	w := JoinWindows{before: d, after: d, grace: durationMs(grace)}
	w.err = w.check()
	return w
}

func (w JoinWindows) check() error {
	switch {
	case w.before+w.after < 0:
		return fmt.Errorf("streams: join windows: the window size (before %dms + after %dms) must not be negative", w.before, w.after)
	case w.grace < 0:
		return fmt.Errorf("streams: join windows: grace period %dms must not be negative", w.grace)
	}
	return nil
}

// Before sets how far before a left record's timestamp right records join
// (it may be negative as long as before+after is not).
func (w JoinWindows) Before(d time.Duration) JoinWindows {
	w.before = durationMs(d)
	if w.err == nil {
		w.err = w.check()
	}
	return w
}

// After sets how far after a left record's timestamp right records join.
func (w JoinWindows) After(d time.Duration) JoinWindows {
	w.after = durationMs(d)
	if w.err == nil {
		w.err = w.check()
	}
	return w
}

// BeforeMs, AfterMs and GraceMs return the window bounds in ms.
func (w JoinWindows) BeforeMs() int64 { return w.before }

// AfterMs returns how far after a left record right records join, in ms.
func (w JoinWindows) AfterMs() int64 { return w.after }

// GraceMs returns the grace period in ms.
func (w JoinWindows) GraceMs() int64 { return w.grace }

// ---- Materialized retention ----

// WithRetention sets how long the window or session store of a windowed
// aggregation keeps windows. It must be at least the window size plus the
// grace period (for sliding windows, twice the time difference plus grace;
// for sessions, the inactivity gap plus grace), which is also the default.
// It does not apply to key-value stores.
func (m Materialized[K, V]) WithRetention(d time.Duration) Materialized[K, V] {
	m.retention = d
	return m
}

// ---- windowed serdes ----

// TimeWindowedSerde returns Kafka's time-windowed key serde: the inner
// key's bytes followed by the window start as 8 bytes big-endian (Kafka's
// TimeWindowedSerializer). The bytes hold no end: Deserialize computes it
// as start + windowSize, so give the size of the windows the topic holds
// (for sliding windows, the time difference).
func TimeWindowedSerde[K any](inner Serde[K], windowSize time.Duration) Serde[Windowed[K]] {
	return timeWindowedSerde[K]{inner: serdeOr(inner), size: durationMs(windowSize)}
}

type timeWindowedSerde[K any] struct {
	inner Serde[K]
	size  int64
}

// windowedKeySerde is a serde of windowed keys whose bytes are the inner key's followed by
// windowSuffix bytes of window times: a sink partitions such keys by the inner key alone,
// as Kafka Streams' WindowedStreamPartitioner, so that every window of a key lands on the
// key's partition.
type windowedKeySerde interface{ windowSuffix() int }

func (timeWindowedSerde[K]) windowSuffix() int { return 8 } // start

func (s timeWindowedSerde[K]) Serialize(w Windowed[K]) ([]byte, error) {
	kb, err := s.inner.Serialize(w.Key)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, len(kb)+8)
	out = append(out, kb...)
	return binary.BigEndian.AppendUint64(out, uint64(w.Window.Start)), nil
}

func (s timeWindowedSerde[K]) Deserialize(b []byte) (Windowed[K], error) {
	if len(b) < 8 {
		return Windowed[K]{}, &SerdeError{Serde: "TimeWindowedSerde", Len: len(b), Err: errors.New("shorter than its 8-byte window start")}
	}
	n := len(b) - 8
	start := int64(binary.BigEndian.Uint64(b[n:]))
	if start < 0 {
		return Windowed[K]{}, &SerdeError{Serde: "TimeWindowedSerde", Len: len(b), Err: fmt.Errorf("negative window start %d", start)}
	}
	k, err := s.inner.Deserialize(b[:n:n])
	if err != nil {
		return Windowed[K]{}, err
	}
	end := start + s.size
	if end < start || s.size <= 0 {
		end = math.MaxInt64 // as Kafka's TimeWindowedDeserializer without a window size
	}
	return Windowed[K]{Key: k, Window: Window{Start: start, End: end}}, nil
}

func (s timeWindowedSerde[K]) String() string { return "TimeWindowed(" + serdeName(s.inner) + ")" }

// SessionWindowedSerde returns Kafka's session-windowed key serde: the inner
// key's bytes, then the session end and the session start, each 8 bytes
// big-endian (Kafka's SessionKeySchema).
func SessionWindowedSerde[K any](inner Serde[K]) Serde[Windowed[K]] {
	return sessionWindowedSerde[K]{inner: serdeOr(inner)}
}

type sessionWindowedSerde[K any] struct{ inner Serde[K] }

func (sessionWindowedSerde[K]) windowSuffix() int { return 16 } // end, start

func (s sessionWindowedSerde[K]) Serialize(w Windowed[K]) ([]byte, error) {
	kb, err := s.inner.Serialize(w.Key)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, len(kb)+16)
	out = append(out, kb...)
	out = binary.BigEndian.AppendUint64(out, uint64(w.Window.End))
	return binary.BigEndian.AppendUint64(out, uint64(w.Window.Start)), nil
}

func (s sessionWindowedSerde[K]) Deserialize(b []byte) (Windowed[K], error) {
	if len(b) < 16 {
		return Windowed[K]{}, &SerdeError{Serde: "SessionWindowedSerde", Len: len(b), Err: errors.New("shorter than its 16-byte session end and start")}
	}
	n := len(b) - 16
	end := int64(binary.BigEndian.Uint64(b[n:]))
	start := int64(binary.BigEndian.Uint64(b[n+8:]))
	if start < 0 || end < start {
		return Windowed[K]{}, &SerdeError{Serde: "SessionWindowedSerde", Len: len(b), Err: fmt.Errorf("bad session [%d, %d]", start, end)}
	}
	k, err := s.inner.Deserialize(b[:n:n])
	if err != nil {
		return Windowed[K]{}, err
	}
	return Windowed[K]{Key: k, Window: Window{Start: start, End: end}}, nil
}

func (s sessionWindowedSerde[K]) String() string {
	return "SessionWindowed(" + serdeName(s.inner) + ")"
}
