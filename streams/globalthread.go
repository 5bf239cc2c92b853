package streams

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rivulet-io/rivulet/client"
)

// globalThread keeps the global stores up to date: it reads every
// partition of the global topics (no consumer group), catches up to their
// end offsets before the stream threads start (so lookups see the whole
// table), then follows them and checkpoints every commit interval.
type globalThread struct {
	app    *App
	task   *globalTask
	cl     *kgo.Client
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex // guards task updates against stop
	raws   []RawRecord
	meters globalMeters // for the metrics (metrics_global.go), under mu
	// topicIDs are the global topics' ids, to tell a recreated topic.
	topicIDs map[string]kadm.TopicID
}

func (a *App) startGlobal(ctx context.Context) error {
	var topics []string
	for _, s := range a.topo.subs {
		if s.Global {
			topics = append(topics, s.SourceTopics...)
		}
	}
	if len(topics) == 0 {
		return nil
	}
	sort.Strings(topics)
	a.stateMemory.expect(globalOwner, a.topo.globalPersistentStores())
	td, err := a.admin.ListTopics(ctx, topics...)
	if err != nil {
		return fmt.Errorf("streams: global topics: %w", err)
	}
	var parts []TopicPartition
	for _, tp := range topics {
		d, ok := td[tp]
		if !ok || d.Err != nil {
			return fmt.Errorf("streams: global topic %q: not found", tp)
		}
		for p := range d.Partitions {
			parts = append(parts, TopicPartition{Topic: tp, Partition: p})
		}
	}
	cfg := taskConfig{
		ApplicationID:          a.cfg.ApplicationID,
		Collector:              &noSendCollector{},
		Stores:                 a.opener,
		DeserializationHandler: a.cfg.DeserializationHandler,
		ProductionHandler:      a.cfg.ProductionHandler,
		Logger:                 a.cfg.Logger.With("thread", "GlobalStreamThread"),
		Stats:                  a.newStats(),
	}
	task, err := newGlobalTask(a.topo, parts, cfg)
	if err != nil {
		return err
	}
	g := &globalThread{app: a, task: task, topicIDs: map[string]kadm.TopicID{}}
	for _, tp := range topics {
		g.topicIDs[tp] = td[tp].ID
	}
	start := task.Checkpoints()
	reason, err := g.outOfRange(ctx, start)
	if err != nil {
		task.Close(false)
		return err
	}
	if reason != "" {
		if err := g.wipe(reason); err != nil {
			task.Close(false)
			return err
		}
		start = task.Offsets()
	}
	if g.cl, err = g.newConsumer(start); err != nil {
		task.Close(false)
		return err
	}
	g.ctx, g.cancel = context.WithCancel(a.runCtx)
	if err := task.Initialize(time.Now().UnixMilli()); err != nil {
		g.cl.Close()
		task.Close(false)
		return err
	}
	if err := g.bootstrap(ctx); err != nil {
		g.cl.Close()
		task.Close(false)
		return err
	}
	a.mu.Lock()
	a.global = g
	a.mu.Unlock()
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		if err := g.run(); err != nil {
			a.cfg.Logger.Error("streams: global thread failed", "err", err)
			go a.fail(err)
		}
	}()
	return nil
}

// newConsumer returns the global consumer, reading every global partition
// from the offset in start (0: from the log start). As Kafka Streams' global
// consumer (auto.offset.reset none), it never resets a position out of
// range by itself: poll wipes the global stores and rebuilds them instead.
func (g *globalThread) newConsumer(start map[TopicPartition]int64) (*kgo.Client, error) {
	consume := map[string]map[int32]kgo.Offset{}
	for tp, off := range start {
		if consume[tp.Topic] == nil {
			consume[tp.Topic] = map[int32]kgo.Offset{}
		}
		o := kgo.NewOffset().AtStart()
		if off > 0 {
			o = kgo.NewOffset().At(off)
		}
		consume[tp.Topic][tp.Partition] = o
	}
	return g.app.newClient([]client.Role{client.RoleConsumer}, "",
		kgo.ClientID(g.app.cfg.ClientID+"-GlobalStreamThread"),
		kgo.ConsumePartitions(consume),
		kgo.ConsumeResetOffset(kgo.NoResetOffset()),
		// A global topic deleted and recreated shows as UNKNOWN_TOPIC_ID,
		// a retryable error the client would otherwise keep to itself.
		kgo.KeepRetryableFetchErrors(),
		// Transaction markers move the position past the end of a
		// transaction (they are not applied): a global topic that ends
		// with one is caught up once it is read.
		kgo.KeepControlRecords())
}

