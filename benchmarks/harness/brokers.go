package harness

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"strings"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rivulet-io/rivulet/brokerlite"
)

// startBrokerlite starts a brokerlite with its log in dir, on a free port.
//
// group.initial.rebalance.delay.ms is 0 (Kafka's default is 3s): each app
// under test joins its groups once at its start, and a fixed delay there
// would only add the same 3s to every system's elapsed time.
func startBrokerlite(ctx context.Context, dir string, logger *slog.Logger) (*brokerlite.Broker, error) {
	return startBrokerliteWith(ctx, dir, logger, nil)
}

// startBrokerliteWith is startBrokerlite with more broker properties (tests).
func startBrokerliteWith(ctx context.Context, dir string, logger *slog.Logger, extra map[string]string) (*brokerlite.Broker, error) {
	props := map[string]string{
		"listeners":                        "PLAINTEXT://127.0.0.1:0",
		"log.dirs":                         dir,
		"offsets.topic.num.partitions":     "1",
		"group.initial.rebalance.delay.ms": "0",
		"auto.create.topics.enable":        "true",
		// The streams suite's records carry fixed timestamps from 2023 (the same
		// input and answers every run): with the default retention by time, the
		// first retention check (5 minutes in) deleted whole input topics, and
		// the cases after it waited for records that were gone.
		"log.retention.ms": "-1",
	}
	maps.Copy(props, extra)
	b, err := brokerlite.Start(ctx, brokerlite.Config{Logger: logger, Properties: props})
	if err != nil {
		return nil, fmt.Errorf("harness: starting brokerlite: %w", err)
	}
	return b, nil
}

// deleteTopicsWithPrefix deletes the topics whose names start with prefix: a
// streams case's output, changelog and repartition topics once it is measured,
// so that a run of every case at the full size keeps only the inputs and one
// case's topics on disk at a time.
func deleteTopicsWithPrefix(ctx context.Context, addr, prefix string) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		return fmt.Errorf("harness: admin client: %w", err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	listed, err := adm.ListTopics(ctx)
	if err != nil {
		return fmt.Errorf("harness: listing topics: %w", err)
	}
	var drop []string
	for _, t := range listed.Names() {
		if strings.HasPrefix(t, prefix) {
			drop = append(drop, t)
		}
	}
	if len(drop) == 0 {
		return nil
	}
	resp, err := adm.DeleteTopics(ctx, drop...)
	if err != nil {
		return fmt.Errorf("harness: deleting topics %v: %w", drop, err)
	}
	return resp.Error()
}

// createTopics creates topics with partitions each (replication factor 1)
// and configs, and fails if any exists already.
func createTopics(ctx context.Context, addr string, partitions int32, configs map[string]string, topics ...string) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		return fmt.Errorf("harness: admin client: %w", err)
	}
	defer cl.Close()
	var cfg map[string]*string
	if len(configs) > 0 {
		cfg = make(map[string]*string, len(configs))
		for k, v := range configs {
			cfg[k] = kadm.StringPtr(v)
		}
	}
	resp, err := kadm.NewClient(cl).CreateTopics(ctx, partitions, 1, cfg, topics...)
	if err != nil {
		return fmt.Errorf("harness: creating topics %v: %w", topics, err)
	}
	for _, r := range resp.Sorted() {
		if r.Err != nil {
			return fmt.Errorf("harness: creating topic %s: %w (%s)", r.Topic, r.Err, r.ErrMessage)
		}
	}
	return nil
}
