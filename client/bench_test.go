package client

import (
	"context"
	"log/slog"
	"testing"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// BenchmarkProduce measures what the wrapper and the interceptor chain cost on the record
// path: franz-go's own Produce (the baseline), the Producer without interceptors, and with the
// two example interceptors, each sending 100-byte records to the same in-memory kfake broker
// in the same run. Compare ns/op and allocs/op of the sub-benchmarks.
func BenchmarkProduce(b *testing.B) {
	seeds := kfakeCluster(b, kfake.SeedTopics(3, "bench"))
	value := make([]byte, 100)
	ctx := context.Background()
	props := Properties{"bootstrap.servers": seeds, "acks": "1", "linger.ms": "5", "compression.type": "none"}

	run := func(b *testing.B, produce func(*kgo.Record, func(*kgo.Record, error)), flush func()) {
		b.SetBytes(int64(len(value)))
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			produce(&kgo.Record{Topic: "bench", Value: value}, func(_ *kgo.Record, err error) {
				if err != nil {
					b.Error(err)
				}
			})
		}
		flush()
	}

	b.Run("kgo", func(b *testing.B) {
		opts, err := ProducerOpts(props)
		if err != nil {
			b.Fatal(err)
		}
		cl, err := kgo.NewClient(opts...)
		if err != nil {
			b.Fatal(err)
		}
		defer cl.Close()
		run(b, func(r *kgo.Record, p func(*kgo.Record, error)) { cl.Produce(ctx, r, p) }, func() { _ = cl.Flush(ctx) })
	})
	b.Run("client-no-interceptors", func(b *testing.B) {
		p, err := NewProducer(props)
		if err != nil {
			b.Fatal(err)
		}
		defer p.Close(ctx)
		run(b, func(r *kgo.Record, pr func(*kgo.Record, error)) { p.Produce(ctx, r, pr) }, func() { _ = p.Flush(ctx) })
	})
	b.Run("client-timestamp-counting", func(b *testing.B) {
		counting := &CountingInterceptor{Logger: slog.New(slog.DiscardHandler)}
		p, err := NewProducer(props, WithProducerInterceptors(&TimestampHeaderInterceptor{}, counting))
		if err != nil {
			b.Fatal(err)
		}
		defer p.Close(ctx)
		run(b, func(r *kgo.Record, pr func(*kgo.Record, error)) { p.Produce(ctx, r, pr) }, func() { _ = p.Flush(ctx) })
	})
}

// BenchmarkProducerChain measures the chain alone (OnSend then OnAcknowledgement), without a
// broker: the baseline is an empty chain.
func BenchmarkProducerChain(b *testing.B) {
	for _, tc := range []struct {
		name string
		ics  []ProducerInterceptor
	}{
		{"empty", nil},
		{"timestamp-counting", []ProducerInterceptor{&TimestampHeaderInterceptor{}, &CountingInterceptor{Logger: slog.New(slog.DiscardHandler)}}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			chain, err := buildProducerChain(nil, tc.ics, Properties{}, slog.New(slog.DiscardHandler))
			if err != nil {
				b.Fatal(err)
			}
			value := make([]byte, 100)
			b.SetBytes(int64(len(value)))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				r := chain.onSend(&kgo.Record{Topic: "t", Value: value})
				chain.onAck(r, nil)
			}
		})
	}
}
