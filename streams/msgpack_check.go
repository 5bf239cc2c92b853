package streams

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"

	"github.com/vmihailenco/msgpack/v5"
)

// maxMsgpackNesting bounds how deeply the arrays and maps of a value
// MsgpackSerde decodes may nest (encoding/json's own bound).
const maxMsgpackNesting = 10000

var errMsgpackShort = errors.New("msgpack: the value ends before its declared length")

// checkMsgpack walks the msgpack value at the start of b without decoding
// it, and reports why it cannot be decoded: a code msgpack does not define,
// a string, binary or extension longer than the bytes left, an array or map
// that declares more elements than the bytes left could hold (each takes at
// least one byte), or arrays and maps nested deeper than maxMsgpackNesting.
// Bytes after the value are left alone, as msgpack.Unmarshal leaves them. It
// appends to exts where the data of each extension it passed starts, in
// ascending order, and returns the result: see msgpackGuard.
//
// It exists because the msgpack library sizes what it decodes by the count
// the input declares: into any ([]any and map[string]any) and into typed
// slices it allocates that many elements before it reads one, so a record of
// five bytes declaring four billion elements would make an application
// allocate tens of gigabytes and die. A value that passes this walk declares
// no more elements than it has bytes, which bounds the library's
// allocations by the record's size. The walk allocates nothing for values
// nested up to 32 levels, beyond what exts needs to grow.
func checkMsgpack(b []byte, exts []int) ([]int, error) {
	var levels [32]int
	open := levels[:0] // elements left in each array or map being read, innermost last
	left := 1          // elements left to read, every level together
	i := 0
	for left > 0 {
		if i >= len(b) {
			return nil, errMsgpackShort
		}
		c := b[i]
		at := i
		i++
		left--
		if n := len(open); n > 0 {
			open[n-1]--
		}
		skip, elems := 0, 0 // payload bytes after the header; elements the value holds
		switch {
		case c <= 0x7f, c >= 0xe0, c == 0xc0, c == 0xc2, c == 0xc3:
			// fixint, nil, false, true: the code is the whole value
		case c <= 0x8f: // fixmap
			elems = 2 * int(c&0x0f)
		case c <= 0x9f: // fixarray
			elems = int(c & 0x0f)
		case c <= 0xbf: // fixstr
			skip = int(c & 0x1f)
		case c == 0xc1:
			return nil, fmt.Errorf("msgpack: byte %d: code 0xc1 is not used by msgpack", at)
		case c == 0xca, c == 0xcb: // float32, float64
			skip = 4 << (c - 0xca)
		case c >= 0xcc && c <= 0xcf: // uint8 to uint64
			skip = 1 << (c - 0xcc)
		case c >= 0xd0 && c <= 0xd3: // int8 to int64
			skip = 1 << (c - 0xd0)
		case c >= 0xd4 && c <= 0xd8: // fixext 1 to 16: a type byte and the data
			skip = 1 + 1<<(c-0xd4)
			exts = append(exts, i+1)
		default:
			var width int
			switch c {
			case 0xc4, 0xc7, 0xd9: // bin8, ext8, str8
				width = 1
			case 0xc5, 0xc8, 0xda, 0xdc, 0xde: // bin16, ext16, str16, array16, map16
				width = 2
			default: // bin32, ext32, str32, array32, map32
				width = 4
			}
			if width > len(b)-i {
				return nil, errMsgpackShort
			}
			var n int
			switch width {
			case 1:
				n = int(b[i])
			case 2:
				n = int(binary.BigEndian.Uint16(b[i:]))
			default:
				n = int(binary.BigEndian.Uint32(b[i:]))
			}
			i += width
			switch c {
			case 0xc7, 0xc8, 0xc9: // ext: a type byte, then the data
				skip = 1 + n
				exts = append(exts, i+1)
			case 0xdc, 0xdd:
				elems = n
			case 0xde, 0xdf:
				elems = 2 * n
			default:
				skip = n
			}
		}
		if skip > len(b)-i {
			return nil, errMsgpackShort
		}
		i += skip
		if elems > 0 {
			// The other elements still to read take a byte each at least.
			if room := len(b) - i - left; elems > room {
				if room < 0 {
					return nil, errMsgpackShort
				}
				return nil, fmt.Errorf("msgpack: byte %d: an array or map of %d elements, with %d bytes left for them", at, elems, room)
			}
			if len(open) == maxMsgpackNesting {
				return nil, fmt.Errorf("msgpack: byte %d: arrays and maps nested deeper than %d", at, maxMsgpackNesting)
			}
			open = append(open, elems)
			left += elems
		}
		for len(open) > 0 && open[len(open)-1] == 0 {
			open = open[:len(open)-1]
		}
	}
	return exts, nil
}

// msgpackGuard is the reader the msgpack library decodes a record with
// extensions from (a time.Time is one). Where the Go type holds a map, the
// library reads an extension's header and then a map from the extension's
// data, whatever the extension's length says; checkMsgpack, which passes over
// the data, cannot tell. So the first time the library reads a code where an
// extension's data starts (it reads the data of a timestamp or an unknown
// extension in one piece, never a code), the guard walks the value there
// with checkMsgpack and fails the read if that value could not be decoded.
// A value that can never be decoded is refused before the library
// allocates what it declares; the extensions inside it are guarded alike.
// Guards are pooled: decoding a struct with a timestamp stays as cheap as
// the library's own Unmarshal.
type msgpackGuard struct {
	b    []byte
	off  int
	exts []int // data starts not yet walked, ascending
}

var msgpackGuards = sync.Pool{New: func() any { return new(msgpackGuard) }}

// decode decodes g.b into v through g, with a pooled decoder as
// msgpack.Unmarshal uses.
func (g *msgpackGuard) decode(v any) error {
	dec := msgpack.GetDecoder()
	dec.Reset(g)
	err := dec.Decode(v)
	msgpack.PutDecoder(dec)
	return err
}

// release returns g to the pool, keeping its offsets' buffer unless a large
// record grew it.
func (g *msgpackGuard) release() {
	g.b, g.off = nil, 0
	if cap(g.exts) > 1024 {
		g.exts = nil
	}
	g.exts = g.exts[:0]
	msgpackGuards.Put(g)
}

func (g *msgpackGuard) Read(p []byte) (int, error) {
	if g.off >= len(g.b) {
		return 0, io.EOF
	}
	n := copy(p, g.b[g.off:])
	g.off += n
	return n, nil
}

func (g *msgpackGuard) ReadByte() (byte, error) {
	if g.off >= len(g.b) {
		return 0, io.EOF
	}
	// Data starts the reading has passed were read as data: forget them.
	// (The reader only goes back by one byte, to a byte just read.)
	for len(g.exts) > 0 && g.exts[0] < g.off {
		g.exts = g.exts[1:]
	}
	if len(g.exts) > 0 && g.exts[0] == g.off {
		g.exts = g.exts[1:]
		inner, err := checkMsgpack(g.b[g.off:], nil)
		if err != nil {
			return 0, fmt.Errorf("msgpack: the data of an extension at byte %d read as a value: %w", g.off, err)
		}
		for _, o := range inner {
			g.exts = append(g.exts, g.off+o)
		}
		slices.Sort(g.exts)
	}
	c := g.b[g.off]
	g.off++
	return c, nil
}

func (g *msgpackGuard) UnreadByte() error {
	if g.off == 0 {
		return errors.New("msgpack: unread before the first byte")
	}
	g.off--
	return nil
}
