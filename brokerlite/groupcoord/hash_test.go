package groupcoord

import "testing"

// The expected values were computed with Java 17's String.hashCode and
// Kafka's Utils.abs(hash) % 50.
func TestPartitionForMatchesKafka(t *testing.T) {
	for _, tc := range []struct {
		group string
		hash  int32
		p50   int32
	}{
		{"", 0, 0},
		{"g", 103, 3},
		{"hello", 99162322, 22},
		{"my-group", -1906497762, 12},
		{"consumer-group-1", 147483020, 20},
		{"application.id-streams", -1527321185, 35},
		{"日本語グループ", -305235731, 31},
		{"emoji-😀-group", -1581567172, 22},
		{"zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz", -427654336, 36},
		{"polygenelubricants", -2147483648, 0}, // hash is math.MinInt32
	} {
		if h := javaStringHashCode(tc.group); h != tc.hash {
			t.Errorf("javaStringHashCode(%q) = %d, want %d", tc.group, h, tc.hash)
		}
		if p := PartitionFor(tc.group, 50); p != tc.p50 {
			t.Errorf("PartitionFor(%q, 50) = %d, want %d", tc.group, p, tc.p50)
		}
	}
	if p := PartitionFor("anything", 0); p != 0 {
		t.Errorf("PartitionFor with 0 partitions = %d, want 0", p)
	}
}
