package harness

import (
	"encoding/binary"
	"testing"
)

// FuzzStreamsCheckers feeds arbitrary output records to every case's
// checker: whatever a system writes, a checker parses it without panicking,
// and a record it cannot place is reported as wrong output, never counted
// as a result.
func FuzzStreamsCheckers(f *testing.F) {
	d := &ssbData{records: 200, keys: 20, zipfS: 1.1, valueSize: 16, distinct: 30, seed: 1}
	f.Add([]byte("key-00003"), binary.BigEndian.AppendUint64(nil, 7))
	f.Add(windowedKeyBytes([]byte("key-00001"), ssbBaseTime), binary.BigEndian.AppendUint64(nil, 1))
	f.Add([]byte(distinctKey(4)), binary.BigEndian.AppendUint64(nil, 1))
	f.Add([]byte("key-99999"), []byte(nil))
	f.Add([]byte{}, make([]byte, 16))
	f.Fuzz(func(t *testing.T, key, value []byte) {
		for _, name := range AllStreamsCases {
			c, err := ssbCaseOf(name)
			if err != nil {
				t.Fatal(err)
			}
			chk, _ := d.newChecker(c)
			before, _, _ := chk.state()
			chk.observe(key, value)
			after, done, err := chk.state()
			if done && chk.total() > 1 {
				t.Fatalf("%s: one record completed %d expected results", name, chk.total())
			}
			if fc, ok := chk.(*finalChecker); ok && err == nil && after > before {
				// A record counted as a final result must be one the case
				// expects: its slot is in range and the key parses.
				if fc.bad != 0 {
					t.Fatalf("%s: bad record counted", name)
				}
			}
		}
	})
}
