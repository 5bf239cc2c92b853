// Package properties reads Java .properties files (Kafka's server.properties,
// producer.properties, consumer.properties, --command-config files) with the syntax of
// java.util.Properties.load, so the broker and the clients read one file the same way, and
// the same way a Kafka broker or Java client would.
//
// It is not a writer, and it does not interpret values: callers parse and validate them.
//
// # Syntax
//
// A file is a sequence of logical lines. A physical line ends at "\n", "\r" or "\r\n".
//
//   - Leading spaces, tabs and form feeds of a line are ignored; blank lines are skipped.
//   - A line whose first non-blank character is '#' or '!' is a comment, to its end; a
//     comment never continues onto the next line.
//   - A line ending in an odd number of backslashes continues on the next physical line: the
//     last backslash is dropped, and so are the spaces, tabs and form feeds that start the
//     next line. An even number does not continue the line (each "\\" pair is one
//     backslash). At the end of the input, an odd last backslash is dropped.
//   - The key runs to the first unescaped '=', ':', space, tab or form feed. The value starts
//     after any whitespace that follows, and, if the key ended at whitespace, after at most one
//     '=' or ':' and whitespace again. So "key value:x" is key "key", value "value:x"; "a = = b"
//     is key "a", value "= b". Trailing whitespace of the value is kept, as in Java.
//   - In keys and values, "\t", "\n", "\r" and "\f" are tab, newline, carriage return and form
//     feed; "\uXXXX" (exactly four hex digits) is a UTF-16 code unit, and a surrogate pair of
//     two such escapes is one character; a backslash before any other character stands for
//     that character ("\:", "\=", "\ ", "\#", "\\").
//   - A key given twice keeps its last value.
//
// Where this package differs from Java, on purpose:
//
//   - The input is UTF-8 (as Properties.load(Reader) with a UTF-8 reader), not ISO 8859-1;
//     a leading byte-order mark is ignored. "\uXXXX" escapes read the same either way.
//   - An empty key ("=value") is an error: in a Kafka config it is always a mistake.
//   - A lone surrogate from a "\uXXXX" escape becomes U+FFFD, since a Go string holds UTF-8.
//   - A logical line longer than [MaxLineBytes] is an error, so a file without newlines (a
//     binary given by mistake) cannot fill memory.
//
// Read [Load] first.
package properties

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// MaxLineBytes bounds one logical line (continuations included).
const MaxLineBytes = 1 << 20

// SyntaxError is a line Load cannot read. Line is the first physical line (counting from 1)
// of the logical line at fault. Its text is "properties line N: ...", so a caller prefixes
// its own package name ("client: properties line 3: empty key").
type SyntaxError struct {
	Line int
	Msg  string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("properties line %d: %s", e.Line, e.Msg)
}

// Load reads r to its end and returns its properties. Errors are a *SyntaxError for a line
// that cannot be read (nothing is returned then) or a wrapped error of r.
func Load(r io.Reader) (map[string]string, error) {
	props := make(map[string]string)
	lr := lineReader{r: bufio.NewReader(r), line: 1}
	for {
		raw, start, err := lr.next()
		if err != nil {
			return nil, err
		}
		if raw == nil {
			return props, nil
		}
		k, v, err := splitLine(raw)
		if err != nil {
			return nil, &SyntaxError{Line: start, Msg: err.Error()}
		}
		props[k] = v
	}
}

// lineReader turns physical lines into logical ones: comments and blank lines skipped,
// continuations joined, escapes still in place.
type lineReader struct {
	r    *bufio.Reader
	line int // the physical line the next byte is on
	bom  bool
	buf  []byte
}

// readByte returns the next byte, or ok=false at the end of the input.
func (lr *lineReader) readByte() (byte, bool, error) {
	c, err := lr.r.ReadByte()
	if err == io.EOF {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("properties: reading: %w", err)
	}
	return c, true, nil
}