// outOfRange compares positions (next offsets, 0 for none) with the global
// topics' logs and says why they cannot be resumed from, or "" when they
// can: a position below the log start (records never applied are gone) or
// beyond the log end (the topic lost records that were applied, or was
// recreated). Kafka Streams' global consumer fails with an invalid offset
// then, and its global state is wiped.
func (g *globalThread) outOfRange(ctx context.Context, positions map[TopicPartition]int64) (string, error) {
	topics := g.task.Topics()
	starts, err := g.app.admin.ListStartOffsets(ctx, topics...)
	if err != nil {
		return "", fmt.Errorf("streams: global topics start offsets: %w", err)
	}
	ends, err := g.app.admin.ListEndOffsets(ctx, topics...)
	if err != nil {
		return "", fmt.Errorf("streams: global topics end offsets: %w", err)
	}
	tps := make([]TopicPartition, 0, len(positions))
	for tp := range positions {
		tps = append(tps, tp)
	}
	sort.Slice(tps, func(i, j int) bool {
		if tps[i].Topic != tps[j].Topic {
			return tps[i].Topic < tps[j].Topic
		}
		return tps[i].Partition < tps[j].Partition
	})
	for _, tp := range tps {
		off := positions[tp]
		if off <= 0 {
			continue
		}
		st, ok := starts.Lookup(tp.Topic, tp.Partition)
		if !ok || st.Err != nil {
			return "", fmt.Errorf("streams: global topic %s-%d: no start offset", tp.Topic, tp.Partition)
		}
		en, ok := ends.Lookup(tp.Topic, tp.Partition)
		if !ok || en.Err != nil {
			return "", fmt.Errorf("streams: global topic %s-%d: no end offset", tp.Topic, tp.Partition)
		}
		switch {
		case off < st.Offset:
			return fmt.Sprintf("position %d of %s-%d is below the log start %d", off, tp.Topic, tp.Partition, st.Offset), nil
		case off > en.Offset:
			return fmt.Sprintf("position %d of %s-%d is beyond the log end %d", off, tp.Topic, tp.Partition, en.Offset), nil
		}
	}
	return "", nil
}

// wipe wipes the global stores and resets every position to the log
// start, logging why; the stores' checkpoints then say so.
func (g *globalThread) wipe(reason string) error {
	g.app.cfg.Logger.Warn("streams: global stores do not match their topics; wiping them to rebuild them from the start of the topics", "reason", reason)
	g.mu.Lock()
	defer g.mu.Unlock()
	if err := g.task.reset(); err != nil {
		return err
	}
	return g.task.Checkpoint()
}

// rebuild wipes the global stores and reads the global topics again from
// their log start, with a new consumer. A global topic recreated with
// other partitions cannot be followed: that is an error (a restart picks
// up the new partitions).
func (g *globalThread) rebuild(ctx context.Context, reason string) error {
	td, err := g.app.admin.ListTopics(ctx, g.task.Topics()...)
	if err != nil {
		return fmt.Errorf("streams: global topics: %w", err)
	}
	n := map[string]int{}
	for tp := range g.task.Offsets() {
		n[tp.Topic]++
	}
	for _, tp := range g.task.Topics() {
		d, ok := td[tp]
		if !ok || d.Err != nil {
			return fmt.Errorf("streams: global topic %q: not found", tp)
		}
		if len(d.Partitions) != n[tp] {
			return fmt.Errorf("streams: global topic %q now has %d partitions, not %d; restart the application to read them", tp, len(d.Partitions), n[tp])
		}
		g.topicIDs[tp] = d.ID
	}
	if err := g.wipe(reason); err != nil {
		return err
	}
	cl, err := g.newConsumer(g.task.Offsets())
	if err != nil {
		return err
	}
	g.cl.Close()
	g.cl = cl
	return nil
}

// recreated reports whether topic was deleted and created again since the
// global thread started reading it (its topic id changed).
func (g *globalThread) recreated(ctx context.Context, topic string) (bool, error) {
	old := g.topicIDs[topic]
	if old == (kadm.TopicID{}) {
		return false, nil
	}
	td, err := g.app.admin.ListTopics(ctx, topic)
	if err != nil {
		return false, fmt.Errorf("streams: global topic %q: %w", topic, err)
	}
	d, ok := td[topic]
	if !ok || d.Err != nil || d.ID == (kadm.TopicID{}) {
		return false, nil // gone for now, or no id to compare
	}
	return d.ID != old, nil
}

// bootstrap reads the global topics up to their end offsets, again from
// the start when the stores are rebuilt meanwhile.
func (g *globalThread) bootstrap(ctx context.Context) error {
	for {
		rebuilt, err := g.catchUp(ctx)
		if err != nil || !rebuilt {
			return err
		}
	}
}

