package topology

import (
	"reflect"
	"strings"
	"testing"
)

// TestBoundNamesInternalTopicsOfItsApplication: a topology bound to an
// application id names its repartition and changelog topics with that id,
// maps broker names back, and two bindings of one topology do not mix.
func TestBoundNamesInternalTopicsOfItsApplication(t *testing.T) {
	tp := wordCount(t)
	b := tp.Bind("wc")
	if b.ApplicationID() != "wc" || b.Topology() != tp {
		t.Fatalf("binding %q %p", b.ApplicationID(), b.Topology())
	}
	if got := b.TopicName("counts-store-repartition"); got != "wc-counts-store-repartition" {
		t.Errorf("repartition topic %q", got)
	}
	if got := b.TopicName("streams-plaintext-input"); got != "streams-plaintext-input" {
		t.Errorf("external topic %q", got)
	}
	if got := b.RegisteredTopicName("wc-counts-store-repartition"); got != "counts-store-repartition" {
		t.Errorf("registered name %q", got)
	}
	if !b.IsRepartitionBrokerTopic("wc-counts-store-repartition") || b.IsRepartitionBrokerTopic("streams-wordcount-output") {
		t.Errorf("repartition check")
	}
	if got := b.ChangelogTopic("counts-store"); got != "wc-counts-store-changelog" {
		t.Errorf("changelog %q", got)
	}
	if n, ok := b.SourceNodeForTopic("wc-counts-store-repartition"); !ok || n.Name != "KSTREAM-SOURCE-0000000006" {
		t.Errorf("source of the repartition topic: %v %v", n, ok)
	}
	if _, ok := tp.Bind("other").SourceNodeForTopic("wc-counts-store-repartition"); ok {
		t.Errorf("another application's repartition topic has a source")
	}
	counts, err := b.ResolvePartitions(map[string]int32{"streams-plaintext-input": 3})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(counts, map[string]int32{"streams-plaintext-input": 3, "wc-counts-store-repartition": 3}) {
		t.Errorf("counts %v", counts)
	}
	if got := len(b.Tasks(counts)); got != 6 {
		t.Errorf("%d tasks, want 6", got)
	}
	var names []string
	for _, it := range b.InternalTopics(counts) {
		names = append(names, it.Name)
	}
	if !reflect.DeepEqual(names, []string{"wc-counts-store-changelog", "wc-counts-store-repartition"}) {
		t.Errorf("internal topics %v", names)
	}
	subs := tp.Subtopologies()
	if got := b.SourceTopics(subs[1], nil); !reflect.DeepEqual(got, []string{"wc-counts-store-repartition"}) {
		t.Errorf("source topics %v", got)
	}
}

func TestValidApplicationID(t *testing.T) {
	for id, want := range map[string]bool{
		"wordcount": true, "a.b_c-9": true, strings.Repeat("x", 200): true,
		"": false, "with space": false, "slash/x": false, "é": false, strings.Repeat("x", 201): false,
	} {
		if got := ValidApplicationID(id); got != want {
			t.Errorf("ValidApplicationID(%q) = %v, want %v", id, got, want)
		}
	}
}
