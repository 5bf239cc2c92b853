package client

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"unicode"
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

// maxPropertiesLine bounds one logical line of a properties file, so a file without newlines
// (a binary given by mistake) fails with a clear error instead of filling memory.
const maxPropertiesLine = 1 << 20

// LoadProperties reads a Java .properties file (the format of Kafka's producer.properties,
// consumer.properties and --command-config files): "key=value", "key: value" or "key value"
// lines; '#' and '!' start comments; a line ending in an odd number of backslashes continues
// on the next line; the escapes \t \n \r \f \\ \= \: \# \! \<space> and \uXXXX are understood.
// Errors name the line.
func LoadProperties(r io.Reader) (Properties, error) {
	props := make(Properties)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxPropertiesLine)
	lineNo, startLine := 0, 0
	var logical strings.Builder
	continuing := false
	for sc.Scan() {
		lineNo++
		line := sc.Text()
		if lineNo == 1 {
			line = strings.TrimPrefix(line, "\ufeff")
		}
		if continuing {
			line = strings.TrimLeftFunc(line, unicode.IsSpace)
		} else {
			trimmed := strings.TrimLeftFunc(line, unicode.IsSpace)
			if trimmed == "" || trimmed[0] == '#' || trimmed[0] == '!' {
				continue
			}
			line = trimmed
			startLine = lineNo
			logical.Reset()
		}
		line = strings.TrimRight(line, "\r")
		if endsInContinuation(line) {
			logical.WriteString(line[:len(line)-1])
			continuing = true
			continue
		}
		logical.WriteString(line)
		continuing = false
		k, v, err := splitPropertyLine(logical.String())
		if err != nil {
			return nil, fmt.Errorf("client: properties line %d: %w", startLine, err)
		}
		props[k] = v
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, fmt.Errorf("client: properties line %d: longer than %d bytes", lineNo+1, maxPropertiesLine)
		}
		return nil, fmt.Errorf("client: reading properties: %w", err)
	}
	if continuing {
		k, v, err := splitPropertyLine(logical.String())
		if err != nil {
			return nil, fmt.Errorf("client: properties line %d: %w", startLine, err)
		}
		props[k] = v
	}
	return props, nil
}

func endsInContinuation(line string) bool {
	n := 0
	for i := len(line) - 1; i >= 0 && line[i] == '\\'; i-- {
		n++
	}
	return n%2 == 1
}

// splitPropertyLine splits a logical line at the first unescaped '=', ':' or whitespace, as
// java.util.Properties does, and unescapes both halves.
func splitPropertyLine(line string) (string, string, error) {
	sep := -1
	for i := 0; i < len(line); i++ {
		c := line[i]
		if c == '\\' {
			i++
			continue
		}
		if c == '=' || c == ':' || c == ' ' || c == '\t' || c == '\f' {
			sep = i
			break
		}
	}
	rawKey, rawValue := line, ""
	if sep >= 0 {
		rawKey = line[:sep]
		rest := line[sep:]
		// Skip whitespace, then at most one '=' or ':', then whitespace again.
		rest = strings.TrimLeft(rest, " \t\f")
		if rest != "" && (rest[0] == '=' || rest[0] == ':') {
			rest = rest[1:]
		}
		rawValue = strings.TrimLeft(rest, " \t\f")
	}
	key, err := unescapeProperty(rawKey)
	if err != nil {
		return "", "", err
	}
	if key == "" {
		return "", "", errors.New("empty key")
	}
	value, err := unescapeProperty(rawValue)
	if err != nil {
		return "", "", fmt.Errorf("key %q: %w", key, err)
	}
	return key, value, nil
}

func unescapeProperty(s string) (string, error) {
	if !strings.Contains(s, `\`) {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' {
			b.WriteByte(c)
			continue
		}
		i++
		if i >= len(s) {
			break // a lone trailing backslash means nothing
		}
		switch c = s[i]; c {
		case 't':
			b.WriteByte('\t')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 'f':
			b.WriteByte('\f')
		case 'u':
			if i+4 >= len(s) {
				return "", fmt.Errorf("malformed \\u escape in %q", s)
			}
			var r rune
			for j := 1; j <= 4; j++ {
				h := s[i+j]
				switch {
				case h >= '0' && h <= '9':
					r = r<<4 | rune(h-'0')
				case h >= 'a' && h <= 'f':
					r = r<<4 | rune(h-'a'+10)
				case h >= 'A' && h <= 'F':
					r = r<<4 | rune(h-'A'+10)
				default:
					return "", fmt.Errorf("malformed \\u escape in %q", s)
				}
			}
			b.WriteRune(r)
			i += 4
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}
