package brokerlite_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/rivulet-io/rivulet/brokerlite"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Start an embedded broker on a free port, produce a record with franz-go and read it back.
func ExampleStart() {
	dir, err := os.MkdirTemp("", "brokerlite-example-")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)

	ctx := context.Background()
	b, err := brokerlite.Start(ctx, brokerlite.Config{
		Properties: map[string]string{
			"listeners": "PLAINTEXT://127.0.0.1:0", // any free port: b.Addr() tells which
			"log.dirs":  dir,
		},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		panic(err)
	}
	defer b.Close(ctx)

	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr()), kgo.AllowAutoTopicCreation(),
		kgo.ConsumeTopics("greetings"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		panic(err)
	}
	defer cl.Close()
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "greetings", Value: []byte("hello, brokerlite")}).FirstErr(); err != nil {
		panic(err)
	}
	fs := cl.PollFetches(ctx)
	fs.EachRecord(func(r *kgo.Record) { fmt.Printf("%s at offset %d\n", r.Value, r.Offset) })
	// Output: hello, brokerlite at offset 0
}
