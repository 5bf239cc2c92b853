package client

import (
	"context"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// kfakeCluster starts franz-go's in-memory kfake broker (one node) with opts, closed when tb
// ends, and returns its bootstrap.servers.
func kfakeCluster(tb testing.TB, opts ...kfake.Opt) string {
	tb.Helper()
	c, err := kfake.NewCluster(append([]kfake.Opt{kfake.NumBrokers(1)}, opts...)...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(c.Close)
	return strings.Join(c.ListenAddrs(), ",")
}

// produceEach writes record(0) ... record(n-1) through a Producer to the brokers at seeds and
// returns once every one is acknowledged.
func produceEach(t *testing.T, seeds string, n int, record func(i int) *kgo.Record) {
	t.Helper()
	p, err := NewProducer(Properties{"bootstrap.servers": seeds})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	rs := make([]*kgo.Record, n)
	for i := range rs {
		rs[i] = record(i)
	}
	if err := p.ProduceSync(ctx, rs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
}
