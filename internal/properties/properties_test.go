package properties

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

// javaCases are inputs with the map java.util.Properties.load gives for them (checked against
// OpenJDK's Properties.load(Reader)).
var javaCases = []struct {
	name string
	in   string
	want map[string]string
}{
	{"equals", "a=b\n", map[string]string{"a": "b"}},
	{"colon", "a:b\n", map[string]string{"a": "b"}},
	{"space", "a b\n", map[string]string{"a": "b"}},
	{"tab and form feed", "a\tb\nc\fd\n", map[string]string{"a": "b", "c": "d"}},
	{"spaces around the separator", "  a  =  b\n", map[string]string{"a": "b"}},
	{"space then equals", "a = = b\n", map[string]string{"a": "= b"}},
	{"equals then equals", "a==b\n", map[string]string{"a": "=b"}},
	{"space then colon", "a : b:c\n", map[string]string{"a": "b:c"}},
	{"key value:x splits at the space", "key value:x\n", map[string]string{"key": "value:x"}},
	{"key ends at the first separator", "a=b=c:d e\n", map[string]string{"a": "b=c:d e"}},
	{"trailing whitespace of the value kept", "a=b  \t\n", map[string]string{"a": "b  \t"}},
	{"key alone", "lonely\n", map[string]string{"lonely": ""}},
	{"key and separator alone", "k=\nj:\nl   \n", map[string]string{"k": "", "j": "", "l": ""}},
	{"escaped colon and equals in the key", `a\:b\=c=d` + "\n", map[string]string{"a:b=c": "d"}},
	{"escaped space in the key", `a\ b c` + "\n", map[string]string{"a b": "c"}},
	{"escaped space starts the value", `a=\ b` + "\n", map[string]string{"a": " b"}},
	{"escapes t n r f", `a=1\t2\n3\r4\f5` + "\n", map[string]string{"a": "1\t2\n3\r4\f5"}},
	{"other escapes stand for their character", `a=\q\#\!\\\"` + "\n", map[string]string{"a": `q#!\"`}},
	{"unicode escape", `a=caf\u00e9 \u00E9` + "\n", map[string]string{"a": "café é"}},
	{"unicode escape in the key", `\u006b=v` + "\n", map[string]string{"k": "v"}},
	{"surrogate pair", `a=\ud83d\ude00` + "\n", map[string]string{"a": "😀"}},
	{"utf-8 kept", "ключ=значение\n", map[string]string{"ключ": "значение"}},
	{"comments", "# c\n! d\n  # indented\na=b # not a comment\n", map[string]string{"a": "b # not a comment"}},
	{"comment does not continue", "# c \\\na=b\n", map[string]string{"a": "b"}},
	{"blank lines", "\n\n \t\f\n\r\na=b\n\n", map[string]string{"a": "b"}},
	{"continuation", "a=b\\\n   c\n", map[string]string{"a": "bc"}},
	{"continuation keeps whitespace before the backslash", "a=b \\\n\t c\n", map[string]string{"a": "b c"}},
	{"continuation in the key", "ke\\\n  y=v\n", map[string]string{"key": "v"}},
	{"continuation line is not a comment", "a=b\\\n#c\n", map[string]string{"a": "b#c"}},
	{"empty continuation line ends the line", "a=b\\\n\nc=d\n", map[string]string{"a": "b", "c": "d"}},
	{"blank continuation line ends the line", "a=b\\\n   \nc=d\n", map[string]string{"a": "b", "c": "d"}},
	{"two backslashes are one, no continuation", "a=b\\\\\nc=d\n", map[string]string{"a": `b\`, "c": "d"}},
	{"three backslashes continue", "a=b\\\\\\\n  c\n", map[string]string{"a": `b\c`}},
	{"four backslashes do not", "a=b\\\\\\\\\nc=d\n", map[string]string{"a": `b\\`, "c": "d"}},
	{"continued twice", "a=1\\\n 2\\\n 3\n", map[string]string{"a": "123"}},
	{"backslash at the end of the input", "a=b\\", map[string]string{"a": "b"}},
	{"continuation at the end of the input", "a=b\\\n", map[string]string{"a": "b"}},
	{"no final newline", "a=b", map[string]string{"a": "b"}},
	{"CRLF", "a=b\r\nc=d\r\n", map[string]string{"a": "b", "c": "d"}},
	{"CR alone ends a line", "a=b\rc=d\r", map[string]string{"a": "b", "c": "d"}},
	{"CRLF continuation", "a=b\\\r\n  c\r\n", map[string]string{"a": "bc"}},
	{"CR continuation", "a=b\\\r  c\r", map[string]string{"a": "bc"}},
	{"later key wins", "a=1\na=2\n", map[string]string{"a": "2"}},
	{"byte-order mark", "\ufeffa=b\n", map[string]string{"a": "b"}},
	{"jaas value over lines", "sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required \\\n" +
		"    username=\"u\" \\\n    password=\"p\";\n", map[string]string{
		"sasl.jaas.config": `org.apache.kafka.common.security.plain.PlainLoginModule required username="u" password="p";`}},
	{"empty input", "", map[string]string{}},
	{"only comments", "#a\n!b", map[string]string{}},
}

func TestLoadJavaRules(t *testing.T) {
	for _, tc := range javaCases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Load(strings.NewReader(tc.in))
			if err != nil {
				t.Fatalf("Load(%q): %v", tc.in, err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("Load(%q)\n got %q\nwant %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	for _, tc := range []struct {
		in   string
		line int
		msg  string
	}{
		{"=value\n", 1, "empty key"},
		{"a=1\n\n: b\n", 3, "empty key"},
		{"a=1\nk=\\u12\n", 2, "malformed"},
		{"k=\\uZZZZ\n", 1, "malformed"},
		{"# c\nk=x\\\n  \\u00g0\n", 2, "malformed"},
		{"k=" + strings.Repeat("x", MaxLineBytes+10), 1, "longer than"},
	} {
		_, err := Load(strings.NewReader(tc.in))
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("%.40q: got %v, want a *SyntaxError", tc.in, err)
			continue
		}
		if se.Line != tc.line || !strings.Contains(se.Msg, tc.msg) {
			t.Errorf("%.40q: got line %d %q, want line %d %q", tc.in, se.Line, se.Msg, tc.line, tc.msg)
		}
		if !strings.HasPrefix(err.Error(), "properties line ") {
			t.Errorf("%.40q: error %q does not name the line", tc.in, err)
		}
	}
}

type failingReader struct{ data string }

func (r *failingReader) Read(p []byte) (int, error) {
	if r.data == "" {
		return 0, errors.New("disk on fire")
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

func TestLoadReadError(t *testing.T) {
	_, err := Load(&failingReader{data: "a=b\nc=d"})
	if err == nil || !strings.Contains(err.Error(), "disk on fire") || !strings.HasPrefix(err.Error(), "properties: ") {
		t.Fatalf("got %v, want the reader's error wrapped", err)
	}
}

// FuzzLoad checks that any input gives properties or a line error, never a panic, and that
// what Load returns reads back the same once written out with every character escaped.
func FuzzLoad(f *testing.F) {
	for _, tc := range javaCases {
		f.Add(tc.in)
	}
	f.Add("k=\\u12")
	f.Add("=v")
	f.Fuzz(func(t *testing.T, in string) {
		props, err := Load(strings.NewReader(in))
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) || se.Line < 1 {
				t.Fatalf("Load(%q): error %v is not a *SyntaxError with a line", in, err)
			}
			return
		}
		var out strings.Builder
		for k, v := range props {
			if k == "" {
				t.Fatalf("Load(%q): empty key", in)
			}
			out.WriteString(escapeAll(k) + "=" + escapeAll(v) + "\n")
		}
		back, err := Load(strings.NewReader(out.String()))
		if err != nil {
			t.Fatalf("re-reading %q: %v", out.String(), err)
		}
		if !reflect.DeepEqual(back, props) {
			t.Fatalf("Load(%q) = %q, but its escaped form reads back as %q", in, props, back)
		}
	})
}

// escapeAll writes s with every rune as a \uXXXX escape (two for runes beyond the BMP), which
// Java's rules read back as s whatever it holds. Bytes that are not UTF-8 (never ASCII, so
// never syntax) are written as they are.
func escapeAll(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b.WriteByte(s[i])
			i++
			continue
		}
		i += size
		if r > 0xffff {
			r1, r2 := surrogates(r)
			b.WriteString(uEscape(r1) + uEscape(r2))
			continue
		}
		b.WriteString(uEscape(r))
	}
	return b.String()
}

func surrogates(r rune) (rune, rune) {
	r -= 0x10000
	return 0xd800 + (r>>10)&0x3ff, 0xdc00 + r&0x3ff
}

func uEscape(r rune) string {
	const hex = "0123456789abcdef"
	return `\u` + string([]byte{hex[r>>12&0xf], hex[r>>8&0xf], hex[r>>4&0xf], hex[r&0xf]})
}
