package streams

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"
)

// Stream-table joins with a grace period (KIP-923): against a versioned
// table, stream records are held in a buffer until stream time passes
// their timestamp plus the grace period, and then joined, in timestamp
// order, with the table as of their time. So a table update that arrives
// late, but within the grace period, is still seen by the stream records
// it should have met. A stream record already older than stream time minus
// the grace period is joined at once.
//
// The buffer is an in-memory store backed by a changelog
// ("<join name>-buffer-store"), as Kafka Streams' time-ordered buffer, so
// held records survive restarts and move with the task. Entry key:
// big-endian timestamp ‖ big-endian sequence number; value: flags (1: null
// key), uvarint length of the serialized key, the key, then the serialized
// value. Headers are not kept.

// WithGracePeriod holds stream records back for d before joining them with
// a versioned table (KIP-923). Only joins against a table materialized
// WithVersioning accept a grace period.
func (j Joined[K, V, VT]) WithGracePeriod(d time.Duration) Joined[K, V, VT] {
	j.grace = d
	return j
}

// graceSpec is what a join with a grace period needs at run time.
type graceSpec[K, V any] struct {
	store      string
	grace      int64
	keySerde   Serde[K]
	valueSerde Serde[V]
}

// graceBuffer registers the buffer store of a join with a grace period and
// returns its spec; nil without one.
func graceBuffer[K, V, VT any](b *Builder, name string, j Joined[K, V, VT], getter tableGetter[K, VT], ks Serde[K], vs Serde[V]) *graceSpec[K, V] {
	if j.grace == 0 {
		return nil
	}
	if j.grace < 0 {
		b.fail(fmt.Errorf("streams: join %q: negative grace period %v", name, j.grace))
		return nil
	}
	if _, ok := getter.(asOfGetter[K, VT]); !ok {
		b.fail(fmt.Errorf("streams: join %q: a grace period needs a versioned table (Materialized.WithVersioning)", name))
		return nil
	}
	spec := &graceSpec[K, V]{store: name + "-buffer-store", grace: j.grace.Milliseconds(), keySerde: ks, valueSerde: vs}
	f := &kvFactory[[]byte, []byte]{name: spec.store, keySerde: BytesSerde(), valueSerde: BytesSerde(), logging: true, storeType: InMemoryStore, ownOps: true}
	spec2 := f.spec()
	if err := b.t.AddStore(spec2); err != nil {
		b.fail(err)
		return nil
	}
	b.stores[spec2.Name] = f
	return spec
}

// graceState is a task's view of the buffer.
type graceState struct {
	s   *kvStore[[]byte, []byte]
	seq uint64
}

func (p *streamTableJoinProc[K, V, VT, VR]) initGrace(ctx ProcessorContext[K, VR]) error {
	if p.getAsOf == nil {
		return errors.New("streams: stream-table join with a grace period: the table is not versioned")
	}
	st, err := ctx.StateStore(p.buf.store)
	if err != nil {
		return err
	}
	kv, ok := st.(*kvStore[[]byte, []byte])
	if !ok {
		return fmt.Errorf("streams: join buffer %q is a %s", p.buf.store, describeStore(st))
	}
	p.gb = &graceState{s: kv}
	// Continue the sequence after what a restore brought back.
	it, err := kv.reverseAllCounted()
	if err != nil {
		return fmt.Errorf("streams: join buffer %q: %w", p.buf.store, err)
	}
	if it.Next() {
		if k := it.Key(); len(k) == 16 {
			p.gb.seq = binary.BigEndian.Uint64(k[8:]) + 1
		}
	}
	return it.Close()
}

func (p *streamTableJoinProc[K, V, VT, VR]) processGrace(r Record[K, V]) error {
	streamTime := max(p.ctx.StreamTime(), r.Timestamp)
	if r.Timestamp < streamTime-p.buf.grace || r.Timestamp < 0 {
		if err := p.join(r); err != nil {
			return err
		}
	} else if err := p.hold(r); err != nil {
		return err
	}
	return p.evict(streamTime - p.buf.grace)
}

// hold puts r into the buffer.
func (p *streamTableJoinProc[K, V, VT, VR]) hold(r Record[K, V]) error {
	kb, err := p.buf.keySerde.Serialize(r.Key)
	if err != nil {
		return fmt.Errorf("streams: join buffer %q: serialize key: %w", p.buf.store, err)
	}
	vb, err := p.buf.valueSerde.Serialize(r.Value)
	if err != nil {
		return fmt.Errorf("streams: join buffer %q: serialize value: %w", p.buf.store, err)
	}
	var flags byte
	if r.KeyIsNull() {
		flags = 1
	}
	val := binary.AppendUvarint([]byte{flags}, uint64(len(kb)))
	val = append(append(val, kb...), vb...)
	key := binary.BigEndian.AppendUint64(make([]byte, 0, 16), uint64(r.Timestamp))
	key = binary.BigEndian.AppendUint64(key, p.gb.seq)
	p.gb.seq++
	return p.gb.s.putCounted(key, val)
}

// evict joins and removes the held records with timestamp <= upTo, oldest
// first.
func (p *streamTableJoinProc[K, V, VT, VR]) evict(upTo int64) error {
	if upTo < 0 {
		return nil
	}
	to := binary.BigEndian.AppendUint64(make([]byte, 0, 16), uint64(upTo))
	to = binary.BigEndian.AppendUint64(to, math.MaxUint64)
	it, err := p.gb.s.rangeCounted(make([]byte, 16), to)
	if err != nil {
		return fmt.Errorf("streams: join buffer %q: %w", p.buf.store, err)
	}
	type held struct{ key, val []byte }
	var due []held
	for it.Next() {
		due = append(due, held{append([]byte(nil), it.Key()...), append([]byte(nil), it.Value()...)})
	}
	if err := it.Close(); err != nil {
		return fmt.Errorf("streams: join buffer %q: %w", p.buf.store, err)
	}
	for _, h := range due {
		r, err := p.decodeHeld(h.key, h.val)
		if err != nil {
			return err
		}
		if err := p.gb.s.putCounted(h.key, nil); err != nil {
			return err
		}
		if err := p.join(r); err != nil {
			return err
		}
	}
	return nil
}

func (p *streamTableJoinProc[K, V, VT, VR]) decodeHeld(key, val []byte) (Record[K, V], error) {
	bad := func(why string) (Record[K, V], error) {
		return Record[K, V]{}, fmt.Errorf("streams: join buffer %q: damaged entry: %s", p.buf.store, why)
	}
	if len(key) != 16 || len(val) < 2 || val[0]&^1 != 0 {
		return bad("bad layout")
	}
	n, w := binary.Uvarint(val[1:])
	if w <= 0 || n > uint64(len(val)-1-w) {
		return bad("bad key length")
	}
	kb, vb := val[1+w:1+w+int(n)], val[1+w+int(n):]
	var r Record[K, V]
	var err error
	if val[0]&1 != 0 {
		r.flags |= flagNullKey
	} else if r.Key, err = p.buf.keySerde.Deserialize(kb); err != nil {
		return bad(err.Error())
	}
	if r.Value, err = p.buf.valueSerde.Deserialize(vb); err != nil {
		return bad(err.Error())
	}
	r.Timestamp = int64(binary.BigEndian.Uint64(key[:8]))
	return r, nil
}
