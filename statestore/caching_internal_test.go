package statestore

import (
	"bytes"
	"errors"
	"testing"
)

func FuzzCutEscapedKey(f *testing.F) {
	f.Add(appendEscapedKey(nil, []byte("a\x00b")))
	f.Add([]byte{0})
	f.Add([]byte{0, 2})
	f.Fuzz(func(t *testing.T, data []byte) {
		key, rest, err := cutEscapedKey(data)
		if err != nil {
			if !errors.Is(err, ErrCorruptKey) {
				t.Fatalf("error not wrapping ErrCorruptKey: %v", err)
			}
			return
		}
		again := append(appendEscapedKey(nil, key), rest...)
		if !bytes.Equal(again, data) {
			t.Fatalf("round trip: %x -> %x", data, again)
		}
	})
}