// endLine is called after c ('\r' or '\n') ended a physical line: a "\r\n" pair is one end.
func (lr *lineReader) endLine(c byte) error {
	lr.line++
	if c != '\r' {
		return nil
	}
	next, err := lr.r.Peek(1)
	if err == nil && next[0] == '\n' {
		_, _ = lr.r.ReadByte()
		return nil
	}
	if err != nil && err != io.EOF {
		return fmt.Errorf("properties: reading: %w", err)
	}
	return nil
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' || c == '\f' }

// next returns the next logical line and the physical line it starts on, or nil at the end.
func (lr *lineReader) next() ([]byte, int, error) {
	if !lr.bom {
		lr.bom = true
		if b, err := lr.r.Peek(3); err == nil && string(b) == "\ufeff" {
			_, _ = lr.r.Discard(3)
		}
	}
	lr.buf = lr.buf[:0]
	var c byte
	var start int
line:
	for {
		// Skip blank lines and comments up to the first byte of a logical line.
		for {
			b, ok, err := lr.readByte()
			if err != nil || !ok {
				return nil, 0, err
			}
			switch {
			case isBlank(b):
				continue
			case b == '\r' || b == '\n':
				if err := lr.endLine(b); err != nil {
					return nil, 0, err
				}
				continue
			case b == '#' || b == '!':
				if err := lr.skipComment(); err != nil {
					return nil, 0, err
				}
				continue
			}
			c = b
			break
		}
		start = lr.line
		trailing := 0 // backslashes in a row at the end of the current physical line
		for {
			if c == '\r' || c == '\n' {
				if err := lr.endLine(c); err != nil {
					return nil, 0, err
				}
				if trailing%2 == 0 {
					return lr.buf, start, nil
				}
				lr.buf = lr.buf[:len(lr.buf)-1]
				trailing = 0
				if len(lr.buf) == 0 {
					// A line holding only a continuation: as in Java, what follows starts
					// afresh (it may be blank or a comment).
					continue line
				}
				// The continuation line's leading whitespace is dropped; it is never a
				// comment, and if it is empty the logical line ends with it.
				for {
					b, ok, err := lr.readByte()
					if err != nil {
						return nil, 0, err
					}
					if !ok {
						return lr.buf, start, nil
					}
					if !isBlank(b) {
						c = b
						break
					}
				}
				continue
			}
			if len(lr.buf) >= MaxLineBytes {
				return nil, 0, &SyntaxError{Line: start, Msg: fmt.Sprintf("longer than %d bytes", MaxLineBytes)}
			}
			lr.buf = append(lr.buf, c)
			if c == '\\' {
				trailing++
			} else {
				trailing = 0
			}
			b, ok, err := lr.readByte()
			if err != nil {
				return nil, 0, err
			}
			if !ok {
				if trailing%2 == 1 {
					lr.buf = lr.buf[:len(lr.buf)-1]
				}
				return lr.buf, start, nil
			}
			c = b
		}
	}
}

// skipComment consumes the rest of a comment line, its line end included.
func (lr *lineReader) skipComment() error {
	for {
		b, ok, err := lr.readByte()
		if err != nil || !ok {
			return err
		}
		if b == '\r' || b == '\n' {
			return lr.endLine(b)
		}
	}
}

// splitLine splits a logical line into its unescaped key and value.
func splitLine(line []byte) (string, string, error) {
	keyEnd, valueStart := len(line), len(line)
	hasSep := false
	escaped := false
	for i, c := range line {
		if !escaped {
			if c == '=' || c == ':' {
				keyEnd, valueStart, hasSep = i, i+1, true
				break
			}
			if isBlank(c) {
				keyEnd, valueStart = i, i+1
				break
			}
		}
		escaped = c == '\\' && !escaped
	}
	for valueStart < len(line) {
		c := line[valueStart]
		if !isBlank(c) {
			if hasSep || (c != '=' && c != ':') {
				break
			}
			hasSep = true
		}
		valueStart++
	}
	key, err := unescape(line[:keyEnd])
	if err != nil {
		return "", "", err
	}
	if key == "" {
		return "", "", errors.New("empty key")
	}
	value, err := unescape(line[valueStart:])
	if err != nil {
		return "", "", fmt.Errorf("key %q: %w", key, err)
	}
	return key, value, nil
}

// unescape resolves the escapes of a key or a value.
func unescape(s []byte) (string, error) {
	var b strings.Builder
	b.Grow(len(s))
	pendingHigh := rune(-1) // a high surrogate waiting for its low half
	flushHigh := func() {
		if pendingHigh >= 0 {
			b.WriteRune(utf8.RuneError)
			pendingHigh = -1
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' {
			flushHigh()
			b.WriteByte(c)
			continue
		}
		i++
		if i >= len(s) {
			break // unreachable from Load (an odd trailing backslash continues the line)
		}
		c = s[i]
		if c != 'u' {
			flushHigh()
		}
		switch c {
		case 't':
			b.WriteByte('\t')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 'f':
			b.WriteByte('\f')
		case 'u':
			if i+5 > len(s) {
				return "", fmt.Errorf("malformed \\uXXXX escape in %q", s)
			}
			var u rune
			for _, h := range s[i+1 : i+5] {
				d, ok := hexDigit(h)
				if !ok {
					return "", fmt.Errorf("malformed \\uXXXX escape in %q", s)
				}
				u = u<<4 | d
			}
			i += 4
			switch {
			case utf16.IsSurrogate(u) && u < 0xdc00: // high half
				flushHigh()
				pendingHigh = u
			case utf16.IsSurrogate(u): // low half
				if pendingHigh >= 0 {
					b.WriteRune(utf16.DecodeRune(pendingHigh, u))
					pendingHigh = -1
				} else {
					b.WriteRune(utf8.RuneError)
				}
			default:
				flushHigh()
				b.WriteRune(u)
			}
		default:
			b.WriteByte(c)
		}
	}
	flushHigh()
	return b.String(), nil
}

func hexDigit(h byte) (rune, bool) {
	switch {
	case h >= '0' && h <= '9':
		return rune(h - '0'), true
	case h >= 'a' && h <= 'f':
		return rune(h-'a') + 10, true
	case h >= 'A' && h <= 'F':
		return rune(h-'A') + 10, true
	}
	return 0, false
}
