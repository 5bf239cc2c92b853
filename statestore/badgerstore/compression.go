package badgerstore

import (
	"fmt"
	"strings"

	"github.com/dgraph-io/badger/v4/options"

	"github.com/rivulet-io/rivulet/statestore"
)

// Compression says how a store compresses the blocks of its tables on disk. Badger reads
// its tables through memory maps, so the pages of the tables a store writes and reads
// count in the process's RSS (as file-backed, reclaimable memory) while they are mapped.
// On Linux the store drops them from the RSS every half second
// (Options.KeepTablePages), but a read maps again more than its block (the kernel maps the
// cached pages around a faulting address too), so smaller tables still mean a smaller RSS;
// elsewhere every page of the tables counts. Compressing costs CPU: each block is
// compressed when a table is written and decompressed (into a new buffer) when a read
// misses the block cache. A count over 5M new keys spent about 16% less CPU with
// uncompressed tables than with Snappy, and its tables held 145-205 MiB of RSS at peak
// against 92-110 MiB (both dropped every 300 ms).
type Compression uint8

const (
	// CompressionNone writes blocks as they are.
	CompressionNone Compression = iota
	// CompressionSnappy compresses blocks with Snappy: fast; a count's tables took 40-50%
	// less room.
	CompressionSnappy
	// CompressionZSTD compresses blocks with Zstandard at its fastest level: a count's
	// tables took about 65% less room, for several times Snappy's CPU.
	CompressionZSTD
)

// String returns the name ParseCompression reads: "none", "snappy" or "zstd".
func (c Compression) String() string {
	switch c {
	case CompressionNone:
		return "none"
	case CompressionSnappy:
		return "snappy"
	case CompressionZSTD:
		return "zstd"
	}
	return fmt.Sprintf("Compression(%d)", uint8(c))
}

// ParseCompression reads "none", "snappy" or "zstd" (any case); anything else is an
// error wrapping statestore.ErrInvalidOptions.
func ParseCompression(s string) (Compression, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "none":
		return CompressionNone, nil
	case "snappy":
		return CompressionSnappy, nil
	case "zstd":
		return CompressionZSTD, nil
	}
	return 0, fmt.Errorf("%w: badgerstore: compression %q: want none, snappy or zstd", statestore.ErrInvalidOptions, s)
}

// badger returns Badger's compression type for c.
func (c Compression) badger() options.CompressionType {
	switch c {
	case CompressionSnappy:
		return options.Snappy
	case CompressionZSTD:
		return options.ZSTD
	}
	return options.None
}
