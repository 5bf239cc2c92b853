package streams_test

import (
	"fmt"

	"github.com/rivulet-io/rivulet/streams"
	"github.com/rivulet-io/rivulet/streams/streamstest"
)

// Tombstones never reach a plain user function: MapValues forwards a
// tombstone as a tombstone. The Nullable form sees it and decides, here
// turning a delete into an explicit "deleted" value.
func ExampleMapValuesNullable() {
	str := streams.StringSerde()
	b := streams.NewBuilder()
	prices := streams.NewTable(b, "prices", streams.ConsumedWith(str, streams.Int64Serde()),
		streams.MaterializedAs[string, int64]("prices").WithCachingDisabled())
	updates := prices.ToStream()
	streams.MapValues(updates, func(_ string, cents int64) string {
		return fmt.Sprintf("%d.%02d", cents/100, cents%100)
	}).To("plain")
	streams.MapValuesNullable(updates, func(_ string, cents streams.Nullable[int64]) streams.Nullable[string] {
		if cents.IsNull() {
			return streams.NonNull("deleted")
		}
		return streams.NonNull(fmt.Sprintf("%d.%02d", cents.V/100, cents.V%100))
	}).To("aware")
	topo, err := b.Build()
	if err != nil {
		panic(err)
	}

	d, err := streamstest.New(topo)
	if err != nil {
		panic(err)
	}
	defer d.Close()
	in := streamstest.CreateInputTopic(d, "prices", str, streams.Int64Serde())
	_ = in.PipeInput("tea", 250)
	_ = in.PipeTombstone("tea")
	for _, topic := range []string{"plain", "aware"} {
		recs, _ := streamstest.CreateOutputTopic(d, topic, str, str).ReadRecordsToList()
		for _, r := range recs {
			if r.ValueNull {
				fmt.Printf("%s: %s deleted (tombstone)\n", topic, r.Key)
			} else {
				fmt.Printf("%s: %s=%s\n", topic, r.Key, r.Value)
			}
		}
	}
	// Output:
	// plain: tea=2.50
	// plain: tea deleted (tombstone)
	// aware: tea=2.50
	// aware: tea=deleted
}
