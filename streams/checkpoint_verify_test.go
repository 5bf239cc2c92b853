package streams

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/rivulet-io/rivulet/statestore"
	"github.com/rivulet-io/rivulet/statestore/badgerstore"
)

// A changelog deleted and recreated with at least as many records as the
// checkpoint names passes the offset check; its new topic id gives it away.
func TestVerifyOpenedSeesARecreatedChangelogByItsTopicID(t *testing.T) {
	logs := new(bytes.Buffer)
	o, err := newDirOpener(t.TempDir(), "app", slog.New(slog.NewTextHandler(logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	topicID := "00112233445566778899aabbccddeeff"
	o.lookup = func(_ context.Context, tps []statestore.TopicPartition) (map[statestore.TopicPartition]changelogState, error) {
		out := map[statestore.TopicPartition]changelogState{}
		for _, tp := range tps {
			out[tp] = changelogState{exists: true, end: 100, topicID: topicID}
		}
		return out, nil
	}
	task := TaskID{Subtopology: 0, Partition: 0}
	open := func() statestore.Checkpoint {
		t.Helper()
		s, cp, err := o.OpenKeyValue(task, "counts", true, true)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Put([]byte("k"), []byte("v")); err != nil {
			t.Fatal(err)
		}
		if err := s.Flush(); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		return cp
	}
	open()
	ckpt := statestore.Checkpoint{{Topic: "app-counts-changelog", Partition: 0}: 50}
	if err := o.WriteCheckpoint(task, "counts", ckpt); err != nil {
		t.Fatal(err)
	}
	if cp := open(); cp == nil {
		t.Fatalf("a valid checkpoint was not trusted; logs:\n%s", logs)
	}
	if err := o.WriteCheckpoint(task, "counts", ckpt); err != nil {
		t.Fatal(err)
	}
	topicID = "ffeeddccbbaa99887766554433221100"
	if cp := open(); cp != nil {
		t.Fatalf("the checkpoint of a recreated changelog was trusted: %v", cp)
	}
	if !strings.Contains(logs.String(), "was recreated (topic id "+topicID) {
		t.Fatalf("no log line about the recreated changelog:\n%s", logs)
	}
}

// A broker that cannot be asked fails the open and wipes nothing.
func TestVerifyOpenedFailsClosedOnLookupErrors(t *testing.T) {
	o, err := newDirOpener(t.TempDir(), "app", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	o.lookup = func(context.Context, []statestore.TopicPartition) (map[statestore.TopicPartition]changelogState, error) {
		return nil, errors.New("broker down")
	}
	if _, _, err := o.OpenKeyValue(TaskID{}, "counts", true, true); err == nil || !strings.Contains(err.Error(), "broker down") {
		t.Fatalf("open with a failing lookup: %v", err)
	}
}

func TestIdentityRoundTrip(t *testing.T) {
	id := storeIdentity{DataID: "0a1b", TopicIDs: map[string]string{"b-changelog": "ff00", "a-changelog": "00ff"}}
	data, err := encodeIdentity(id)
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodeIdentity(data)
	if err != nil {
		t.Fatal(err)
	}
	if got.DataID != id.DataID || len(got.TopicIDs) != 2 || got.TopicIDs["a-changelog"] != "00ff" {
		t.Fatalf("round trip: %+v", got)
	}
	for _, bad := range [][]byte{nil, []byte("x\n"), data[:len(data)-1], bytes.Replace(data, []byte("0a1b"), []byte("0a1c"), 1)} {
		if _, err := decodeIdentity(bad); !errors.Is(err, errBadIdentity) {
			t.Errorf("decode %q: %v, want errBadIdentity", bad, err)
		}
	}
}

// FuzzDecodeIdentity: any bytes decode to an error or to an identity that
// encodes back to the same bytes.
func FuzzDecodeIdentity(f *testing.F) {
	good, _ := encodeIdentity(storeIdentity{DataID: "0a1b", TopicIDs: map[string]string{"t": "00ff"}})
	f.Add(good)
	f.Add([]byte(identityHeader + "\ndata 00\ncrc32c 00000000\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		id, err := decodeIdentity(data)
		if err != nil {
			if !errors.Is(err, errBadIdentity) {
				t.Fatalf("error not wrapping errBadIdentity: %v", err)
			}
			return
		}
		again, err := encodeIdentity(id)
		if err != nil || !bytes.Equal(again, data) {
			t.Fatalf("decoded %+v does not encode back: %v", id, err)
		}
	})
}

// The Badger config setter sees each persistent store by name, and options
// Badger cannot work with fail the open.
func TestBadgerConfigSetterReachesEveryStore(t *testing.T) {
	o, err := newDirOpener(t.TempDir(), "app", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	o.setter = func(name string, opts *badgerstore.Options) {
		names = append(names, name)
		if opts.MemTableSize != badgerstore.DefaultMemTableSize {
			t.Errorf("setter got MemTableSize %d, want the default", opts.MemTableSize)
		}
		opts.MemTableSize = 4 << 20
		if name == "broken" {
			opts.NumCompactors = 1 // Badger needs at least 2
		}
	}
	s, _, err := o.OpenKeyValue(TaskID{}, "counts", true, true)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	ws, _, err := o.OpenWindow(TaskID{}, "windows", true, true, statestore.WindowOptions{Retention: time.Hour, WindowSize: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if err := ws.Close(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := o.OpenKeyValue(TaskID{}, "broken", true, true); err == nil {
		t.Fatal("a store with options Badger refuses opened")
	}
	if strings.Join(names, ",") != "counts,windows,broken" {
		t.Fatalf("setter called for %v", names)
	}
}

// FuzzJoinBufferEntry: a damaged entry of a join's grace buffer (restored
// from its changelog) is an error, never a panic; a good one decodes.
func FuzzJoinBufferEntry(f *testing.F) {
	p := &streamTableJoinProc[string, string, string, string]{buf: &graceSpec[string, string]{store: "b", keySerde: StringSerde(), valueSerde: StringSerde()}}
	f.Add(make([]byte, 16), []byte{0, 1, 'k', 'v'})
	f.Add(make([]byte, 16), []byte{1, 0})
	f.Add([]byte{1}, []byte{0, 200})
	f.Fuzz(func(t *testing.T, key, val []byte) {
		r, err := p.decodeHeld(key, val)
		if err != nil {
			if !strings.Contains(err.Error(), "damaged entry") {
				t.Fatalf("unexpected error: %v", err)
			}
			return
		}
		if len(key) != 16 || r.Timestamp != int64(binary.BigEndian.Uint64(key[:8])) {
			t.Fatalf("decoded %+v from a bad key %x", r, key)
		}
	})
}
