package main

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/vmihailenco/msgpack/v5"
)

func TestParseLine(t *testing.T) {
	type want struct {
		key     *string
		value   *string
		headers string
		err     string
	}
	str := func(s string) *string { return &s }
	cases := []struct {
		name  string
		props map[string]string
		line  string
		want  want
	}{
		{"plain", nil, "hello world", want{value: str("hello world")}},
		{"empty line is an empty value", nil, "", want{value: str("")}},
		{"key", map[string]string{"parse.key": "true", "key.separator": ":"}, "k:v:w", want{key: str("k"), value: str("v:w")}},
		{"default tab separator", map[string]string{"parse.key": "true"}, "k\tv", want{key: str("k"), value: str("v")}},
		{"escaped tab separator", map[string]string{"parse.key": "true", "key.separator": `\t`}, "k\tv", want{key: str("k"), value: str("v")}},
		{"multi-char separator", map[string]string{"parse.key": "true", "key.separator": "=>"}, "a=>b", want{key: str("a"), value: str("b")}},
		{"missing separator", map[string]string{"parse.key": "true", "key.separator": ":"}, "novalue", want{err: `line 7: no key separator ":" found`}},
		{"missing separator ignored", map[string]string{"parse.key": "true", "key.separator": ":", "ignore.error": "true"}, "novalue", want{value: str("novalue")}},
		{"null marker", map[string]string{"parse.key": "true", "key.separator": ":", "null.marker": "NULL"}, "NULL:NULL", want{}},
		{"headers", map[string]string{"parse.headers": "true", "parse.key": "true", "key.separator": ":"}, "h1:v1,h2:v2\tk:v", want{key: str("k"), value: str("v"), headers: "h1=v1;h2=v2;"}},
		{"empty headers", map[string]string{"parse.headers": "true"}, "\tv", want{value: str("v")}},
		{"bad header", map[string]string{"parse.headers": "true"}, "h1\tv", want{err: `header "h1" has no key separator ":"`}},
		{"no headers delimiter", map[string]string{"parse.headers": "true"}, "v", want{err: "no headers delimiter"}},
		{"null header value", map[string]string{"parse.headers": "true", "null.marker": "-"}, "h:-\tv", want{value: str("v"), headers: "h=<nil>;"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := newLineReaderConfig(tc.props)
			if err != nil {
				t.Fatal(err)
			}
			r, err := cfg.parseLine([]byte(tc.line), 7)
			if tc.want.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.want.err) {
					t.Fatalf("err %v, want %q", err, tc.want.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			check := func(what string, got []byte, want *string) {
				if want == nil {
					if got != nil {
						t.Errorf("%s = %q, want null", what, got)
					}
					return
				}
				if got == nil || string(got) != *want {
					t.Errorf("%s = %q (nil %v), want %q", what, got, got == nil, *want)
				}
			}
			check("key", r.Key, tc.want.key)
			check("value", r.Value, tc.want.value)
			var hs strings.Builder
			for _, h := range r.Headers {
				v := string(h.Value)
				if h.Value == nil {
					v = "<nil>"
				}
				hs.WriteString(h.Key + "=" + v + ";")
			}
			if hs.String() != tc.want.headers {
				t.Errorf("headers %q, want %q", hs.String(), tc.want.headers)
			}
		})
	}
}

func TestLineReaderConfigErrors(t *testing.T) {
	for _, props := range []map[string]string{
		{"parse.key": "yes"},
		{"key.separator": ""},
		{"nonsense": "1"},
		{"parse.headers": "true", "headers.separator": ":", "headers.key.separator": ":"},
	} {
		if _, err := newLineReaderConfig(props); err == nil {
			t.Errorf("%v: want an error", props)
		}
	}
}

func TestReadLine(t *testing.T) {
	in := "one\r\ntwo\n\nlast-without-newline"
	br := bufio.NewReaderSize(strings.NewReader(in), 16)
	var got []string
	for {
		b, err := readLine(br)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, string(b))
	}
	if strings.Join(got, "|") != "one|two||last-without-newline" {
		t.Fatalf("got %q", got)
	}

	long := strings.Repeat("x", maxLineBytes+1) + "\nnext\n"
	br = bufio.NewReaderSize(strings.NewReader(long), 64<<10)
	if _, err := readLine(br); !errors.Is(err, errLineTooLong) {
		t.Fatalf("long line: %v", err)
	}
	if b, err := readLine(br); err != nil || string(b) != "next" {
		t.Fatalf("after a long line: %q %v", b, err)
	}
}

