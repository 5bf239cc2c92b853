package core

import (
	"bytes"
	"errors"
	"testing"

	"github.com/rivulet-io/rivulet/statestore"
)

func TestEscapedKeysKeepOrderAndArePrefixFree(t *testing.T) {
	keys := [][]byte{{}, {0}, {0, 0}, {0, 1}, {0, 0xff}, {1}, []byte("a"), []byte("a\x00"), []byte("a\x00\x01"), []byte("ab"), {0xff}, {0xff, 0}}
	for i, a := range keys {
		ea := appendEscaped(nil, a)
		back, rest, err := unescape(ea)
		if err != nil || !bytes.Equal(back, a) || len(rest) != 0 {
			t.Fatalf("unescape(escape(%x)) = %x, %x, %v", a, back, rest, err)
		}
		for _, b := range keys[i+1:] {
			eb := appendEscaped(nil, b)
			if bytes.Compare(a, b) != bytes.Compare(ea, eb) {
				t.Errorf("order of %x, %x not kept: %x, %x", a, b, ea, eb)
			}
			if bytes.HasPrefix(eb, ea) || bytes.HasPrefix(ea, eb) {
				t.Errorf("%x and %x encode with one a prefix of the other", a, b)
			}
		}
	}
}

func FuzzParseWindowStoreKey(f *testing.F) {
	f.Add(WindowStoreKey(nil, 3, []byte("k\x00ey"), 180_000, 7))
	f.Add(WindowStoreKey(nil, 0, nil, 0, 0))
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 5})
	f.Fuzz(func(t *testing.T, data []byte) {
		seg, key, ws, seq, err := ParseWindowStoreKey(data)
		checkParsed(t, data, err, func() []byte { return WindowStoreKey(nil, seg, key, ws, seq) })
	})
}

func FuzzParseSessionStoreKey(f *testing.F) {
	f.Add(SessionStoreKey(nil, 3, []byte("k\x00ey"), 10, 20))
	f.Add(SessionStoreKey(nil, 0, nil, 0, 0))
	f.Fuzz(func(t *testing.T, data []byte) {
		seg, key, start, end, err := ParseSessionStoreKey(data)
		checkParsed(t, data, err, func() []byte { return SessionStoreKey(nil, seg, key, start, end) })
	})
}

// checkParsed fails unless the parse of data failed with ErrCorruptKey, or encoding what
// it parsed gives data back.
func checkParsed(t *testing.T, data []byte, err error, encode func() []byte) {
	t.Helper()
	if err != nil {
		if !errors.Is(err, statestore.ErrCorruptKey) {
			t.Fatalf("error not wrapping ErrCorruptKey: %v", err)
		}
		return
	}
	if again := encode(); !bytes.Equal(again, data) {
		t.Fatalf("round trip: %x -> %x", data, again)
	}
}
