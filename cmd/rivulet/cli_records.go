package main

// Reading records from text lines (produce) and writing records as text (consume), with the
// property names of Kafka's LineMessageReader and DefaultMessageFormatter.

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/vmihailenco/msgpack/v5"
	"github.com/vmihailenco/msgpack/v5/msgpcode"
)

// unescapeSeparator turns \t, \n, \r and \\ in a separator property into the characters, so
// `--property key.separator=\t` means a tab without shell quoting tricks.
func unescapeSeparator(s string) string {
	return strings.NewReplacer(`\t`, "\t", `\n`, "\n", `\r`, "\r", `\\`, `\`).Replace(s)
}

func parseBoolProperty(key, v string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, fmt.Errorf("property %s=%q: want true or false", key, v)
}

// lineReaderConfig is kafka-console-producer.sh's --property set (LineMessageReader).
type lineReaderConfig struct {
	parseKey         bool
	keySeparator     string
	parseHeaders     bool
	headersDelimiter string
	headersSeparator string
	headersKeySep    string
	nullMarker       string
	hasNullMarker    bool
	ignoreError      bool
}

func defaultLineReaderConfig() lineReaderConfig {
	return lineReaderConfig{
		keySeparator:     "\t",
		headersDelimiter: "\t",
		headersSeparator: ",",
		headersKeySep:    ":",
	}
}

var lineReaderProperties = []string{"parse.key", "key.separator", "parse.headers", "headers.delimiter", "headers.separator", "headers.key.separator", "null.marker", "ignore.error"}

func newLineReaderConfig(props map[string]string) (lineReaderConfig, error) {
	c := defaultLineReaderConfig()
	err := applyProperties(props, lineReaderProperties, map[string]propertySetter{
		"parse.key": boolProperty(&c.parseKey), "parse.headers": boolProperty(&c.parseHeaders), "ignore.error": boolProperty(&c.ignoreError),
		"key.separator": separatorProperty(&c.keySeparator), "headers.delimiter": separatorProperty(&c.headersDelimiter),
		"headers.separator": separatorProperty(&c.headersSeparator), "headers.key.separator": separatorProperty(&c.headersKeySep),
		"null.marker": func(_, v string) error { c.nullMarker, c.hasNullMarker = v, true; return nil },
	})
	if err != nil {
		return c, err
	}
	for name, sep := range map[string]string{"key.separator": c.keySeparator, "headers.delimiter": c.headersDelimiter, "headers.separator": c.headersSeparator, "headers.key.separator": c.headersKeySep} {
		if sep == "" {
			return c, fmt.Errorf("property %s must not be empty", name)
		}
	}
	if c.parseHeaders && c.headersSeparator == c.headersKeySep {
		return c, errors.New("headers.separator and headers.key.separator must differ")
	}
	return c, nil
}

// propertySetter applies one property's value to the setting it names.
type propertySetter func(key, value string) error

func boolProperty(dst *bool) propertySetter {
	return func(k, v string) (err error) {
		*dst, err = parseBoolProperty(k, v)
		return err
	}
}

func separatorProperty(dst *string) propertySetter {
	return func(_, v string) error {
		*dst = unescapeSeparator(v)
		return nil
	}
}

// applyProperties applies props in key order through setters; known lists the accepted
// keys, in the order an unknown key's error names them.
func applyProperties(props map[string]string, known []string, setters map[string]propertySetter) error {
	for _, k := range sortedKeys(props) {
		set, ok := setters[k]
		if !ok {
			return fmt.Errorf("unknown property %q (known: %s)", k, strings.Join(known, ", "))
		}
		if err := set(k, props[k]); err != nil {
			return err
		}
	}
	return nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// parseLine turns one input line (without its line ending) into a record, as Kafka's
// LineMessageReader does: [headers<headers.delimiter>][key<key.separator>]value. lineNo is
// for error messages. The record's slices are copies, so line may be reused.
func (c lineReaderConfig) parseLine(line []byte, lineNo int) (*kgo.Record, error) {
	r := &kgo.Record{}
	rest := line
	if c.parseHeaders {
		i := bytes.Index(rest, []byte(c.headersDelimiter))
		switch {
		case i >= 0:
			hs, err := c.parseHeaderList(rest[:i], lineNo)
			if err != nil {
				return nil, err
			}
			r.Headers = hs
			rest = rest[i+len(c.headersDelimiter):]
		case !c.ignoreError:
			return nil, fmt.Errorf("line %d: no headers delimiter %q found (parse.headers=true)", lineNo, c.headersDelimiter)
		}
	}
	if c.parseKey {
		i := bytes.Index(rest, []byte(c.keySeparator))
		switch {
		case i >= 0:
			r.Key = c.nullable(rest[:i])
			rest = rest[i+len(c.keySeparator):]
		case !c.ignoreError:
			return nil, fmt.Errorf("line %d: no key separator %q found (parse.key=true)", lineNo, c.keySeparator)
		}
	}
	r.Value = c.nullable(rest)
	return r, nil
}

func (c lineReaderConfig) nullable(b []byte) []byte {
	if c.hasNullMarker && string(b) == c.nullMarker {
		return nil
	}
	return append([]byte{}, b...) // non-nil even when empty: an empty value is not a null one
}

func (c lineReaderConfig) parseHeaderList(b []byte, lineNo int) ([]kgo.RecordHeader, error) {
	if len(b) == 0 {
		return nil, nil
	}
	var hs []kgo.RecordHeader
	for _, pair := range bytes.Split(b, []byte(c.headersSeparator)) {
		i := bytes.Index(pair, []byte(c.headersKeySep))
		if i < 0 {
			return nil, fmt.Errorf("line %d: header %q has no key separator %q", lineNo, pair, c.headersKeySep)
		}
		key := string(pair[:i])
		if c.hasNullMarker && key == c.nullMarker {
			return nil, fmt.Errorf("line %d: a header key must not be the null marker", lineNo)
		}
		hs = append(hs, kgo.RecordHeader{Key: key, Value: c.nullable(pair[i+len(c.headersKeySep):])})
	}
	return hs, nil
}

// deserializer turns record bytes into text for the console.
type deserializer func([]byte) ([]byte, error)

var deserializerNames = "string, bytes, int64 (long), int32 (integer), double, json, msgpack"

// deserializerFor accepts short names and Kafka's class names.
func deserializerFor(name string) (deserializer, error) {
	n := strings.TrimPrefix(name, "org.apache.kafka.common.serialization.")
	switch strings.ToLower(n) {
	case "string", "stringdeserializer":
		return func(b []byte) ([]byte, error) { return b, nil }, nil
	case "bytes", "bytearraydeserializer", "bytesdeserializer":
		return func(b []byte) ([]byte, error) { return b, nil }, nil
	case "int64", "long", "longdeserializer":
		return func(b []byte) ([]byte, error) {
			if len(b) != 8 {
				return nil, fmt.Errorf("int64: want 8 bytes, got %d", len(b))
			}
			return strconv.AppendInt(nil, int64(binary.BigEndian.Uint64(b)), 10), nil
		}, nil
	case "int32", "integer", "int", "integerdeserializer":
		return func(b []byte) ([]byte, error) {
			if len(b) != 4 {
				return nil, fmt.Errorf("int32: want 4 bytes, got %d", len(b))
			}
			return strconv.AppendInt(nil, int64(int32(binary.BigEndian.Uint32(b))), 10), nil
		}, nil
	case "double", "doubledeserializer":
		return func(b []byte) ([]byte, error) {
			if len(b) != 8 {
				return nil, fmt.Errorf("double: want 8 bytes, got %d", len(b))
			}
			return strconv.AppendFloat(nil, math.Float64frombits(binary.BigEndian.Uint64(b)), 'g', -1, 64), nil
		}, nil
	case "json":
		return func(b []byte) ([]byte, error) {
			var out bytes.Buffer
			if err := json.Compact(&out, b); err != nil {
				return nil, fmt.Errorf("json: %w", err)
			}
			return out.Bytes(), nil
		}, nil
	case "msgpack":
		return decodeMsgpack, nil
	}
	return nil, fmt.Errorf("unknown deserializer %q (want %s)", name, deserializerNames)
}

// decodeMsgpack prints a msgpack value as JSON; map keys that are not strings are printed with
// fmt, since JSON keys must be strings.
func decodeMsgpack(b []byte) ([]byte, error) {
	r := bytes.NewReader(b)
	dec := msgpack.NewDecoder(r)
	v, err := decodeMsgpackValue(dec, r, 0)
	if err != nil {
		return nil, fmt.Errorf("msgpack: %w", err)
	}
	if _, err := dec.PeekCode(); err != io.EOF {
		return nil, errors.New("msgpack: trailing bytes after the value")
	}
	out, err := json.Marshal(jsonable(v))
	if err != nil {
		return nil, fmt.Errorf("msgpack: %w", err)
	}
	return out, nil
}

// maxMsgpackDepth bounds the nesting of arrays and maps in a value printed by the console
// consumer (a record of a few bytes per level could otherwise exhaust the stack).
const maxMsgpackDepth = 512

// decodeMsgpackValue decodes one msgpack value for printing. Arrays and maps are decoded here
// rather than by the msgpack library because the library sizes a slice by the length the
// input declares (a 5-byte value could ask for 4G elements) and puts map keys in a Go map
// (a map or array key panics); here every declared length is checked against the bytes left,
// and map keys become JSON strings: a string key is kept, any other key is printed (fmt).
// The rest (numbers, strings, binary, timestamps) goes to the library, whose byte reads are
// bounded by the input.
func decodeMsgpackValue(d *msgpack.Decoder, r *bytes.Reader, depth int) (any, error) {
	c, err := d.PeekCode()
	if err != nil {
		return nil, err
	}
	isArray := msgpcode.IsFixedArray(c) || c == msgpcode.Array16 || c == msgpcode.Array32
	isMap := msgpcode.IsFixedMap(c) || c == msgpcode.Map16 || c == msgpcode.Map32
	if !isArray && !isMap {
		return d.DecodeInterface()
	}
	if depth >= maxMsgpackDepth {
		return nil, fmt.Errorf("value nested deeper than %d arrays and maps", maxMsgpackDepth)
	}
	if isArray {
		n, err := d.DecodeArrayLen()
		if err != nil || n < 0 {
			return nil, err
		}
		if n > r.Len() { // every element takes at least one byte
			return nil, fmt.Errorf("array of %d elements in %d remaining bytes", n, r.Len())
		}
		out := make([]any, 0, n)
		for range n {
			v, err := decodeMsgpackValue(d, r, depth+1)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	}
	n, err := d.DecodeMapLen()
	if err != nil || n < 0 {
		return nil, err
	}
	if n > r.Len()/2 { // every entry takes at least two bytes
		return nil, fmt.Errorf("map of %d entries in %d remaining bytes", n, r.Len())
	}
	m := make(map[string]any, n)
	for range n {
		k, err := decodeMsgpackValue(d, r, depth+1)
		if err != nil {
			return nil, err
		}
		v, err := decodeMsgpackValue(d, r, depth+1)
		if err != nil {
			return nil, err
		}
		switch x := k.(type) {
		case string:
			m[x] = v
		case []byte:
			m[string(x)] = v
		default:
			m[fmt.Sprint(jsonable(k))] = v
		}
	}
	return m, nil
}

func jsonable(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = jsonable(e)
		}
		return x
	case map[any]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[fmt.Sprint(k)] = jsonable(e)
		}
		return m
	case []any:
		for i, e := range x {
			x[i] = jsonable(e)
		}
		return x
	case []byte:
		return string(x)
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return fmt.Sprint(x)
		}
		return x
	case float32:
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return fmt.Sprint(x)
		}
		return x
	}
	return v
}

// messageFormatter is kafka-console-consumer.sh's DefaultMessageFormatter.
type messageFormatter struct {
	printTimestamp, printPartition, printOffset, printHeaders, printKey, printValue bool

	keySeparator, lineSeparator       string
	headersSeparator, headersKeySep   string
	nullLiteral                       string
	keyDeser, valueDeser, headerDeser deserializer
	keyDeserName, valueDeserName      string
}

var formatterProperties = []string{"print.timestamp", "print.partition", "print.offset", "print.headers", "print.key", "print.value", "key.separator", "line.separator", "headers.separator", "headers.key.separator", "null.literal", "headers.deserializer"}

func newMessageFormatter(props map[string]string, keyDeser, valueDeser string) (*messageFormatter, error) {
	f := &messageFormatter{
		printValue:       true,
		keySeparator:     "\t",
		lineSeparator:    "\n",
		headersSeparator: ",",
		headersKeySep:    ":",
		nullLiteral:      "null",
	}
	var err error
	if f.keyDeser, err = deserializerFor(keyDeser); err != nil {
		return nil, fmt.Errorf("--key-deserializer: %w", err)
	}
	if f.valueDeser, err = deserializerFor(valueDeser); err != nil {
		return nil, fmt.Errorf("--value-deserializer: %w", err)
	}
	f.headerDeser, _ = deserializerFor("string")
	f.keyDeserName, f.valueDeserName = keyDeser, valueDeser
	err = applyProperties(props, formatterProperties, map[string]propertySetter{
		"print.timestamp": boolProperty(&f.printTimestamp), "print.partition": boolProperty(&f.printPartition), "print.offset": boolProperty(&f.printOffset),
		"print.headers": boolProperty(&f.printHeaders), "print.key": boolProperty(&f.printKey), "print.value": boolProperty(&f.printValue),
		"key.separator": separatorProperty(&f.keySeparator), "line.separator": separatorProperty(&f.lineSeparator),
		"headers.separator": separatorProperty(&f.headersSeparator), "headers.key.separator": separatorProperty(&f.headersKeySep),
		"null.literal":         func(_, v string) error { f.nullLiteral = v; return nil },
		"headers.deserializer": func(_, v string) (err error) { f.headerDeser, err = deserializerFor(v); return err },
	})
	if err != nil {
		return nil, err
	}
	return f, nil
}

// format appends one record's text to dst. An error (a value the deserializer refuses) leaves
// dst as it was.
func (f *messageFormatter) format(dst []byte, r *kgo.Record) ([]byte, error) {
	start := len(dst)
	fail := func(what string, err error) ([]byte, error) {
		return dst[:start], fmt.Errorf("%s[%d] offset %d: %s: %w", r.Topic, r.Partition, r.Offset, what, err)
	}
	// field appends b as deser prints it, or the null literal for a null b.
	field := func(b []byte, deser deserializer) error {
		if b == nil {
			dst = append(dst, f.nullLiteral...)
			return nil
		}
		v, err := deser(b)
		if err != nil {
			return err
		}
		dst = append(dst, v...)
		return nil
	}
	sep := func(more bool) {
		if more {
			dst = append(dst, f.keySeparator...)
		}
	}
	if f.printTimestamp {
		if r.Timestamp.IsZero() {
			dst = append(dst, "NO_TIMESTAMP"...)
		} else {
			if r.Attrs.TimestampType() == 1 {
				dst = append(dst, "LogAppendTime:"...)
			} else {
				dst = append(dst, "CreateTime:"...)
			}
			dst = strconv.AppendInt(dst, r.Timestamp.UnixMilli(), 10)
		}
		sep(f.printPartition || f.printOffset || f.printHeaders || f.printKey || f.printValue)
	}
	if f.printPartition {
		dst = append(dst, "Partition:"...)
		dst = strconv.AppendInt(dst, int64(r.Partition), 10)
		sep(f.printOffset || f.printHeaders || f.printKey || f.printValue)
	}
	if f.printOffset {
		dst = append(dst, "Offset:"...)
		dst = strconv.AppendInt(dst, r.Offset, 10)
		sep(f.printHeaders || f.printKey || f.printValue)
	}
	if f.printHeaders {
		if len(r.Headers) == 0 {
			dst = append(dst, "NO_HEADERS"...)
		}
		for i, h := range r.Headers {
			if i > 0 {
				dst = append(dst, f.headersSeparator...)
			}
			dst = append(dst, h.Key...)
			dst = append(dst, f.headersKeySep...)
			if err := field(h.Value, f.headerDeser); err != nil {
				return fail("header "+h.Key, err)
			}
		}
		sep(f.printKey || f.printValue)
	}
	if f.printKey {
		if err := field(r.Key, f.keyDeser); err != nil {
			return fail("key", err)
		}
		sep(f.printValue)
	}
	if f.printValue {
		if err := field(r.Value, f.valueDeser); err != nil {
			return fail("value", err)
		}
	}
	dst = append(dst, f.lineSeparator...)
	return dst, nil
}
