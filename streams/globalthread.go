package streams

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
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
	start := task.Checkpoints()
	consume := map[string]map[int32]kgo.Offset{}
	for tp, off := range start {
		if consume[tp.Topic] == nil {
			consume[tp.Topic] = map[int32]kgo.Offset{}
		}
		consume[tp.Topic][tp.Partition] = kgo.NewOffset().At(off)
	}
	cl, err := a.newClient([]client.Role{client.RoleConsumer}, "",
		kgo.ClientID(a.cfg.ClientID+"-GlobalStreamThread"),
		kgo.ConsumePartitions(consume),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		// Transaction markers move the position past the end of a
		// transaction (they are not applied): a global topic that ends
		// with one is caught up once it is read.
		kgo.KeepControlRecords())
	if err != nil {
		task.Close(false)
		return err
	}
	g := &globalThread{app: a, task: task, cl: cl}
	g.ctx, g.cancel = context.WithCancel(a.runCtx)
	if err := task.Initialize(time.Now().UnixMilli()); err != nil {
		cl.Close()
		task.Close(false)
		return err
	}
	if err := g.bootstrap(ctx); err != nil {
		cl.Close()
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

// bootstrap reads the global topics up to their end offsets.
func (g *globalThread) bootstrap(ctx context.Context) error {
	list := g.app.admin.ListEndOffsets
	if g.app.eos() {
		list = g.app.admin.ListCommittedOffsets // read committed: up to the last stable offset
	}
	ends, err := list(ctx, g.task.Topics()...)
	if err != nil {
		return fmt.Errorf("streams: global topics end offsets: %w", err)
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
			return fmt.Errorf("streams: global stores not caught up: %w", err)
		}
		if err := g.poll(ctx); err != nil {
			return err
		}
	}
	catchUp.caughtUp()
	return g.task.Checkpoint()
}

func (g *globalThread) poll(ctx context.Context) error {
	pctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	fetches := g.cl.PollRecords(pctx, 10000)
	cancel()
	if fetches.IsClientClosed() {
		return errors.New("streams: global consumer closed")
	}
	fetches.EachError(func(topic string, p int32, err error) {
		if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
			g.app.cfg.Logger.Warn("streams: global fetch error", "topic", topic, "partition", p, "err", err)
		}
	})
	g.mu.Lock()
	defer g.mu.Unlock()
	fetches.EachPartition(g.observeFetch)
	var ferr error
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
	return ferr
}

func (g *globalThread) run() error {
	last := time.Now()
	for g.ctx.Err() == nil {
		if err := g.poll(g.ctx); err != nil {
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
