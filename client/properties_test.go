package client

import (
	"reflect"
	"strings"
	"testing"

	"github.com/rivulet-io/rivulet/internal/properties"
)

func TestLoadProperties(t *testing.T) {
	in := "\ufeff# a comment\n" +
		"! another comment\n" +
		"\n" +
		"bootstrap.servers=127.0.0.1:9092\n" +
		"  client.id : tool  \n" +
		"linger.ms 5\n" +
		"sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required \\\n" +
		"    username=\"u\" \\\n" +
		"    password=\"p\";\n" +
		"key\\=with\\:seps=v=1\n" +
		"unicode=caf\\u00e9\n" +
		"empty=\n" +
		"bare\n" +
		"crlf=yes\r\n" +
		"tab=a\\tb\n"
	got, err := LoadProperties(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := Properties{
		"bootstrap.servers": "127.0.0.1:9092",
		"client.id":         "tool  ",
		"linger.ms":         "5",
		"sasl.jaas.config":  `org.apache.kafka.common.security.plain.PlainLoginModule required username="u" password="p";`,
		"key=with:seps":     "v=1",
		"unicode":           "café",
		"empty":             "",
		"bare":              "",
		"crlf":              "yes",
		"tab":               "a\tb",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %#v\nwant %#v", got, want)
	}
}

func TestLoadPropertiesErrors(t *testing.T) {
	for _, in := range []string{
		"=value\n",
		"k=\\u12\n",
		"k=\\uZZZZ\n",
		"a=1\n\n=2\n",
	} {
		if _, err := LoadProperties(strings.NewReader(in)); err == nil {
			t.Errorf("%q: want an error", in)
		} else if !strings.HasPrefix(err.Error(), "client: properties line ") {
			t.Errorf("%q: error %q does not name the line", in, err)
		}
	}
	long := "k=" + strings.Repeat("x", properties.MaxLineBytes+10)
	if _, err := LoadProperties(strings.NewReader(long)); err == nil || !strings.Contains(err.Error(), "longer than") {
		t.Errorf("long line: got %v", err)
	}
}

func TestParseKeyValues(t *testing.T) {
	got, err := ParseKeyValues([]string{"a=1", " b =x=y", "a=2", "c="})
	if err != nil {
		t.Fatal(err)
	}
	want := Properties{"a": "2", "b": "x=y", "c": ""}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v want %v", got, want)
	}
	for _, bad := range []string{"novalue", "=v", ""} {
		if _, err := ParseKeyValues([]string{bad}); err == nil {
			t.Errorf("%q: want an error", bad)
		}
	}
}

func FuzzLoadProperties(f *testing.F) {
	f.Add("a=b\n")
	f.Add("k\\=x : v\\\n  more\n# c\n! d\n")
	f.Add("u=\\u00e9\\t\\n\\\\")
	f.Add("\ufeffa b\r\n")
	f.Fuzz(func(t *testing.T, in string) {
		props, err := LoadProperties(strings.NewReader(in))
		if err != nil {
			if !strings.HasPrefix(err.Error(), "client: ") {
				t.Fatalf("error without package prefix: %v", err)
			}
			return
		}
		for k := range props {
			if k == "" {
				t.Fatalf("empty key from %q", in)
			}
		}
	})
}
