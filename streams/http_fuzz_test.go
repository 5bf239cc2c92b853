package streams

import (
	"net/url"
	"strconv"
	"strings"
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

// FuzzParseQueryParams feeds time parameters to the HTTP endpoint's
// parser: each one parses as epoch ms or RFC 3339, or fails with an error
// naming the parameter; parsed bounds are ordered, and a number reads as
// itself.
func FuzzParseQueryParams(f *testing.F) {
	for _, s := range []string{"", "0", "-5", "60000", "9223372036854775807", "1970-01-01T00:01:00Z", "2026-12-06T05:00:00.123+02:00", "noon", "1e3"} {
		f.Add(s, s)
	}
	f.Fuzz(func(t *testing.T, from, to string) {
		for _, kind := range []queryKind{kindKeyValue, kindVersioned, kindWindow, kindSession} {
			for _, keyRoute := range []bool{true, false} {
				for _, q := range []url.Values{
					{"from": {from}, "to": {to}},
					{"timeFrom": {from}, "timeTo": {to}},
					{"asOf": {from}},
				} {
					p, err := parseQueryParams(kind, keyRoute, q)
					if err != nil {
						if !strings.HasPrefix(err.Error(), "streams: ") {
							t.Fatalf("error without the package: %v", err)
						}
						continue
					}
					if p.timeFrom > p.timeTo {
						t.Fatalf("%v: bounds %d > %d accepted", q, p.timeFrom, p.timeTo)
					}
					if n, perr := strconv.ParseInt(from, 10, 64); perr == nil && kind == kindVersioned && keyRoute && q.Has("asOf") && p.asOf != n {
						t.Fatalf("asOf=%q read as %d", from, p.asOf)
					}
				}
			}
		}
	})
}
