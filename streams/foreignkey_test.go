package streams

import (
	"strings"
	"testing"
)

// capCollector keeps what tasks send.
type capCollector struct{ recs []ProducerRecord }

func (c *capCollector) Send(pr ProducerRecord) error         { c.recs = append(c.recs, pr); return nil }
func (c *capCollector) PartitionCount(string) (int32, error) { return 1, nil }

// take removes and returns the records sent to topics containing part.
func (c *capCollector) take(part string) []ProducerRecord {
	var out, keep []ProducerRecord
	for _, r := range c.recs {
		if strings.Contains(r.Topic, part) {
			out = append(out, r)
		} else {
			keep = append(keep, r)
		}
	}
	c.recs = keep
	return out
}

// TestForeignKeyJoinDropsStaleResponses runs the two sides of a
// foreign-key join as separate tasks and delivers the subscription
// traffic late: the answer to a subscription sent before the left row
// changed again carries the old value's hash and is dropped (counted),
// so only the current row's result is emitted.
func TestForeignKeyJoinDropsStaleResponses(t *testing.T) {
	b := NewBuilder()
	l := NewTable(b, "left", ConsumedWith(StringSerde(), StringSerde()))
	r := NewTable(b, "right", ConsumedWith(StringSerde(), StringSerde()))
	JoinForeignKey(l, r, func(_, v string) (string, bool) { return v, true }, func(k, a, b string) string { return k + "," + a + "," + b }).
		ToStream().To("out")
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	c := &capCollector{}
	stats := &taskStats{}
	tasks := map[string]*streamTask{}
	for _, sub := range topo.Subtopologies() {
		var parts []TopicPartition
		for _, tp := range sub.SourceTopics {
			parts = append(parts, TopicPartition{Topic: topo.t.TopicName("app", tp)})
		}
		task, err := newStreamTask(topo, TaskID{Subtopology: sub.ID}, parts, taskConfig{ApplicationID: "app", Collector: c, Stores: inMemoryStores(), Stats: stats})
		if err != nil {
			t.Fatal(err)
		}
		defer task.Close(false)
		if err := task.Initialize(0); err != nil {
			t.Fatal(err)
		}
		for _, tp := range sub.SourceTopics {
			if tp == "left" || tp == "right" {
				tasks[tp] = task
			}
		}
	}
	feed := func(task *streamTask, recs ...ProducerRecord) {
		t.Helper()
		for _, pr := range recs {
			tp := TopicPartition{Topic: pr.Topic}
			if err := task.AddRecords(tp, []RawRecord{{Topic: pr.Topic, Key: pr.Key, Value: pr.Value, Timestamp: pr.Timestamp}}); err != nil {
				t.Fatal(err)
			}
			drain(t, task, 0)
			if err := task.Flush(); err != nil {
				t.Fatal(err)
			}
		}
	}
	kv := func(topic, k, v string, ts int64) ProducerRecord {
		return ProducerRecord{Topic: topic, Key: []byte(k), Value: []byte(v), Timestamp: ts}
	}
	left, right := tasks["left"], tasks["right"]
	if left == nil || right == nil || left == right {
		t.Fatalf("tasks %v", tasks)
	}
	feed(right, kv("right", "f1", "foo", 1), kv("right", "f2", "bar", 2))
	feed(left, kv("left", "k", "f1", 3))
	first := c.take("REGISTRATION")
	// The row moves to f2 before its first subscription is answered.
	feed(left, kv("left", "k", "f2", 4))
	second := c.take("REGISTRATION")
	if len(first) != 1 || len(second) != 2 {
		t.Fatalf("subscriptions %d then %d, want 1 then 2 (unsubscribe f1, subscribe f2)", len(first), len(second))
	}
	feed(right, first...)
	stale := c.take("RESPONSE")
	feed(right, second...)
	fresh := c.take("RESPONSE")
	if len(stale) != 1 || len(fresh) != 1 {
		t.Fatalf("responses %d and %d, want 1 and 1", len(stale), len(fresh))
	}
	dropped := stats.DroppedRecords.Load()
	feed(left, stale...)
	if out := c.take("out"); len(out) != 0 {
		t.Fatalf("a stale response produced %q", out[0].Value)
	}
	if stats.DroppedRecords.Load() != dropped+1 {
		t.Errorf("the stale response was not counted as dropped")
	}
	feed(left, fresh...)
	out := c.take("out")
	if len(out) != 1 || string(out[0].Value) != "k,f2,bar" {
		t.Fatalf("results %v, want k,f2,bar", out)
	}
	// A change of the right row answers every subscriber of it.
	feed(right, kv("right", "f2", "baz", 5))
	feed(left, c.take("RESPONSE")...)
	out = c.take("out")
	if len(out) != 1 || string(out[0].Value) != "k,f2,baz" || out[0].Timestamp != 5 {
		t.Fatalf("results %+v, want k,f2,baz at 5", out)
	}
}
