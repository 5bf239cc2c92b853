package statestore_test

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/rivulet-io/rivulet/statestore"
)

func TestCheckpointRoundTrip(t *testing.T) {
	dir := t.TempDir()
	if cp, err := statestore.ReadCheckpoint(dir); cp != nil || err != nil {
		t.Fatalf("no checkpoint: got %v, %v; want nil, nil", cp, err)
	}
	cp := statestore.Checkpoint{
		{Topic: "app-counts-changelog", Partition: 3}: 1234,
		{Topic: "app-counts-changelog", Partition: 0}: 0,
		{Topic: "app-other-changelog", Partition: 1}:  9_000_000_000,
	}
	if err := statestore.WriteCheckpoint(dir, cp); err != nil {
		t.Fatal(err)
	}
	got, err := statestore.ReadCheckpoint(dir)
	if err != nil || !reflect.DeepEqual(got, cp) {
		t.Fatalf("read back %v, %v; want %v", got, err, cp)
	}
	data, _ := os.ReadFile(filepath.Join(dir, statestore.CheckpointFileName))
	want := "rivulet-checkpoint 1\napp-counts-changelog 0 0\napp-counts-changelog 3 1234\napp-other-changelog 1 9000000000\n"
	if string(data[:len(want)]) != want {
		t.Fatalf("file:\n%s", data)
	}
	// Overwrite, then remove.
	if err := statestore.WriteCheckpoint(dir, statestore.Checkpoint{{Topic: "t", Partition: 0}: 5}); err != nil {
		t.Fatal(err)
	}
	if got, _ := statestore.ReadCheckpoint(dir); len(got) != 1 {
		t.Fatalf("after overwrite: %v", got)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("temporary files left behind: %v", entries)
	}
	if err := statestore.RemoveCheckpoint(dir); err != nil {
		t.Fatal(err)
	}
	if err := statestore.RemoveCheckpoint(dir); err != nil {
		t.Fatalf("removing an absent checkpoint: %v", err)
	}
	if got, err := statestore.ReadCheckpoint(dir); got != nil || err != nil {
		t.Fatalf("after remove: %v, %v", got, err)
	}
}

func TestCheckpointRejectsBadInput(t *testing.T) {
	for name, cp := range map[string]statestore.Checkpoint{
		"empty topic":        {{Topic: "", Partition: 0}: 1},
		"space in topic":     {{Topic: "a b", Partition: 0}: 1},
		"negative partition": {{Topic: "t", Partition: -1}: 1},
		"negative offset":    {{Topic: "t", Partition: 0}: -1},
	} {
		if _, err := statestore.EncodeCheckpoint(cp); err == nil {
			t.Errorf("%s: encoded", name)
		}
	}
	good, _ := statestore.EncodeCheckpoint(statestore.Checkpoint{{Topic: "t", Partition: 1}: 7})
	corruptions := map[string][]byte{
		"empty":          nil,
		"truncated":      good[:len(good)-3],
		"no newline":     good[:len(good)-1],
		"flipped offset": []byte(string(good[:len(good)-20]) + "8" + string(good[len(good)-19:])),
		"bad header":     append([]byte("x"), good...),
		"bad crc hex":    []byte("rivulet-checkpoint 1\ncrc32c zzzzzzzz\n"),
	}
	for name, data := range corruptions {
		if _, err := statestore.DecodeCheckpoint(data); !errors.Is(err, statestore.ErrCorruptCheckpoint) {
			t.Errorf("%s: %v, want ErrCorruptCheckpoint", name, err)
		}
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, statestore.CheckpointFileName), good[:10], 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := statestore.ReadCheckpoint(dir); !errors.Is(err, statestore.ErrCorruptCheckpoint) {
		t.Fatalf("ReadCheckpoint of a torn file = %v", err)
	}
}

func FuzzDecodeCheckpoint(f *testing.F) {
	good, _ := statestore.EncodeCheckpoint(statestore.Checkpoint{{Topic: "app-s-changelog", Partition: 2}: 42, {Topic: "x", Partition: 0}: 0})
	f.Add(good)
	f.Add([]byte("rivulet-checkpoint 1\ncrc32c 00000000\n"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		cp, err := statestore.DecodeCheckpoint(data)
		if err != nil {
			if !errors.Is(err, statestore.ErrCorruptCheckpoint) {
				t.Fatalf("error not wrapping ErrCorruptCheckpoint: %v", err)
			}
			return
		}
		// Whatever decodes must encode back to the same bytes.
		again, err := statestore.EncodeCheckpoint(cp)
		if err != nil {
			t.Fatalf("decoded checkpoint does not encode: %v", err)
		}
		if string(again) != string(data) {
			t.Fatalf("round trip changed the file:\n%q\n%q", data, again)
		}
	})
}

func FuzzParseWindowKey(f *testing.F) {
	f.Add(statestore.AppendWindowKey(nil, []byte("key"), 60_000, 3))
	f.Add([]byte{})
	f.Add(make([]byte, 12))
	f.Fuzz(func(t *testing.T, data []byte) {
		key, ws, seq, err := statestore.ParseWindowKey(data)
		if !parsedKey(t, err) {
			return
		}
		if again := statestore.AppendWindowKey(nil, key, ws, seq); string(again) != string(data) {
			t.Fatalf("round trip: %x -> %x", data, again)
		}
	})
}

func FuzzParseSessionKey(f *testing.F) {
	f.Add(statestore.AppendSessionKey(nil, []byte("key"), 10, 20))
	f.Add([]byte{})
	f.Add(make([]byte, 16))
	f.Fuzz(func(t *testing.T, data []byte) {
		key, start, end, err := statestore.ParseSessionKey(data)
		if !parsedKey(t, err) {
			return
		}
		if start > end || start < 0 {
			t.Fatalf("accepted session [%d, %d]", start, end)
		}
		if again := statestore.AppendSessionKey(nil, key, start, end); string(again) != string(data) {
			t.Fatalf("round trip: %x -> %x", data, again)
		}
	})
}

// parsedKey reports whether a changelog key parsed; a parse that failed must fail with
// ErrCorruptKey.
func parsedKey(t *testing.T, err error) bool {
	t.Helper()
	if err != nil && !errors.Is(err, statestore.ErrCorruptKey) {
		t.Fatalf("error not wrapping ErrCorruptKey: %v", err)
	}
	return err == nil
}
