package harness

import (
	"encoding/binary"
	"fmt"
	"time"
)

// The cases of the streams suite, after Kafka Streams' SimpleBenchmark, and
// the many-keys count.
const (
	CaseConsume                = "consume"
	CaseConsumeProduce         = "consumeproduce"
	CaseStreamProcess          = "streamprocess"
	CaseStreamProcessSink      = "streamprocesswithsink"
	CaseStreamProcessStore     = "streamprocesswithstatestore"
	CaseStreamProcessWinStore  = "streamprocesswithwindowstore"
	CaseStreamCount            = "streamcount"
	CaseStreamCountWindowed    = "streamcountwindowed"
	CaseStreamStreamJoin       = "streamstreamjoin"
	CaseStreamTableJoin        = "streamtablejoin"
	CaseTableTableJoin         = "tabletablejoin"
	CaseStreamCountDistinctKey = "streamcountdistinct"
)

// AllStreamsCases lists every case in the order the suite runs them.
var AllStreamsCases = []string{CaseConsume, CaseConsumeProduce, CaseStreamProcess, CaseStreamProcessSink,
	CaseStreamProcessStore, CaseStreamProcessWinStore, CaseStreamCount, CaseStreamCountWindowed,
	CaseStreamStreamJoin, CaseStreamTableJoin, CaseTableTableJoin, CaseStreamCountDistinctKey}

// Window and join settings of the cases, as in SimpleBenchmark where it
// has them.
const (
	ssbWindowSize    = time.Second            // windowed count and window store
	ssbWindowAdvance = 500 * time.Millisecond // windowed count: hopping windows
	ssbJoinWindow    = 10 * time.Millisecond  // stream-stream join: |left - right| <= 10ms
	ssbJoinGrace     = 10 * time.Second
)

// StreamsCaseDescriptions says what each case does, for help texts and
// RESULTS.md.
var StreamsCaseDescriptions = map[string]string{
	CaseConsume:                "read every record",
	CaseConsumeProduce:         "read every record and write it to an output topic",
	CaseStreamProcess:          "filter (drop 1 in 10) and map each value, no output",
	CaseStreamProcessSink:      "filter and map each value, write to an output topic",
	CaseStreamProcessStore:     "put every record in a key-value store (logged, no cache)",
	CaseStreamProcessWinStore:  "put every record in a 1s tumbling-window store (logged, no cache)",
	CaseStreamCount:            "count per key, counts to an output topic",
	CaseStreamCountWindowed:    "count per key in 1s windows advancing by 500ms, to an output topic",
	CaseStreamStreamJoin:       "inner join with a second stream (a quarter as many records) within 10ms, to an output topic",
	CaseStreamTableJoin:        "inner join with a table of half the keys, to an output topic",
	CaseTableTableJoin:         "inner join of the input as a table with the second stream as a table, to an output topic",
	CaseStreamCountDistinctKey: "count per key where almost every key is new (user ids), to an output topic",
}

// ssbCase is what the harness needs to know about a case.
type ssbCase struct {
	name string
	// inputs are the topics it reads; the first is the stream measured.
	inputs []string
	// sink is true when it writes an output topic.
	sink bool
	// goka is true when goka can do the same work.
	goka bool
}

func ssbCaseOf(name string) (ssbCase, error) {
	c := ssbCase{name: name, inputs: []string{ssbMainTopic}}
	switch name {
	case CaseConsume, CaseStreamProcess, CaseStreamProcessStore:
		c.goka = true
	case CaseConsumeProduce, CaseStreamProcessSink, CaseStreamCount:
		c.sink, c.goka = true, true
	case CaseStreamProcessWinStore:
	case CaseStreamCountWindowed:
		c.sink = true
	case CaseStreamStreamJoin, CaseTableTableJoin:
		c.sink = true
		c.inputs = []string{ssbMainTopic, ssbRightTopic}
	case CaseStreamTableJoin:
		c.sink, c.goka = true, true
		c.inputs = []string{ssbMainTopic, ssbTableTopic}
	case CaseStreamCountDistinctKey:
		c.sink, c.goka = true, true
		c.inputs = []string{ssbDistinctTopic}
	default:
		return c, fmt.Errorf("harness: streams: unknown case %q", name)
	}
	return c, nil
}

