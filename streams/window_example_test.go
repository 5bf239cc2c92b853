package streams_test

import (
	"fmt"
	"time"

	"github.com/rivulet-io/rivulet/streams"
	"github.com/rivulet-io/rivulet/streams/streamstest"
)

// Counting page views per user in one-minute windows, and emitting only
// each window's final count once the window has closed.
func ExampleWindowedBy() {
	s := streams.StringSerde()
	b := streams.NewBuilder()
	views := streams.NewStream(b, "page-views", streams.ConsumedWith(s, s))
	windows := streams.TimeWindowsOfSizeAndGrace(time.Minute, 10*time.Second)
	streams.WindowedBy(views.GroupByKey(), windows).
		Count(streams.MaterializedAs[string, int64]("views-per-minute")).
		Suppress(streams.UntilWindowCloses(streams.Unbounded())).
		ToStream().
		To("views-per-minute")
	topo, _ := b.Build()

	d, _ := streamstest.New(topo)
	defer d.Close()
	in := streamstest.CreateInputTopic(d, "page-views", s, s)
	out := streamstest.CreateOutputTopic(d, "views-per-minute", streams.TimeWindowedSerde(s, time.Minute), streams.Int64Serde())
	at := func(sec int64) int64 { return sec * 1000 }
	in.PipeInputAt("alice", "/home", at(5))
	in.PipeInputAt("alice", "/cart", at(30))
	in.PipeInputAt("bob", "/home", at(50))
	in.PipeInputAt("alice", "/pay", at(65))
	in.PipeInputAt("bob", "/home", at(55))   // late, but within the grace period
	in.PipeInputAt("alice", "/home", at(75)) // stream time passes 60s + 10s: [0s, 60s) closes
	for _, r := range must2(out.ReadRecordsToList()) {
		fmt.Printf("%s [%ds, %ds): %d\n", r.Key.Key, r.Key.Window.Start/1000, r.Key.Window.End/1000, r.Value)
	}
	// Output:
	// alice [0s, 60s): 2
	// bob [0s, 60s): 2
}

// Joining each order with the payment for it, if one arrives within five
// minutes; orders left unpaid are reported once their window has closed.
func ExampleLeftJoin() {
	s := streams.StringSerde()
	b := streams.NewBuilder()
	orders := streams.NewStream(b, "orders", streams.ConsumedWith(s, s))
	payments := streams.NewStream(b, "payments", streams.ConsumedWith(s, s))
	streams.LeftJoin(orders, payments, func(id, order string, payment *string) string {
		if payment == nil {
			return order + ": unpaid"
		}
		return order + ": paid by " + *payment
	}, streams.JoinWindowsOfTimeDifferenceWithNoGrace(5*time.Minute).Before(0)).To("order-status")
	topo, _ := b.Build()

	d, _ := streamstest.New(topo)
	defer d.Close()
	o := streamstest.CreateInputTopic(d, "orders", s, s)
	p := streamstest.CreateInputTopic(d, "payments", s, s)
	out := streamstest.CreateOutputTopic(d, "order-status", s, s)
	min := func(m int64) int64 { return m * 60_000 }
	o.PipeInputAt("o1", "2 books", min(0))
	o.PipeInputAt("o2", "a lamp", min(1))
	p.PipeInputAt("o1", "card", min(3))
	o.PipeInputAt("o3", "a chair", min(10)) // stream time passes o2's window
	for _, v := range must2(out.ReadValuesToList()) {
		fmt.Println(v)
	}
	// Output:
	// 2 books: paid by card
	// a lamp: unpaid
}

func must2[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
