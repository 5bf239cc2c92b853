package badgerstore

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/rivulet-io/rivulet/statestore"
)

// Options configure the Badger instance behind one store. Each store has its own
// instance (see the package doc), so these sizes are per store: an application's state
// memory is about PeakMemory() times the number of persistent stores its instance
// holds. OptionsForMemory derives them from one figure, OptionsForBudget from one store's
// share of a budget (the streams runtime divides rivulet.state.memory.max.bytes over the
// stores of an instance's assigned tasks with it). Besides the Go heap, the pages of a
// store's tables that Badger (which maps its files) touched lately count in the
// process's RSS: see KeepTablePages and Compression.
type Options struct {
	// MemTableSize is the size of each Badger memtable (the in-memory write buffer, and
	// the unit of its write-ahead log). The default value is 8 MiB.
	MemTableSize int64
	// NumMemtables is how many memtables may exist at once (one being written, the rest
	// waiting to be flushed to level 0). The default value is 2.
	NumMemtables int
	// BlockCacheSize bounds Badger's cache of table blocks (uncompressed, on the heap).
	// The default value is 12 MiB. Tables' indexes and bloom filters need no cache:
	// Badger reads them in place from the tables' memory maps (its index cache serves
	// only encrypted tables, and stores are not encrypted).
	BlockCacheSize int64
	// WriteBufferSize bounds the store's own buffer of writes not yet handed to Badger:
	// writes go there first (a hash insert, read back by Get and iterators) and reach
	// Badger in one write batch when it is full or on Flush. The default value is 4 MiB.
	WriteBufferSize int64
	// BaseTableSize is the size of every table (this package makes all levels use one
	// size); compactions hold a few tables' worth of buffers at once (WorkingMemory).
	// The default value is 1 MiB.
	BaseTableSize int64
	// ValueThreshold: values larger than this go to the value log instead of the LSM
	// tree. The default value is 64 KiB.
	ValueThreshold int64
	// ValueLogFileSize is the size of each value-log file. The default value is 64 MiB.
	ValueLogFileSize int64
	// NumCompactors is the number of compaction goroutines (Badger needs at least 2).
	// The default value is 2.
	NumCompactors int
	// Compression compresses table blocks on disk (see Compression). The default value
	// is CompressionNone.
	Compression Compression
	// ValueLogGCInterval is how often value-log garbage collection runs. The default
	// value is 5 minutes; a negative value disables it.
	ValueLogGCInterval time.Duration
	// ValueLogGCDiscardRatio is the fraction of stale data a value-log file must hold to
	// be rewritten. The default value is 0.5.
	ValueLogGCDiscardRatio float64
	// NoSyncOnFlush skips the fsync on Flush. Flush then no longer makes writes durable,
	// so checkpoints may claim more than a crash leaves; use only for tests and
	// benchmarks. The default value is false (Flush fsyncs).
	NoSyncOnFlush bool
	// KeepTablePages leaves the pages of the store's tables mapped once Badger has
	// written or read them, so they count in the process's RSS for as long as the
	// tables exist, as Badger leaves them. The default value is false: on Linux the
	// process drops them from its page tables every half second (they stay in the
	// kernel's page cache, and the next read maps a page again), so the RSS counts what
	// reads and compactions touched lately rather than every table (see Compression).
	// Elsewhere they are always kept.
	KeepTablePages bool
	// WipeUnclean wipes a store that was not closed cleanly (its dirty marker is present)
	// instead of letting Badger recover it, and reports it in Status. Kafka Streams does
	// this under exactly-once, where state written after the last commit must not
	// survive. The default value is false (at-least-once: keep what Badger recovers).
	WipeUnclean bool
	// Logger receives Badger's warnings and errors and the store's recovery messages.
	// The default value is slog.Default().
	Logger *slog.Logger
}

// Defaults of Options.
const (
	DefaultMemTableSize           = 8 << 20
	DefaultNumMemtables           = 2
	DefaultBlockCacheSize         = 12 << 20
	DefaultWriteBufferSize        = 4 << 20
	DefaultBaseTableSize          = 1 << 20
	DefaultValueThreshold         = 64 << 10
	DefaultValueLogFileSize       = 64 << 20
	DefaultNumCompactors          = 2
	DefaultValueLogGCInterval     = 5 * time.Minute
	DefaultValueLogGCDiscardRatio = 0.5
)

// EnsureDefaults fills in zero fields with their default values.
func (o *Options) EnsureDefaults() {
	defaultTo(&o.MemTableSize, DefaultMemTableSize)
	defaultTo(&o.NumMemtables, DefaultNumMemtables)
	defaultTo(&o.BlockCacheSize, DefaultBlockCacheSize)
	defaultTo(&o.WriteBufferSize, DefaultWriteBufferSize)
	defaultTo(&o.BaseTableSize, DefaultBaseTableSize)
	defaultTo(&o.ValueThreshold, DefaultValueThreshold)
	defaultTo(&o.ValueLogFileSize, DefaultValueLogFileSize)
	defaultTo(&o.NumCompactors, DefaultNumCompactors)
	defaultTo(&o.ValueLogGCInterval, DefaultValueLogGCInterval)
	defaultTo(&o.ValueLogGCDiscardRatio, DefaultValueLogGCDiscardRatio)
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}

// defaultTo sets *v to def when it is zero.
func defaultTo[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}