// catchUp reads the global topics up to their end offsets as of now. It
// stops early, reporting so, when poll rebuilt the stores.
func (g *globalThread) catchUp(ctx context.Context) (rebuilt bool, err error) {
	list := g.app.admin.ListEndOffsets
	if g.app.eos() {
		list = g.app.admin.ListCommittedOffsets // read committed: up to the last stable offset
	}
	ends, err := list(ctx, g.task.Topics()...)
	if err != nil {
		return false, fmt.Errorf("streams: global topics end offsets: %w", err)
	}
	want := map[TopicPartition]int64{}
	ends.Each(func(o kadm.ListedOffset) {
		if o.Err == nil && o.Offset > 0 {
			want[TopicPartition{Topic: o.Topic, Partition: o.Partition}] = o.Offset
		}
	})
	catchUp := g.beginCatchUp(want)
	defer catchUp.end()
	for {
		caught := true
		offs := g.task.Offsets()
		for tp, end := range want {
			if offs[tp] < end {
				caught = false
			}
		}
		if caught {
			break
		}
		if err := ctx.Err(); err != nil {
			return false, fmt.Errorf("streams: global stores not caught up: %w", err)
		}
		rebuilt, err := g.poll(ctx)
		if err != nil || rebuilt {
			return rebuilt, err
		}
	}
	catchUp.caughtUp()
	return false, g.task.Checkpoint()
}

// poll reads and applies what the global consumer has. A position out of
// range (the log lost applied records, or dropped records not yet
// applied) or a global topic recreated makes it wipe the global stores and
// start reading again from the log start; it then reports rebuilt.
func (g *globalThread) poll(ctx context.Context) (rebuilt bool, err error) {
	pctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	fetches := g.cl.PollRecords(pctx, 10000)
	cancel()
	if fetches.IsClientClosed() {
		return false, errors.New("streams: global consumer closed")
	}
	var reason string
	var ferr error
	fetches.EachError(func(topic string, p int32, err error) {
		if reason != "" {
			return
		}
		var loss *kgo.ErrDataLoss
		switch {
		case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled):
		case errors.Is(err, kerr.OffsetOutOfRange):
			reason = fmt.Sprintf("position of %s-%d out of range", topic, p)
		case errors.As(err, &loss):
			reason = loss.Error()
		case errors.Is(err, kerr.UnknownTopicID):
			recreated, err := g.recreated(ctx, topic)
			if err != nil {
				g.app.cfg.Logger.Warn("streams: global fetch error", "topic", topic, "partition", p, "err", err)
			} else if recreated {
				reason = fmt.Sprintf("topic %s was deleted and recreated", topic)
			}
		case kerr.IsRetriable(err):
			g.app.cfg.Logger.Debug("streams: global fetch error", "topic", topic, "partition", p, "err", err)
		default:
			g.app.cfg.Logger.Warn("streams: global fetch error", "topic", topic, "partition", p, "err", err)
		}
	})
	if reason != "" {
		return true, g.rebuild(ctx, reason)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	fetches.EachPartition(g.observeFetch)
	fetches.EachPartition(func(p kgo.FetchTopicPartition) {
		if ferr != nil || len(p.Records) == 0 {
			return
		}
		tp := TopicPartition{Topic: p.Topic, Partition: p.Partition}
		g.raws = toRaw(g.raws[:0], p.Records)
		if len(g.raws) > 0 {
			if ferr = g.task.Update(tp, g.raws, time.Now().UnixMilli()); ferr != nil {
				return
			}
		}
		g.task.advance(tp, p.Records[len(p.Records)-1].Offset+1)
	})
	clear(g.raws)
	return false, ferr
}

func (g *globalThread) run() error {
	last := time.Now()
	for g.ctx.Err() == nil {
		if _, err := g.poll(g.ctx); err != nil {
			if g.ctx.Err() != nil {
				return nil
			}
			return err
		}
		if time.Since(last) >= g.app.cfg.CommitInterval {
			g.mu.Lock()
			err := g.task.Checkpoint()
			g.mu.Unlock()
			if err != nil {
				return err
			}
			last = time.Now()
		}
	}
	return nil
}

func (g *globalThread) stop() {
	g.cancel()
	g.wg.Wait()
	g.mu.Lock()
	defer g.mu.Unlock()
	if err := g.task.Checkpoint(); err != nil {
		g.app.cfg.Logger.Warn("streams: global checkpoint", "err", err)
	}
	if err := g.task.Close(true); err != nil {
		g.app.cfg.Logger.Warn("streams: close global stores", "err", err)
	}
	g.cl.Close()
}

// noSendCollector is the global task's collector: global processors only
// update their stores.
type noSendCollector struct{}

func (noSendCollector) Send(pr ProducerRecord) error {
	return fmt.Errorf("streams: global store processors cannot send records (to %s)", pr.Topic)
}

func (noSendCollector) PartitionCount(string) (int32, error) {
	return 0, errors.New("streams: global store processors cannot send records")
}
