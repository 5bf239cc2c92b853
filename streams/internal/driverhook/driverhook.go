// Package driverhook lets streamstest run the tasks of package streams.
//
// Tasks are not part of the streams API: applications run them through
// streams.App, unit tests through streamstest.Driver. Go lets a package
// reach another's unexported code only through a package both import, so
// streams sets New here when it is initialized and streamstest calls it.
// Values of streams' own types travel as any, because this package cannot
// name them (streams imports it); streamstest asserts them back.
package driverhook

import (
	"log/slog"
	"time"
)

// Config is what a test driver is built with.
type Config struct {
	// ApplicationID prefixes internal topics.
	ApplicationID string
	// StartTime is the initial wall-clock time, in ms.
	StartTime int64
	// CacheMaxBytes is the record cache budget; 0 disables caching.
	CacheMaxBytes int64
	// DeadLetterTopic receives undecodable records when set.
	DeadLetterTopic string
	// Logger receives dropped-record warnings. Required.
	Logger *slog.Logger
	// MaxTaskIdle is the tasks' max.task.idle.ms.
	MaxTaskIdle time.Duration
	// PartitionCount is the partition count custom partitioners see.
	PartitionCount int32
	// TimestampExtractor, DeserializationHandler and ProductionHandler
	// hold a streams.TimestampExtractor, streams.DeserializationHandler
	// and streams.ProductionHandler; nil, or a nil func, for the defaults.
	TimestampExtractor     any
	DeserializationHandler any
	ProductionHandler      any
}

// New returns a driver running topology, a *streams.Topology. The driver
// has the methods streamstest's Driver calls on it. Package streams sets
// New when it is initialized.
var New func(topology any, cfg Config) (any, error)

// Counters are what a driver's tasks counted.
type Counters struct {
	Processed               int64
	Punctuations            int64
	DroppedRecords          int64
	DeserializationErrors   int64
	SerializationErrors     int64
	DeadLetterRecords       int64
	EnforcedProcessingTotal int64
}
