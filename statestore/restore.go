package statestore

import (
	"fmt"
	"sync/atomic"
)

// ChangelogRecord is one record read from a store's changelog topic.
type ChangelogRecord struct {
	// Key is the changelog key (see ChangeLogger for its layout per store kind).
	Key []byte
	// Value is the record value; nil is a tombstone.
	Value []byte
	// Offset is the record's offset in the changelog partition.
	Offset int64
}

// Restorable is a store that can apply changelog records in bulk, bypassing its change
// logger and any cache. Every store in this module implements it.
type Restorable interface {
	Store
	// RestoreBatch applies changelog records in order (a nil value deletes). The store
	// may keep references to the slices until RestoreBatch returns, not after. For window
	// and session stores, records older than the retention (relative to the stream time
	// observed so far, which restored records advance) are skipped.
	RestoreBatch(records []KeyValue) error
}

// RestoreProgress reports how far a restore has come, for log lines and metrics.
type RestoreProgress struct {
	// Store is the store's name.
	Store string
	// Restored is the number of records applied so far.
	Restored int64
	// Offset is the offset of the last record applied, or -1 before the first.
	Offset int64
	// EndOffset is the changelog end offset the restore runs to (exclusive), as given to
	// NewRestorer; -1 when unknown.
	EndOffset int64
	// Done is set on the report made by Finish.
	Done bool
}

// Remaining is the number of records left to restore, or -1 when unknown.
func (p RestoreProgress) Remaining() int64 {
	if p.EndOffset < 0 {
		return -1
	}
	if p.Offset < 0 {
		return p.EndOffset
	}
	return max(p.EndOffset-p.Offset-1, 0)
}

// RestoreOptions configure a Restorer.
type RestoreOptions struct {
	// EndOffset is the changelog end offset the restore runs to, for progress reports.
	// The default value, 0 (or any value <= 0), means unknown.
	EndOffset int64
	// OnProgress is called after each applied batch once at least ProgressInterval
	// records were applied since the last report, and once from Finish. It runs on the
	// restoring goroutine. The default value is nil.
	OnProgress func(RestoreProgress)
	// ProgressInterval is the number of records between progress reports. The default
	// value is 100000.
	ProgressInterval int64
}

// Restorer drives the bulk restore of one store from its changelog. The runtime feeds it
// the records it fetches, batch by batch, on whatever goroutine restores that task, while
// other tasks keep processing: a Restorer only touches its own store.
//
// A Restorer is not safe for concurrent use, except Progress, which may be read from
// any goroutine (for status calls and metrics).
type Restorer struct {
	store    Restorable
	opts     RestoreOptions
	buf      []KeyValue
	restored atomic.Int64
	offset   atomic.Int64
	lastRep  int64
	finished bool
}

// NewRestorer returns a Restorer that applies records to store.
func NewRestorer(store Restorable, opts RestoreOptions) *Restorer {
	if opts.ProgressInterval <= 0 {
		opts.ProgressInterval = 100_000
	}
	if opts.EndOffset <= 0 {
		opts.EndOffset = -1
	}
	r := &Restorer{store: store, opts: opts}
	r.offset.Store(-1)
	return r
}

// Apply applies a batch of changelog records, in order, through the store's bulk path.
func (r *Restorer) Apply(records []ChangelogRecord) error {
	if r.finished {
		return fmt.Errorf("statestore: restore of %q: apply after finish", r.store.Name())
	}
	if len(records) == 0 {
		return nil
	}
	r.buf = r.buf[:0]
	for i := range records {
		r.buf = append(r.buf, KeyValue{Key: records[i].Key, Value: records[i].Value})
	}
	if err := r.store.RestoreBatch(r.buf); err != nil {
		return fmt.Errorf("statestore: restore of %q at offset %d: %w", r.store.Name(), records[0].Offset, err)
	}
	clear(r.buf) // drop references to the caller's records
	n := r.restored.Add(int64(len(records)))
	r.offset.Store(records[len(records)-1].Offset)
	if r.opts.OnProgress != nil && n-r.lastRep >= r.opts.ProgressInterval {
		r.lastRep = n
		r.opts.OnProgress(r.Progress())
	}
	return nil
}

// Progress returns the progress so far. Safe to call from any goroutine.
func (r *Restorer) Progress() RestoreProgress {
	return RestoreProgress{
		Store:     r.store.Name(),
		Restored:  r.restored.Load(),
		Offset:    r.offset.Load(),
		EndOffset: r.opts.EndOffset,
		Done:      r.finished,
	}
}

// Finish flushes the store, reports the final progress and returns it. The checkpoint the
// runtime writes next is Progress().Offset+1 (the next offset to read), or the end offset
// when the changelog's tail holds no records (transaction markers).
func (r *Restorer) Finish() (RestoreProgress, error) {
	if r.finished {
		return r.Progress(), nil
	}
	if err := r.store.Flush(); err != nil {
		return r.Progress(), fmt.Errorf("statestore: restore of %q: flush: %w", r.store.Name(), err)
	}
	r.finished = true
	p := r.Progress()
	if r.opts.OnProgress != nil {
		r.opts.OnProgress(p)
	}
	return p, nil
}
