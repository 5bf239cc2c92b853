package streams

import (
	"time"

	"github.com/rivulet-io/rivulet/topology"
)

// TaskID names a task: a sub-topology and a partition ("0_3").
type TaskID = topology.TaskID

// Processor is a custom processing step (Kafka Streams' Processor API). A
// new Processor is made for every task by its supplier, so it may keep
// per-task state in fields. All calls for one task happen on one goroutine.
type Processor[KIn, VIn, KOut, VOut any] interface {
	// Init is called once before the first record, with the context to
	// forward records, schedule punctuations and reach stores through.
	Init(ctx ProcessorContext[KOut, VOut]) error
	// Process handles one record. Returning an error fails the task and goes
	// to the uncaught-error handler.
	Process(rec Record[KIn, VIn]) error
	// Close is called once when the task closes.
	Close() error
}

// ProcessorSupplier makes a new Processor for each task.
type ProcessorSupplier[KIn, VIn, KOut, VOut any] func() Processor[KIn, VIn, KOut, VOut]

// PunctuationType says which clock drives a punctuation.
type PunctuationType uint8

const (
	// StreamTime punctuations fire as the task's stream time (the largest
	// record timestamp it has processed) advances. They do not fire while no
	// records arrive.
	StreamTime PunctuationType = iota + 1
	// WallClockTime punctuations fire on the system clock, checked between
	// records.
	WallClockTime
)

// String names the punctuation type as Kafka Streams does.
func (p PunctuationType) String() string {
	switch p {
	case StreamTime:
		return "STREAM_TIME"
	case WallClockTime:
		return "WALL_CLOCK_TIME"
	default:
		return "PunctuationType(?)"
	}
}

// Punctuator is called by a scheduled punctuation with the time (stream or
// wall clock, in ms) at which it fires.
type Punctuator func(timestamp int64) error

// Cancellable cancels a scheduled punctuation.
type Cancellable interface {
	Cancel()
}

// ProcessorContext is a processor's view of its task.
type ProcessorContext[KOut, VOut any] interface {
	// Forward sends rec to the processor's children, or only to the named
	// ones. Forwarding to a name that is not a child is an error.
	Forward(rec Record[KOut, VOut], children ...string) error
	// Schedule calls fn every interval on the given clock, until cancelled
	// or the task closes. Stream-time punctuations are aligned to multiples
	// of interval from 0 and fire once per advance even when stream time
	// jumps several intervals; wall-clock ones first fire interval from now.
	Schedule(interval time.Duration, typ PunctuationType, fn Punctuator) (Cancellable, error)
	// StateStore returns a store connected to this processor (or a global
	// store) by name. Use GetKeyValueStore for typed access.
	StateStore(name string) (StateStore, error)
	// RecordMetadata returns where the current record came from; false
	// inside a punctuation.
	RecordMetadata() (RecordMetadata, bool)
	// TaskID is the task this processor runs in.
	TaskID() TaskID
	// ApplicationID is the application's application.id.
	ApplicationID() string
	// StreamTime is the task's stream time in ms, or -1 before the first
	// record.
	StreamTime() int64
	// WallClockTime is the task's current system time in ms (a controlled
	// clock under streamstest).
	WallClockTime() int64
	// Commit asks for a commit as soon as possible.
	Commit()
}

// ProcessorFunc adapts a function to a stateless Processor, for simple
// custom steps: fn is called for every record with the context to forward
// through.
func ProcessorFunc[KIn, VIn, KOut, VOut any](fn func(ctx ProcessorContext[KOut, VOut], rec Record[KIn, VIn]) error) ProcessorSupplier[KIn, VIn, KOut, VOut] {
	return func() Processor[KIn, VIn, KOut, VOut] {
		return &funcProcessor[KIn, VIn, KOut, VOut]{fn: fn}
	}
}

type funcProcessor[KIn, VIn, KOut, VOut any] struct {
	ctx ProcessorContext[KOut, VOut]
	fn  func(ProcessorContext[KOut, VOut], Record[KIn, VIn]) error
}

func (p *funcProcessor[KIn, VIn, KOut, VOut]) Init(ctx ProcessorContext[KOut, VOut]) error {
	p.ctx = ctx
	return nil
}

func (p *funcProcessor[KIn, VIn, KOut, VOut]) Process(r Record[KIn, VIn]) error {
	return p.fn(p.ctx, r)
}

func (p *funcProcessor[KIn, VIn, KOut, VOut]) Close() error { return nil }