// windowSlot indexes the window of key rank starting at start.
func windowSlot(rank int, start int64) uint64 {
	return uint64(rank)<<32 | uint64((start-ssbBaseTime+int64(ssbWindowSize/time.Millisecond))/int64(ssbWindowAdvance/time.Millisecond))
}

// windowStarts returns the starts of the windows of size and advance (ms)
// holding ts, as Kafka's TimeWindows.windowsFor.
func windowStarts(ts, size, advance int64) []int64 {
	var out []int64
	first := max(0, ts-size+advance) / advance * advance
	for s := first; s <= ts; s += advance {
		out = append(out, s)
	}
	return out
}

// windowedKeyBytes is Kafka's time-windowed key layout: the key's bytes
// then the window start, 8 bytes big-endian.
func windowedKeyBytes(key []byte, start int64) []byte {
	return binary.BigEndian.AppendUint64(append([]byte(nil), key...), uint64(start))
}

// newChecker computes, from the generated input alone, what case must
// output, and returns the checker that compares the system's output with
// it. inputRecords is the number of records the case reads.
func (d *ssbData) newChecker(c ssbCase) (chk checker, inputRecords int64) {
	switch c.name {
	case CaseConsume, CaseConsumeProduce, CaseStreamProcess, CaseStreamProcessSink:
		var want multisetSum
		v := make([]byte, d.valueSize)
		_ = d.eachMain(func(r mainRecord) error {
			ssbValue(v, r.id)
			k := []byte(ssbKey(r.rank))
			switch c.name {
			case CaseConsume, CaseConsumeProduce:
				want.add(k, v)
			default:
				if ssbKeep(v) {
					want.add(k, ssbTransform(v))
				}
			}
			return nil
		})
		return &multisetChecker{want: want}, d.records
	case CaseStreamProcessStore, CaseStreamCount:
		last := d.lastIDs()
		counts := make([]int64, d.keys)
		_ = d.eachMain(func(r mainRecord) error { counts[r.rank]++; return nil })
		slot := make([]int, d.keys)
		n := 0
		for rank := range d.keys {
			slot[rank] = -1
			if counts[rank] > 0 {
				slot[rank] = n
				n++
			}
		}
		return newFinalChecker(n, func(k, v []byte) (int, bool, bool) {
			rank, ok := ssbRank(k, d.keys)
			if !ok || slot[rank] < 0 {
				return 0, false, false
			}
			if c.name == CaseStreamCount {
				return slot[rank], len(v) == 8 && int64(binary.BigEndian.Uint64(v)) == counts[rank], len(v) == 8
			}
			id, ok := ssbID(v)
			return slot[rank], ok && int64(id) == last[rank], ok
		}), d.records
	case CaseStreamProcessWinStore, CaseStreamCountWindowed:
		size := int64(ssbWindowSize / time.Millisecond)
		advance := size
		if c.name == CaseStreamCountWindowed {
			advance = int64(ssbWindowAdvance / time.Millisecond)
		}
		slots := map[uint64]int32{}
		var final []int64 // the last id, or the count, per slot
		_ = d.eachMain(func(r mainRecord) error {
			for _, s := range windowStarts(r.ts, size, advance) {
				ws := windowSlot(r.rank, s)
				i, ok := slots[ws]
				if !ok {
					i = int32(len(final))
					slots[ws] = i
					final = append(final, 0)
				}
				if c.name == CaseStreamCountWindowed {
					final[i]++
				} else {
					final[i] = int64(r.id)
				}
			}
			return nil
		})
		return newFinalChecker(len(final), func(k, v []byte) (int, bool, bool) {
			if len(k) < 8 || len(v) < 8 {
				return 0, false, false
			}
			start := int64(binary.BigEndian.Uint64(k[len(k)-8:]))
			rank, ok := ssbRank(k[:len(k)-8], d.keys)
			if !ok || (start-ssbBaseTime)%advance != 0 {
				return 0, false, false
			}
			i, ok := slots[windowSlot(rank, start)]
			if !ok {
				return 0, false, false
			}
			return int(i), int64(binary.BigEndian.Uint64(v)) == final[i], true
		}), d.records
	case CaseStreamStreamJoin:
		var want multisetSum
		d.joinPairs(int64(ssbJoinWindow/time.Millisecond), func(rank int, l, r uint64) {
			var lv, rv [8]byte
			binary.BigEndian.PutUint64(lv[:], l)
			binary.BigEndian.PutUint64(rv[:], r)
			want.add([]byte(ssbKey(rank)), ssbJoinValue(lv[:], rv[:]))
		})
		return &multisetChecker{want: want}, d.records + d.rightRecords()
	case CaseStreamTableJoin:
		var want multisetSum
		_ = d.eachMain(func(r mainRecord) error {
			if r.rank%2 == 0 {
				var lv, tv [8]byte
				binary.BigEndian.PutUint64(lv[:], r.id)
				binary.BigEndian.PutUint64(tv[:], ssbTableID(r.rank))
				want.add([]byte(ssbKey(r.rank)), ssbJoinValue(lv[:], tv[:]))
			}
			return nil
		})
		return &multisetChecker{want: want}, d.records + int64(d.tableRanks())
	case CaseTableTableJoin:
		lastL := make([]uint64, d.keys)
		lastR := make([]uint64, d.keys)
		hasL := make([]bool, d.keys)
		hasR := make([]bool, d.keys)
		_ = d.eachMain(func(r mainRecord) error { lastL[r.rank], hasL[r.rank] = r.id, true; return nil })
		_ = d.eachRight(func(r mainRecord) error { lastR[r.rank], hasR[r.rank] = r.id, true; return nil })
		slot := make([]int, d.keys)
		n := 0
		for rank := range d.keys {
			slot[rank] = -1
			if hasL[rank] && hasR[rank] {
				slot[rank] = n
				n++
			}
		}
		return newFinalChecker(n, func(k, v []byte) (int, bool, bool) {
			rank, ok := ssbRank(k, d.keys)
			if !ok {
				return 0, false, false
			}
			if slot[rank] < 0 {
				// A key on one side only: an inner join may forward its
				// deletion, nothing else.
				return -1, false, v == nil
			}
			if v == nil {
				return slot[rank], false, true
			}
			if len(v) != 16 {
				return 0, false, false
			}
			return slot[rank], binary.BigEndian.Uint64(v) == lastL[rank] && binary.BigEndian.Uint64(v[8:]) == lastR[rank], true
		}), d.records + d.rightRecords()
	case CaseStreamCountDistinctKey:
		counts := make([]uint32, d.distinct)
		var records int64
		_ = d.eachDistinct(func(id uint32, _ uint64) error { counts[id]++; records++; return nil })
		return newFinalChecker(len(counts), func(k, v []byte) (int, bool, bool) {
			id, ok := distinctID(k)
			if !ok || int64(id) >= d.distinct || len(v) != 8 {
				return 0, false, false
			}
			return int(id), binary.BigEndian.Uint64(v) == uint64(counts[id]), true
		}), records
	}
	return nil, 0
}

// lastIDs returns, per key rank, the id of the key's last main record (-1
// for a key that never occurs): what a store of the latest values holds.
func (d *ssbData) lastIDs() []int64 {
	last := make([]int64, d.keys)
	for i := range last {
		last[i] = -1
	}
	_ = d.eachMain(func(r mainRecord) error { last[r.rank] = int64(r.id); return nil })
	return last
}
