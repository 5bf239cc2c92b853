package client

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/rivulet-io/rivulet/internal/properties"
)

// Properties are Kafka client properties by their Kafka names ("bootstrap.servers",
// "linger.ms", ...), as in a Java client's .properties file. Values are strings, parsed and
// validated by [Parse].
type Properties map[string]string

// Clone returns a copy of p that shares nothing with it.
func (p Properties) Clone() Properties {
	out := make(Properties, len(p))
	for k, v := range p {
		out[k] = v
	}
	return out
}

// Merge returns a copy of p with every entry of over set on top.
func (p Properties) Merge(over Properties) Properties {
	out := p.Clone()
	for k, v := range over {
		out[k] = v
	}
	return out
}

// Keys returns the property names in p, sorted.
func (p Properties) Keys() []string {
	keys := make([]string, 0, len(p))
	for k := range p {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// ParseKeyValue splits "key=value" (the form of --producer-property and friends) into its
// parts. The key is trimmed of spaces; the value is kept as given, so it may contain '='.
func ParseKeyValue(s string) (key, value string, err error) {
	k, v, ok := strings.Cut(s, "=")
	k = strings.TrimSpace(k)
	if !ok || k == "" {
		return "", "", fmt.Errorf("client: property %q: want key=value", s)
	}
	return k, v, nil
}

// ParseKeyValues turns a list of "key=value" strings into Properties. A key given twice keeps
// its last value, as Kafka's tools do.
func ParseKeyValues(kvs []string) (Properties, error) {
	props := make(Properties, len(kvs))
	for _, kv := range kvs {
		k, v, err := ParseKeyValue(kv)
		if err != nil {
			return nil, err
		}
		props[k] = v
	}
	return props, nil
}

// LoadProperties reads a Java .properties file (the format of Kafka's producer.properties,
// consumer.properties and --command-config files) with java.util.Properties' rules:
// "key=value", "key: value" or "key value" lines; '#' and '!' start comments; a line ending in
// an odd number of backslashes continues on the next line; the escapes \t \n \r \f \uXXXX and
// a backslash before any other character (\= \: \<space> \\) are understood; values keep
// their trailing whitespace. An empty key is an error. Errors name the line.
func LoadProperties(r io.Reader) (Properties, error) {
	props, err := properties.Load(r)
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	return Properties(props), nil
}
