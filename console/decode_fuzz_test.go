package console

import (
	"testing"
	"unicode/utf8"
)

// FuzzDecode: the message browser's decoders never panic, give valid
// UTF-8 text, and refuse what they cannot read with an error.
func FuzzDecode(f *testing.F) {
	for _, b := range [][]byte{nil, {}, []byte("word"), {0, 0, 0, 0, 0, 0, 0, 42}, {0xff, 'a', 0xc3}} {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, format := range []string{"", "string", "int64", "hex", "base64"} {
			s, err := decode(b, format)
			if err != nil {
				if format != "int64" || len(b) == 8 {
					t.Fatalf("decode %q as %s: %v", b, format, err)
				}
				continue
			}
			if (s == nil) != (b == nil) {
				t.Fatalf("decode %q as %s: nil mismatch", b, format)
			}
			if s != nil && !utf8.ValidString(*s) {
				t.Fatalf("decode %q as %s: invalid UTF-8 %q", b, format, *s)
			}
		}
		if utf8.Valid(b) && escapeBytes(b) != string(b) {
			t.Fatalf("escapeBytes changed valid UTF-8 %q", b)
		}
	})
}