func rec(key, value []byte, headers ...kgo.RecordHeader) *kgo.Record {
	return &kgo.Record{Topic: "t", Partition: 2, Offset: 9, Key: key, Value: value, Headers: headers, Timestamp: time.UnixMilli(1700000000000)}
}

func TestMessageFormatter(t *testing.T) {
	be8 := make([]byte, 8)
	binary.BigEndian.PutUint64(be8, uint64(1<<40+7))
	neg := make([]byte, 8)
	binary.BigEndian.PutUint64(neg, uint64(math.MaxUint64)) // -1
	be4 := []byte{0xff, 0xff, 0xff, 0xfe}                   // -2
	dbl := make([]byte, 8)
	binary.BigEndian.PutUint64(dbl, math.Float64bits(2.5))
	mp, _ := msgpack.Marshal(map[string]any{"a": 1, "b": []any{"x", true}})
	mpIntKey, _ := msgpack.Marshal(map[int]string{1: "one"})

	cases := []struct {
		name    string
		props   map[string]string
		kd, vd  string
		r       *kgo.Record
		want    string
		wantErr string
	}{
		{"value only", nil, "string", "string", rec([]byte("k"), []byte("v")), "v\n", ""},
		{"everything", map[string]string{"print.timestamp": "true", "print.partition": "true", "print.offset": "true", "print.headers": "true", "print.key": "true"},
			"string", "string", rec([]byte("k"), []byte("v"), kgo.RecordHeader{Key: "h", Value: []byte("x")}, kgo.RecordHeader{Key: "n"}),
			"CreateTime:1700000000000\tPartition:2\tOffset:9\th:x,n:null\tk\tv\n", ""},
		{"no headers, null key, custom separators", map[string]string{"print.headers": "true", "print.key": "true", "key.separator": " | ", "null.literal": "NIL", "line.separator": `\n\n`},
			"string", "string", rec(nil, nil), "NO_HEADERS | NIL | NIL\n\n", ""},
		{"key without value", map[string]string{"print.key": "true", "print.value": "false"}, "string", "string", rec([]byte("k"), []byte("v")), "k\n", ""},
		{"int64", map[string]string{"print.key": "true"}, "string", "int64", rec([]byte("w"), be8), "w\t1099511627783\n", ""},
		{"negative long by class name", nil, "string", "org.apache.kafka.common.serialization.LongDeserializer", rec(nil, neg), "-1\n", ""},
		{"int32", nil, "string", "integer", rec(nil, be4), "-2\n", ""},
		{"double", nil, "string", "double", rec(nil, dbl), "2.5\n", ""},
		{"json compacted", nil, "string", "json", rec(nil, []byte("{ \"a\" :\n [1, 2] }")), "{\"a\":[1,2]}\n", ""},
		{"msgpack", nil, "string", "msgpack", rec(nil, mp), `{"a":1,"b":["x",true]}` + "\n", ""},
		{"msgpack int keys", nil, "string", "msgpack", rec(nil, mpIntKey), `{"1":"one"}` + "\n", ""},
		{"bad int64", nil, "string", "int64", rec(nil, []byte("abc")), "", "t[2] offset 9: value: int64: want 8 bytes, got 3"},
		{"bad json", nil, "string", "json", rec(nil, []byte("{")), "", "value: json"},
		{"bad msgpack key", map[string]string{"print.key": "true"}, "msgpack", "string", rec([]byte{0xc1}, []byte("v")), "", "key: msgpack"},
		{"msgpack trailing bytes", nil, "string", "msgpack", rec(nil, append(append([]byte{}, mp...), 0x01)), "", "trailing bytes"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f, err := newMessageFormatter(tc.props, tc.kd, tc.vd)
			if err != nil {
				t.Fatal(err)
			}
			prefix := []byte("PREFIX")
			got, err := f.format(prefix, tc.r)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want %q", err, tc.wantErr)
				}
				if string(got) != "PREFIX" {
					t.Fatalf("a failed format must leave dst as it was, got %q", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != "PREFIX"+tc.want {
				t.Fatalf("got %q, want %q", got[len(prefix):], tc.want)
			}
		})
	}
}