// Validate reports options Badger cannot work with, with statestore.ErrInvalidOptions.
func (o *Options) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: badgerstore: "+format, append([]any{statestore.ErrInvalidOptions}, args...)...)
	}
	switch {
	case o.MemTableSize < 1<<20:
		return bad("MemTableSize %d is below 1 MiB", o.MemTableSize)
	case o.NumMemtables < 1:
		return bad("NumMemtables %d is below 1", o.NumMemtables)
	case o.BlockCacheSize < 0:
		return bad("negative BlockCacheSize")
	case o.WriteBufferSize < 0:
		return bad("negative WriteBufferSize")
	case o.BaseTableSize < 64<<10:
		return bad("BaseTableSize %d is below 64 KiB", o.BaseTableSize)
	case o.ValueThreshold < 1 || o.ValueThreshold > 1<<20:
		return bad("ValueThreshold %d is outside [1, 1 MiB]", o.ValueThreshold)
	case o.ValueLogFileSize < 1<<20 || o.ValueLogFileSize >= 2<<30:
		return bad("ValueLogFileSize %d is outside [1 MiB, 2 GiB)", o.ValueLogFileSize)
	case o.NumCompactors < 2:
		return bad("NumCompactors %d is below 2", o.NumCompactors)
	case o.Compression > CompressionZSTD:
		return bad("unknown compression %d", o.Compression)
	case o.ValueLogGCDiscardRatio <= 0 || o.ValueLogGCDiscardRatio >= 1:
		return bad("ValueLogGCDiscardRatio %v is outside (0, 1)", o.ValueLogGCDiscardRatio)
	}
	return nil
}

// MemoryBound is the memory one store holds in its buffers and cache: memtables, block
// cache and the write buffer (a restore from scratch uses the memtables' share for its
// sorted runs instead). It does not count Badger's compaction, see PeakMemory.
func (o Options) MemoryBound() int64 {
	o.EnsureDefaults()
	return int64(o.NumMemtables)*o.MemTableSize + o.BlockCacheSize + o.WriteBufferSize
}

// WorkingMemory is the memory on top of MemoryBound that Badger and the store take while
// they work, as bounded by Badger's code: the memtable arenas' slack (0.3 × each memtable),
// flushing a memtable (a table builder whose buffer grows to about 4 × MemTableSize),
// compactions (each runs up to 8 + 6 table builders at once, each with a buffer of
// 2 × BaseTableSize, or 4 × BaseTableSize with compression: a builder keeps a block's
// uncompressed bytes beside the compressed ones, and BaseTableSize counts compressed
// bytes) and the write buffer's own overhead and its copy in flight to Badger
// (2 × WriteBufferSize). No Badger option caps the builders. 101 MiB with the defaults;
// the benchmarks in this package observe about half to two thirds of it at peak.
func (o Options) WorkingMemory() int64 {
	o.EnsureDefaults()
	arenas := int64(o.NumMemtables) * o.MemTableSize * 3 / 10
	flush := 4 * o.MemTableSize
	return arenas + flush + o.compactionMemory() + 2*o.WriteBufferSize
}

// compactionMemory is the compactions' share of WorkingMemory.
func (o Options) compactionMemory() int64 {
	perTable := int64(2)
	if o.Compression != CompressionNone {
		perTable = 4
	}
	return int64(o.NumCompactors) * (8 + 6) * perTable * o.BaseTableSize
}

// minFilterBound is the smallest FilterBound: room for about 2.7M keys, so that a store
// with small buffers still skips Badger for keys it never held.
const minFilterBound = 4 << 20

// FilterBound is the most the store's filter of the keys it holds takes (a quarter of
// MemoryBound, at least 4 MiB; 8 MiB with the defaults: ~5M keys). A store that opened
// empty keeps it so that reading a key it never held skips Badger; past the bound the
// filter switches off. It grows with the keys written (about 1.5 bytes a key).
func (o Options) FilterBound() int64 {
	return max(o.MemoryBound()/4, minFilterBound)
}

// PeakMemory is what to budget per store: MemoryBound plus WorkingMemory plus
// FilterBound (141 MiB with the defaults), measured as live heap. Go's garbage collector
// adds headroom on top of the live heap (GOGC); a process that must stay under a hard
// limit also sets GOMEMLIMIT.
func (o Options) PeakMemory() int64 {
	return o.MemoryBound() + o.WorkingMemory() + o.FilterBound()
}

// OptionsForMemory returns default Options sized so that MemoryBound is about perStore
// bytes (at least 8 MiB): half in memtables (two of them), three eighths in the block
// cache, an eighth in the write buffer. The runtime calls it with its state memory budget
// divided by the number of persistent stores it may hold, less WorkingMemory (see
// PeakMemory).
func OptionsForMemory(perStore int64) Options {
	o := divideMemory(max(perStore, 8<<20))
	o.EnsureDefaults()
	return o
}

// divideMemory splits memory as OptionsForMemory describes: half in two memtables (each at
// least 1 MiB), three eighths in the block cache, an eighth in the write buffer.
func divideMemory(memory int64) Options {
	return Options{
		NumMemtables:    2,
		MemTableSize:    max(memory/4, 1<<20),
		BlockCacheSize:  memory * 3 / 8,
		WriteBufferSize: memory / 8,
	}
}
