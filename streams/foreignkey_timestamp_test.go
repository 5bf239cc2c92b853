package streams_test

import (
	"fmt"
	"testing"

	"github.com/rivulet-io/rivulet/streams"
	"github.com/rivulet-io/rivulet/streams/streamstest"
)

// The timestamps of foreign-key join results, as Kafka Streams gives them:
// a result caused by a left row carries the larger of the left and the
// right row's timestamps; one caused by a right row's change carries that
// change's timestamp, even when it is older than the left row.
func TestForeignKeyJoinResultTimestamps(t *testing.T) {
	b := streams.NewBuilder()
	left := streams.NewTable(b, "left", streams.ConsumedWith(ss, ss))
	right := streams.NewTable(b, "right", streams.ConsumedWith(ss, ss))
	fk := func(_, v string) (string, bool) { return v, v != "" }
	streams.JoinForeignKey(left, right, fk, func(_, l, r string) string { return l + "+" + r }).
		ToStream().To("inner", streams.ProducedWith(ss, ss))
	streams.LeftJoinForeignKey(left, right, fk, func(_, l string, r *string) string {
		if r == nil {
			return l + "+null"
		}
		return l + "+" + *r
	}).ToStream().To("leftjoin", streams.ProducedWith(ss, ss))
	d := driver(t, build(t, b))
	li := streamstest.CreateInputTopic(d, "left", ss, ss)
	ri := streamstest.CreateInputTopic(d, "right", ss, ss)
	inner := streamstest.CreateOutputTopic(d, "inner", ss, ss)
	leftJoin := streamstest.CreateOutputTopic(d, "leftjoin", ss, ss)
	read := func(o *streamstest.OutputTopic[string, string]) string {
		recs, err := o.ReadRecordsToList()
		must(t, err)
		var out []string
		for _, r := range recs {
			out = append(out, fmt.Sprintf("%s=%s@%d", r.Key, r.Value, r.Timestamp))
		}
		return fmt.Sprint(out)
	}
	for _, step := range []struct {
		right      bool
		key, value string
		ts         int64
		inner      string
		leftJoin   string
	}{
		{right: true, key: "f", value: "foo", ts: 50, inner: "[]", leftJoin: "[]"},
		// Left row: max(left 100, right 50).
		{key: "k", value: "f", ts: 100, inner: "[k=f+foo@100]", leftJoin: "[k=f+foo@100]"},
		// Right change older than the left row: its own timestamp.
		{right: true, key: "f", value: "bar", ts: 70, inner: "[k=f+bar@70]", leftJoin: "[k=f+bar@70]"},
		// Right delete: its own timestamp.
		{right: true, key: "f", ts: 80, inner: "[k=@80]", leftJoin: "[k=f+null@80]"},
	} {
		if step.right {
			if step.value == "" {
				must(t, ri.PipeRecord(streamstest.TestRecord[string, string]{Key: step.key, ValueNull: true, Timestamp: step.ts}))
			} else {
				must(t, ri.PipeInputAt(step.key, step.value, step.ts))
			}
		} else {
			must(t, li.PipeInputAt(step.key, step.value, step.ts))
		}
		if got := read(inner); got != step.inner {
			t.Errorf("after %s %s=%q@%d: inner join %s, want %s", map[bool]string{true: "right", false: "left"}[step.right], step.key, step.value, step.ts, got, step.inner)
		}
		if got := read(leftJoin); got != step.leftJoin {
			t.Errorf("after %s %s=%q@%d: left join %s, want %s", map[bool]string{true: "right", false: "left"}[step.right], step.key, step.value, step.ts, got, step.leftJoin)
		}
	}
}