func TestMessageFormatterErrors(t *testing.T) {
	if _, err := newMessageFormatter(nil, "avro", "string"); err == nil || !strings.Contains(err.Error(), "--key-deserializer") {
		t.Errorf("unknown key deserializer: %v", err)
	}
	if _, err := newMessageFormatter(map[string]string{"print.keys": "true"}, "string", "string"); err == nil || !strings.Contains(err.Error(), `unknown property "print.keys"`) {
		t.Errorf("unknown property: %v", err)
	}
	if _, err := newMessageFormatter(map[string]string{"print.key": "maybe"}, "string", "string"); err == nil {
		t.Error("bad bool accepted")
	}
}

func FuzzParseLine(f *testing.F) {
	f.Add([]byte("h1:v1,h2:v2\tk:v"), true, true, ":")
	f.Add([]byte("k:v"), true, false, ":")
	f.Add([]byte(""), false, true, "\t")
	f.Fuzz(func(t *testing.T, line []byte, parseKey, parseHeaders bool, sep string) {
		props := map[string]string{"parse.key": "false", "parse.headers": "false", "null.marker": "NULL"}
		if parseKey {
			props["parse.key"] = "true"
		}
		if parseHeaders {
			props["parse.headers"] = "true"
		}
		if sep != "" {
			props["key.separator"] = sep
		}
		cfg, err := newLineReaderConfig(props)
		if err != nil {
			return
		}
		r, err := cfg.parseLine(line, 1)
		if err != nil {
			return
		}
		// Nothing is lost: the parts account for every byte of the line.
		n := len(r.Key) + len(r.Value)
		for _, h := range r.Headers {
			n += len(h.Key) + len(h.Value)
		}
		if n > len(line) {
			t.Fatalf("parts longer than the line: %d > %d", n, len(line))
		}
	})
}

func FuzzFormat(f *testing.F) {
	mp, _ := msgpack.Marshal(map[string]any{"a": []any{1.5, "x", map[int]bool{1: true}}})
	f.Add([]byte("key"), mp, "msgpack")
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 1}, []byte(`{"a":1}`), "json")
	f.Add([]byte{}, []byte{1, 2, 3, 4}, "int32")
	f.Add([]byte{0xff}, []byte{0x7f, 0xf8, 0, 0, 0, 0, 0, 1}, "double")
	f.Fuzz(func(t *testing.T, key, value []byte, deser string) {
		if _, err := deserializerFor(deser); err != nil {
			deser = "msgpack"
		}
		fm, err := newMessageFormatter(map[string]string{"print.key": "true", "print.headers": "true"}, deser, deser)
		if err != nil {
			t.Fatal(err)
		}
		out, err := fm.format(nil, rec(key, value, kgo.RecordHeader{Key: "h", Value: value}))
		if err == nil && len(out) == 0 {
			t.Fatal("empty output without an error")
		}
	})
}

// Hostile msgpack values get an error, not a panic, a huge allocation or a stack overflow.
func TestDecodeMsgpackHostile(t *testing.T) {
	deep := bytes.Repeat([]byte{0x91}, 100000) // 100000 nested one-element arrays
	deep = append(deep, 0x01)
	for name, in := range map[string][]byte{
		"map key":        []byte("\x81\x80\x01"),             // {{}: 1}
		"array32 length": []byte("\xdd\xdd\xdd\xdd\xdd\x01"), // 3.7G elements in 1 byte
		"map32 length":   []byte("\xdf\xff\xff\xff\xff\x01"),
		"deep nesting":   deep,
	} {
		out, err := decodeMsgpack(in)
		if name == "map key" {
			if err != nil || string(out) != `{"map[]":1}` {
				t.Errorf("%s: got %s, %v; want {\"map[]\":1}", name, out, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("%s: decoded to %q, want an error", name, out)
		}
	}
}
