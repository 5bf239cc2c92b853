package brokerlite

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestDeleteLongTopicNameAcrossRestart: a topic with the longest valid name (249
// characters) is deleted for good (its directories are gone and a restart does not bring it
// back), and can be created again, with no old data, across another restart.
func TestDeleteLongTopicNameAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	name := strings.Repeat("t", 249)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	restart := func(b *Broker) *Broker {
		if b != nil {
			if err := b.Close(ctx); err != nil {
				t.Fatal(err)
			}
		}
		p := map[string]string{"listeners": "PLAINTEXT://127.0.0.1:0", "log.dirs": dir, "group.initial.rebalance.delay.ms": "0"}
		nb, err := Start(ctx, Config{Properties: p, Logger: testLogger(t)})
		if err != nil {
			t.Fatal(err)
		}
		return nb
	}
	topics := func(b *Broker) (*kgo.Client, *kadm.Client, kadm.TopicDetails) {
		cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr()), kgo.DefaultProduceTopic(name))
		if err != nil {
			t.Fatal(err)
		}
		adm := kadm.NewClient(cl)
		td, err := adm.ListTopics(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return cl, adm, td
	}

	b := restart(nil)
	cl, adm, _ := topics(b)
	if _, err := adm.CreateTopic(ctx, 3, 1, nil, name); err != nil {
		t.Fatal(err)
	}
	if err := cl.ProduceSync(ctx, &kgo.Record{Value: []byte("old")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	resp, err := adm.DeleteTopics(ctx, name)
	if err != nil || resp[name].Err != nil {
		t.Fatalf("delete: %v / %v", err, resp[name].Err)
	}
	cl.Close()
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), name) {
			t.Fatalf("directory %s left after the delete", e.Name())
		}
	}

	b = restart(b)
	cl, adm, td := topics(b)
	if td.Has(name) {
		t.Fatal("the deleted topic came back after a restart")
	}
	if _, err := adm.CreateTopic(ctx, 1, 1, nil, name); err != nil {
		t.Fatalf("create again: %v", err)
	}
	if err := cl.ProduceSync(ctx, &kgo.Record{Value: []byte("new")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	cl.Close()

	b = restart(b)
	defer closeBroker(t, b)
	cl, _, td = topics(b)
	defer cl.Close()
	if !td.Has(name) || len(td[name].Partitions) != 1 {
		t.Fatalf("recreated topic after a restart: %+v", td[name])
	}
	cons, err := kgo.NewClient(kgo.SeedBrokers(b.Addr()), kgo.ConsumeTopics(name), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cons.Close()
	fs := cons.PollFetches(ctx)
	var got []string
	fs.EachRecord(func(r *kgo.Record) { got = append(got, string(r.Value)) })
	if len(got) != 1 || got[0] != "new" {
		t.Fatalf("recreated topic holds %q, want only the new record", got)
	}
}
