package harness

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"
	"log"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"
	"github.com/lovoo/goka"
	"github.com/lovoo/goka/codec"
	"github.com/lovoo/goka/storage"

	"github.com/rivulet-io/rivulet/examples/wordcount/wordcount"
)

// gokaConfig is what the goka programs of the harness share.
type gokaConfig struct {
	brokers []string
	// acks is the producers' RequiredAcks; goka's default is WaitForLocal
	// (acks=1).
	acks sarama.RequiredAcks
	// stateDir holds the processors' LevelDB stores (goka's default
	// storage).
	stateDir string
}

// saramaConfig is goka's default sarama configuration (goka.DefaultConfig:
// Kafka 2.0.0 protocol, snappy, producer flush every 100ms or 64 KiB, acks=1)
// with two changes, both needed for the comparison rather than for speed:
// streams are read from the oldest offset (goka reads new records only by
// default; Rivulet, as Kafka Streams, from the earliest), and the acks the
// run asks of both systems. goka's builders write the client id into the
// config they are given, so each builder gets its own copy.
func (gc *gokaConfig) saramaConfig() *sarama.Config {
	cfg := goka.DefaultConfig()
	cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	cfg.Producer.RequiredAcks = gc.acks
	return cfg
}

func (gc *gokaConfig) topicManagerConfig() *goka.TopicManagerConfig {
	tmc := goka.NewTopicManagerConfig()
	tmc.Table.Replication = 1
	tmc.Stream.Replication = 1
	return tmc
}

func (gc *gokaConfig) processorOptions(group goka.Group) []goka.ProcessorOption {
	return []goka.ProcessorOption{
		goka.WithTopicManagerBuilder(func(brokers []string) (goka.TopicManager, error) {
			return goka.TopicManagerBuilderWithConfig(gc.saramaConfig(), gc.topicManagerConfig())(brokers)
		}),
		goka.WithConsumerGroupBuilder(func(brokers []string, group, clientID string) (sarama.ConsumerGroup, error) {
			return goka.ConsumerGroupBuilderWithConfig(gc.saramaConfig())(brokers, group, clientID)
		}),
		goka.WithConsumerSaramaBuilder(func(brokers []string, clientID string) (sarama.Consumer, error) {
			return goka.SaramaConsumerBuilderWithConfig(gc.saramaConfig())(brokers, clientID)
		}),
		goka.WithProducerBuilder(func(brokers []string, clientID string, hasher func() hash.Hash32) (goka.Producer, error) {
			return goka.ProducerBuilderWithConfig(gc.saramaConfig())(brokers, clientID, hasher)
		}),
		goka.WithStorageBuilder(storage.DefaultBuilder(filepath.Join(gc.stateDir, string(group)))),
		goka.WithLogger(log.New(io.Discard, "", 0)),
	}
}

// int64Codec encodes counts as 8-byte big-endian int64s, the encoding
// Rivulet's word count writes, so both outputs are read the same way and
// carry the same bytes. (goka's codec.Int64 writes decimal text.)
type int64Codec struct{}

func (int64Codec) Encode(v any) ([]byte, error) {
	n, ok := v.(int64)
	if !ok {
		return nil, fmt.Errorf("harness: int64 codec: %T is not an int64", v)
	}
	return binary.BigEndian.AppendUint64(nil, uint64(n)), nil
}

func (int64Codec) Decode(b []byte) (any, error) {
	if len(b) != 8 {
		return nil, fmt.Errorf("harness: int64 codec: %d bytes, want 8", len(b))
	}
	return int64(binary.BigEndian.Uint64(b)), nil
}

// gokaRun is a set of running goka processors.
type gokaRun struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex
	errs   []error
}

func (gr *gokaRun) run(ctx context.Context, p *goka.Processor) {
	gr.wg.Add(1)
	go func() {
		defer gr.wg.Done()
		if err := p.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
			gr.mu.Lock()
			gr.errs = append(gr.errs, err)
			gr.mu.Unlock()
		}
	}()
}

// failed returns the first processor failure so far, if any.
func (gr *gokaRun) failed() error {
	gr.mu.Lock()
	defer gr.mu.Unlock()
	if len(gr.errs) > 0 {
		return gr.errs[0]
	}
	return nil
}

// gokaStopTimeout bounds the wait for goka's processors to return once
// cancelled (sarama's consumer group close can block on a broker answer).
const gokaStopTimeout = 30 * time.Second

