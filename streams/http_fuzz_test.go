package streams

import (
	"testing"
	"unicode/utf8"
)

// FuzzParseKeyText feeds URL key texts to the key parsers of the HTTP
// endpoint: string keys are the text itself, other types parse JSON or
// fail with an error, never a panic.
func FuzzParseKeyText(f *testing.F) {
	for _, s := range []string{"", "word", "42", "-1", "1e400", `{"a":1}`, `"x"`, "[1,2]", "\xff"} {
		f.Add(s)
	}
	type point struct{ X, Y int }
	f.Fuzz(func(t *testing.T, text string) {
		s, err := parseKeyText[string](text)
		if err != nil || s != text {
			t.Fatalf("string key %q: %q, %v", text, s, err)
		}
		b, err := parseKeyText[[]byte](text)
		if err != nil || string(b) != text {
			t.Fatalf("bytes key %q: %q, %v", text, b, err)
		}
		if n, err := parseKeyText[int64](text); err == nil {
			if _, err := Int64Serde().Serialize(n); err != nil {
				t.Fatalf("int64 key %q: %v", text, err)
			}
		}
		parseKeyText[point](text)
		if v, ok := jsonable([]byte(text)).(string); ok && !utf8.ValidString(v) {
			t.Fatalf("jsonable gave invalid UTF-8 for %q", text)
		}
	})
}
