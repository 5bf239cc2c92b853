package streams_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/rivulet-io/rivulet/streams"
	"github.com/rivulet-io/rivulet/streams/streamstest"
)

func TestPrintWritesKafkaStyleLines(t *testing.T) {
	var buf bytes.Buffer
	path := filepath.Join(t.TempDir(), "printed.txt")
	b := streams.NewBuilder()
	s := streams.NewStream(b, "in", streams.ConsumedWith(ss, streams.Int64Serde()))
	s.Print(streams.PrintedTo[string, int64](&buf).WithLabel("clicks"))
	s.Print(streams.PrintedToFile[string, int64](path).
		WithKeyValueMapper(func(k string, v int64) string { return fmt.Sprintf("%s -> %d", k, v) }), "to-file")
	d, err := streamstest.New(build(t, b))
	must(t, err)
	in := streamstest.CreateInputTopic(d, "in", ss, streams.Int64Serde())
	must(t, in.PipeInput("alice", 3))
	must(t, in.PipeTombstone("bob"))
	if got, want := buf.String(), "[clicks]: alice, 3\n[clicks]: bob, null\n"; got != want {
		t.Errorf("printed:\n%s\nwant:\n%s", got, want)
	}
	must(t, d.Close())
	data, err := os.ReadFile(path)
	must(t, err)
	if got, want := string(data), "[to-file]: alice -> 3\n[to-file]: bob, null\n"; got != want {
		t.Errorf("file:\n%s\nwant:\n%s", got, want)
	}
}