// stop stops the processors and waits for them, at most gokaStopTimeout;
// after that it reports them as still running (their goroutines are left
// behind, and the error says so).
func (gr *gokaRun) stop() error {
	gr.cancel()
	done := make(chan struct{})
	go func() {
		gr.wg.Wait()
		close(done)
	}()
	t := time.NewTimer(gokaStopTimeout)
	defer t.Stop()
	select {
	case <-done:
		return gr.failed()
	case <-t.C:
		return fmt.Errorf("harness: goka processors still running %v after being stopped", gokaStopTimeout)
	}
}

// gokaWordCountTopics names the topics of the goka word count with prefix:
// the stream of words and the count group's table (goka names it
// "<group>-table").
func gokaWordCountTopics(prefix string) (words string, table string) {
	return prefix + "-words", string(goka.GroupTable(goka.Group(prefix + "-count")))
}

// startGokaWordCount runs the word count as goka programs it: a split
// processor (group "<prefix>-split") reads text lines and emits every word
// keyed by the word to the words stream, split by the same rule as
// Rivulet's ([wordcount.Words]); a counting processor (group
// "<prefix>-count") adds one to the word's count in its group table for
// every word it reads. The words stream must exist (with the partition count
// of the input, as Rivulet's repartition topic); goka creates the table.
func startGokaWordCount(gc *gokaConfig, input, prefix string) (*gokaRun, error) {
	wordsTopic, _ := gokaWordCountTopics(prefix)
	words := goka.Stream(wordsTopic)
	split := goka.DefineGroup(goka.Group(prefix+"-split"),
		goka.Input(goka.Stream(input), new(codec.String), func(ctx goka.Context, msg any) {
			for _, w := range wordcount.Words(msg.(string)) {
				ctx.Emit(words, w, w)
			}
		}),
		goka.Output(words, new(codec.String)),
	)
	countGroup := goka.Group(prefix + "-count")
	count := goka.DefineGroup(countGroup,
		goka.Input(words, new(codec.String), func(ctx goka.Context, _ any) {
			var n int64
			if v := ctx.Value(); v != nil {
				n = v.(int64)
			}
			ctx.SetValue(n + 1)
		}),
		goka.Persist(int64Codec{}),
	)
	ctx, cancel := context.WithCancel(context.Background())
	gr := &gokaRun{cancel: cancel}
	for _, g := range []*goka.GroupGraph{split, count} {
		p, err := goka.NewProcessor(gc.brokers, g, gc.processorOptions(g.Group())...)
		if err != nil {
			_ = gr.stop()
			return nil, fmt.Errorf("harness: goka processor %s: %w", g.Group(), err)
		}
		gr.run(ctx, p)
	}
	return gr, nil
}

// saramaDecodeErrors counts the Fetch answers sarama could not decode, from
// sarama's log: "error decoding packet" lines. sarama then drops the
// connection and retries after Consumer.Retry.Backoff (2s), so each one
// costs goka time that is the broker's fault, not goka's; runs report them.
var saramaDecodeErrors = installSaramaLogCounter()

type saramaLogCounter struct {
	n    atomic.Int64
	next sarama.StdLogger
}

// installSaramaLogCounter wraps sarama's package logger (a global: the
// harness is a program's only user of sarama while it runs goka).
func installSaramaLogCounter() *saramaLogCounter {
	c := &saramaLogCounter{next: sarama.Logger}
	sarama.Logger = c
	return c
}

func (c *saramaLogCounter) count(s string) {
	if strings.Contains(s, "error decoding packet") {
		c.n.Add(1)
	}
}

func (c *saramaLogCounter) Print(v ...any) {
	c.count(fmt.Sprint(v...))
	c.next.Print(v...)
}

func (c *saramaLogCounter) Printf(format string, v ...any) {
	c.count(fmt.Sprintf(format, v...))
	c.next.Printf(format, v...)
}

func (c *saramaLogCounter) Println(v ...any) {
	c.count(fmt.Sprintln(v...))
	c.next.Println(v...)
}

// decodeWarning words the decode errors seen since before.
func decodeWarning(before int64) string {
	n := saramaDecodeErrors.n.Load() - before
	if n == 0 {
		return ""
	}
	return fmt.Sprintf("sarama could not decode %d Fetch answer(s) from brokerlite and retried each after a 2s backoff (a broker issue that slows goka)", n)
}
