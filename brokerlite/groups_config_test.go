package brokerlite

import (
	"errors"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
)

// TestOffsetsCommitSettings: offsets.commit.timeout.ms and offset.metadata.max.bytes are
// broker settings (not unknown keys), validated, with Kafka's defaults, and reach the group
// coordinator's configuration.
func TestOffsetsCommitSettings(t *testing.T) {
	d, unknown, err := ParseSettings(Config{})
	if err != nil || len(unknown) != 0 {
		t.Fatalf("defaults: %v, unknown %v", err, unknown)
	}
	if d.OffsetsCommitTimeoutMs != 5000 || d.OffsetMetadataMaxBytes != 4096 {
		t.Fatalf("defaults: offsets.commit.timeout.ms %d, offset.metadata.max.bytes %d; want 5000, 4096",
			d.OffsetsCommitTimeoutMs, d.OffsetMetadataMaxBytes)
	}
	s, unknown, err := ParseSettings(Config{Properties: map[string]string{
		"offsets.commit.timeout.ms": "1234", "offset.metadata.max.bytes": "17",
	}})
	if err != nil || len(unknown) != 0 {
		t.Fatalf("explicit: %v, unknown %v", err, unknown)
	}
	if s.OffsetsCommitTimeoutMs != 1234 || s.OffsetMetadataMaxBytes != 17 {
		t.Fatalf("explicit: %+v", s)
	}
	wantConfigErrors(t, []map[string]string{
		{"offsets.commit.timeout.ms": "0"},
		{"offsets.commit.timeout.ms": "soon"},
		{"offset.metadata.max.bytes": "-1"},
		{"offsets.retention.check.interval.ms": "0"},
	})

	for _, tc := range []struct {
		props   map[string]string
		timeout time.Duration
		meta    int
	}{
		{nil, 5 * time.Second, 4096},
		{map[string]string{"offsets.commit.timeout.ms": "1234", "offset.metadata.max.bytes": "17"}, 1234 * time.Millisecond, 17},
		{map[string]string{"offset.metadata.max.bytes": "0"}, 5 * time.Second, 0},
	} {
		s, _, err := ParseSettings(Config{Properties: tc.props})
		if err != nil {
			t.Fatal(err)
		}
		cfg := coordinatorConfig(&Broker{settings: s, logger: testLogger(t)}, 1)
		cfg.EnsureDefaults()
		if err := cfg.Validate(); err != nil {
			t.Fatalf("%v: %v", tc.props, err)
		}
		if cfg.OffsetCommitTimeout != tc.timeout || cfg.OffsetMetadataMaxBytes != tc.meta {
			t.Errorf("%v: coordinator gets commit timeout %v, metadata max %d; want %v, %d",
				tc.props, cfg.OffsetCommitTimeout, cfg.OffsetMetadataMaxBytes, tc.timeout, tc.meta)
		}
	}
}

// TestOffsetMetadataMaxBytes: a commit whose metadata is longer than
// offset.metadata.max.bytes gets OFFSET_METADATA_TOO_LARGE, one at the limit succeeds,
// and 0 accepts only empty metadata.
func TestOffsetMetadataMaxBytes(t *testing.T) {
	for _, tc := range []struct {
		max          string
		ok, tooLarge string
	}{
		{"8", "12345678", "123456789"},
		{"0", "", "x"},
	} {
		b := startBroker(t, "", "offset.metadata.max.bytes", tc.max)
		c := newClient(t, b)
		createTopic(t, c, "meta", 1)
		adm := kadm.NewClient(c)
		commit := func(meta string) error {
			os := kadm.Offsets{}
			os.Add(kadm.Offset{Topic: "meta", Partition: 0, At: 3, LeaderEpoch: -1, Metadata: meta})
			resp, err := adm.CommitOffsets(testCtx(t), "meta-g", os)
			if err != nil {
				return err
			}
			return resp.Error()
		}
		if err := commit(tc.ok); err != nil {
			t.Errorf("max %s: metadata %q: %v", tc.max, tc.ok, err)
		}
		if err := commit(tc.tooLarge); !errors.Is(err, kerr.OffsetMetadataTooLarge) {
			t.Errorf("max %s: metadata %q: got %v, want OFFSET_METADATA_TOO_LARGE", tc.max, tc.tooLarge, err)
		}
	}
}
