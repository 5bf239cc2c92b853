package brokerlite

import (
	"fmt"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
)

// produceN produces n records with keys k<i> and values v<i> to topic and waits for them.
func produceN(t testing.TB, c *kgo.Client, topic string, n int) {
	t.Helper()
	ctx := testCtx(t)
	recs := make([]*kgo.Record, n)
	for i := range recs {
		recs[i] = &kgo.Record{Topic: topic, Key: []byte(fmt.Sprintf("k%d", i)), Value: []byte(fmt.Sprintf("v%d", i))}
	}
	if err := c.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatalf("produce: %v", err)
	}
}

// consumeN reads n records of topic from the start and returns them.
func consumeN(t testing.TB, b *Broker, topic string, n int, opts ...kgo.Opt) []*kgo.Record {
	t.Helper()
	c := newClient(t, b, append([]kgo.Opt{kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart())}, opts...)...)
	ctx := testCtx(t)
	var out []*kgo.Record
	for len(out) < n {
		fs := c.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("consumed %d of %d records: %v", len(out), n, err)
		}
		fs.EachError(func(tp string, p int32, err error) { t.Fatalf("fetch %s-%d: %v", tp, p, err) })
		out = append(out, fs.Records()...)
	}
	return out
}

func TestProduceConsumeBasic(t *testing.T) {
	b := startBroker(t, "")
	c := newClient(t, b, kgo.DefaultProduceTopic("basic"), kgo.AllowAutoTopicCreation())
	produceN(t, c, "basic", 100)
	recs := consumeN(t, b, "basic", 100)
	for i, r := range recs {
		if string(r.Key) != fmt.Sprintf("k%d", i) || string(r.Value) != fmt.Sprintf("v%d", i) || r.Offset != int64(i) {
			t.Fatalf("record %d: got key=%s value=%s offset=%d", i, r.Key, r.Value, r.Offset)
		}
	}
}
