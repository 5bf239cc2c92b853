// Command manykeys measures the memory and rate of a Rivulet application counting keys
// that are almost all new (user ids), apart from the broker and the input writer: it
// starts a brokerlite, writes the input, then runs the count application in a child
// process of its own and reports the child's rate and peak RSS (anonymous and
// file-backed). The application runs two stream threads, as the streams suite runs it,
// and the runtime's defaults otherwise; --memory-limit auto sets Go's soft memory limit
// as an application program is told to (streams.RecommendedMemoryLimit).
//
//	go run ./benchmarks/manykeys --keys 5000000 --memory-limit auto
//	go run ./benchmarks/manykeys --keys 5000000 --state-memory 0
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rivulet-io/rivulet/brokerlite"
	"github.com/rivulet-io/rivulet/statestore/badgerstore"
	"github.com/rivulet-io/rivulet/streams"
)

const (
	inputTopic  = "manykeys-in"
	outputTopic = "manykeys-out"
	partitions  = 4
	// repeatEvery: one record in repeatEvery repeats an earlier id.
	repeatEvery = 10
)

// appFlags are the application's settings, passed from the parent to the child.
type appFlags struct {
	stateMemory  int64
	memoryLimit  string
	storeOptions string
	props        string
	heapProfile  string
	cpuProfile   string
}

func (f appFlags) args() []string {
	var a []string
	if f.stateMemory >= 0 {
		a = append(a, "--state-memory", strconv.FormatInt(f.stateMemory, 10))
	}
	if f.memoryLimit != "" {
		a = append(a, "--memory-limit", f.memoryLimit)
	}
	if f.storeOptions != "" {
		a = append(a, "--store-options", f.storeOptions)
	}
	if f.props != "" {
		a = append(a, "--props", f.props)
	}
	if f.heapProfile != "" {
		a = append(a, "--heap-profile", f.heapProfile)
	}
	if f.cpuProfile != "" {
		a = append(a, "--cpuprofile", f.cpuProfile)
	}
	return a
}

func main() {
	keys := flag.Int64("keys", 5_000_000, "distinct keys in the input (one record in ten repeats an earlier one)")
	var af appFlags
	flag.Int64Var(&af.stateMemory, "state-memory", -1, "the application's rivulet.state.memory.max.bytes (-1: not set, the runtime's default budget; 0: no budget, each store with badgerstore's defaults)")
	flag.StringVar(&af.memoryLimit, "memory-limit", "", "Go soft memory limit the application program sets: BYTES, or auto (streams.RecommendedMemoryLimit of its settings); empty: none (GOMEMLIMIT from the environment applies)")
	flag.StringVar(&af.storeOptions, "store-options", "", "Badger options of every store, set through WithBadgerConfigSetter: memtable=BYTES,memtables=N,blockcache=BYTES,writebuffer=BYTES,table=BYTES,compression=none|snappy|zstd,keeppages=true|false")
	flag.StringVar(&af.props, "props", "", "more properties of the application, key=value,... (consumer.max.partition.fetch.bytes=262144)")
	flag.StringVar(&af.heapProfile, "heap-profile", "", "write the application's heap profile to this file when it has processed three quarters of the input")
	flag.StringVar(&af.cpuProfile, "cpuprofile", "", "write the application's CPU profile to this file")
	app := flag.String("app", "", "internal: run the count application against this bootstrap address")
	records := flag.Int64("records", 0, "internal: records the application must process")
	stateDir := flag.String("state-dir", "", "internal: the application's state directory")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "Usage: manykeys [flags]\n\nMeasures the rate and peak RSS of a Rivulet count over distinct keys, run in a child process.\n\nExample:\n  go run ./benchmarks/manykeys --keys 5000000 --memory-limit auto\n\nFlags:\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	var err error
	if *app != "" {
		err = runApp(*app, *records, *stateDir, af)
	} else {
		err = run(*keys, af)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "manykeys:", err)
		os.Exit(1)
	}
}

// distinctKey names user id n, scrambled so that consecutive ids spread over the key
// space (the streams suite's many-keys topic uses the same names).
func distinctKey(n uint32) string { return fmt.Sprintf("u%010d", n*2654435761) }

func run(keys int64, af appFlags) error {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "manykeys-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	b, err := brokerlite.Start(ctx, brokerlite.Config{Logger: slog.New(slog.DiscardHandler), Properties: map[string]string{
		"listeners":                        "PLAINTEXT://127.0.0.1:0",
		"log.dirs":                         filepath.Join(dir, "broker"),
		"offsets.topic.num.partitions":     "1",
		"group.initial.rebalance.delay.ms": "0",
	}})
	if err != nil {
		return fmt.Errorf("start brokerlite: %w", err)
	}
	defer b.Close(ctx)
	addr := b.Addr()
	n, err := writeInput(ctx, addr, keys)
	if err != nil {
		return err
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	args := append([]string{"--app", addr, "--records", strconv.FormatInt(n, 10), "--state-dir", filepath.Join(dir, "state")}, af.args()...)
	cmd := exec.Command(exe, args...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("application: %w", err)
	}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		fmt.Printf("application: peak RSS (rusage) %.0f MiB, CPU user %.1fs sys %.1fs\n", float64(ru.Maxrss)/1024,
			time.Duration(ru.Utime.Nano()).Seconds(), time.Duration(ru.Stime.Nano()).Seconds())
	}
	return nil
}

// writeInput writes keys distinct ids (and one repeat in ten records) to the input
// topic and returns the number of records written.
func writeInput(ctx context.Context, addr string, keys int64) (int64, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.DefaultProduceTopic(inputTopic),
		kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite(), kgo.ProducerBatchMaxBytes(1<<20))
	if err != nil {
		return 0, err
	}
	defer cl.Close()
	if _, err := kadm.NewClient(cl).CreateTopics(ctx, partitions, 1, nil, inputTopic, outputTopic); err != nil {
		return 0, fmt.Errorf("create topics: %w", err)
	}
	start := time.Now()
	var (
		n      int64
		wg     sync.WaitGroup
		failed atomic.Pointer[error]
		value  = make([]byte, 100)
		next   uint32
	)
	for int64(next) < keys {
		id := next
		if n%repeatEvery == repeatEvery-1 && next > 0 {
			id = uint32((uint64(n) * 7919) % uint64(next))
		} else {
			next++
		}
		n++
		wg.Add(1)
		cl.Produce(ctx, &kgo.Record{Key: []byte(distinctKey(id)), Value: value}, func(_ *kgo.Record, err error) {
			defer wg.Done()
			if err != nil {
				failed.CompareAndSwap(nil, &err)
			}
		})
		if n%1_000_000 == 0 {
			fmt.Fprintf(os.Stderr, "writing input: %d records\n", n)
		}
	}
	wg.Wait()
	if e := failed.Load(); e != nil {
		return 0, fmt.Errorf("write input: %w", *e)
	}
	fmt.Fprintf(os.Stderr, "input: %d records, %d distinct keys, %d partitions, written in %s\n", n, keys, partitions, time.Since(start).Round(time.Millisecond))
	return n, nil
}

// runApp runs the count until it has processed records records, then reports its rate
// and peak RSS.
func runApp(addr string, records int64, stateDir string, af appFlags) error {
	if af.cpuProfile != "" {
		f, err := os.Create(af.cpuProfile)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer func() {
			pprof.StopCPUProfile()
			f.Close()
		}()
	}
	str := streams.StringSerde()
	b := streams.NewBuilder()
	var seen atomic.Int64
	streams.NewStream(b, inputTopic, streams.ConsumedWith(str, streams.BytesSerde())).
		Peek(func(string, []byte) { seen.Add(1) }).
		GroupByKey().Count().ToStream().To(outputTopic, streams.ProducedWith(str, streams.Int64Serde()))
	topo, err := b.Build()
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	opts := []streams.Option{streams.WithLogger(logger)}
	if af.storeOptions != "" {
		set, err := parseStoreOptions(af.storeOptions)
		if err != nil {
			return err
		}
		opts = append(opts, streams.WithBadgerConfigSetter(func(_ string, o *badgerstore.Options) { set(o) }))
	}
	props := streams.Properties{
		streams.PropApplicationID:    "manykeys",
		streams.PropBootstrapServers: addr,
		streams.PropStateDir:         stateDir,
		streams.PropNumStreamThreads: "2",
	}
	if af.props != "" {
		for _, kv := range strings.Split(af.props, ",") {
			k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
			if !ok {
				return fmt.Errorf("--props: %q is not key=value", kv)
			}
			props[k] = v
		}
	}
	if af.stateMemory >= 0 {
		props[streams.PropStateMemoryMaxBytes] = strconv.FormatInt(af.stateMemory, 10)
	}
	switch af.memoryLimit {
	case "":
	case "auto":
		limit, err := streams.RecommendedMemoryLimit(props)
		if err != nil {
			return err
		}
		debug.SetMemoryLimit(limit)
	default:
		limit, err := strconv.ParseInt(af.memoryLimit, 10, 64)
		if err != nil {
			return fmt.Errorf("--memory-limit %q: %w", af.memoryLimit, err)
		}
		debug.SetMemoryLimit(limit)
	}
	if limit := debug.SetMemoryLimit(-1); limit != 1<<63-1 {
		fmt.Fprintf(os.Stderr, "application: Go memory limit %d MiB\n", limit>>20)
	}
	app, err := streams.New(topo, props, opts...)
	if err != nil {
		return err
	}
	ctx := context.Background()
	start := time.Now()
	if err := app.Start(ctx); err != nil {
		return err
	}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var peakAnon, peakFile int64
	lastReport, lastSample := start, start
	heapProfile := af.heapProfile
	var first time.Duration // when the first record was processed
	for seen.Load() < records {
		<-tick.C
		if first == 0 && seen.Load() > 0 {
			first = time.Since(start)
			fmt.Fprintf(os.Stderr, "application: first records processed %s after start\n", first.Round(10*time.Millisecond))
		}
		if heapProfile != "" && seen.Load() >= records*3/4 {
			if err := writeHeapProfile(heapProfile); err != nil {
				return err
			}
			heapProfile = ""
		}
		if time.Since(lastSample) >= time.Second {
			lastSample = time.Now()
			peakAnon = max(peakAnon, statusKiB("RssAnon"))
			peakFile = max(peakFile, statusKiB("RssFile"))
		}
		if time.Since(lastReport) >= 10*time.Second {
			lastReport = time.Now()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			fmt.Fprintf(os.Stderr, "application: %d of %d records, RSS %d MiB (anonymous %d, files %d), heap in use %d MiB, heap from the system %d MiB\n",
				seen.Load(), records, statusKiB("VmRSS")>>10, statusKiB("RssAnon")>>10, statusKiB("RssFile")>>10, ms.HeapInuse>>20, ms.HeapSys>>20)
		}
	}
	elapsed := time.Since(start)
	peakAnon = max(peakAnon, statusKiB("RssAnon"))
	peakFile = max(peakFile, statusKiB("RssFile"))
	fmt.Printf("application: state on disk %s\n", stateFiles(stateDir))
	if err := app.Close(ctx); err != nil {
		return err
	}
	fmt.Printf("application: %d records in %s: %.1fk records/s; peak RSS (VmHWM) %d MiB; peak anonymous %d MiB, peak file-backed %d MiB (1s samples)\n",
		records, elapsed.Round(time.Millisecond), float64(records)/elapsed.Seconds()/1000, statusKiB("VmHWM")>>10, peakAnon>>10, peakFile>>10)
	return nil
}

// parseStoreOptions parses --store-options into a function that applies them.
func parseStoreOptions(s string) (func(*badgerstore.Options), error) {
	var sets []func(*badgerstore.Options)
	for _, kv := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
		if !ok {
			return nil, fmt.Errorf("--store-options: %q is not key=value", kv)
		}
		if k == "compression" {
			c, err := badgerstore.ParseCompression(v)
			if err != nil {
				return nil, err
			}
			sets = append(sets, func(o *badgerstore.Options) { o.Compression = c })
			continue
		}
		if k == "keeppages" {
			keep, err := strconv.ParseBool(v)
			if err != nil {
				return nil, fmt.Errorf("--store-options keeppages: %w", err)
			}
			sets = append(sets, func(o *badgerstore.Options) { o.KeepTablePages = keep })
			continue
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("--store-options %s: %w", k, err)
		}
		var set func(*badgerstore.Options)
		switch k {
		case "memtable":
			set = func(o *badgerstore.Options) { o.MemTableSize = n }
		case "memtables":
			set = func(o *badgerstore.Options) { o.NumMemtables = int(n) }
		case "blockcache":
			set = func(o *badgerstore.Options) { o.BlockCacheSize = n }
		case "writebuffer":
			set = func(o *badgerstore.Options) { o.WriteBufferSize = n }
		case "table":
			set = func(o *badgerstore.Options) { o.BaseTableSize = n }
		default:
			return nil, errors.New("--store-options: unknown option " + k)
		}
		sets = append(sets, set)
	}
	return func(o *badgerstore.Options) {
		for _, set := range sets {
			set(o)
		}
	}, nil
}

// stateFiles sums the sizes of the stores' files under dir by kind: tables (.sst),
// memtable logs (.mem), value logs (.vlog).
func stateFiles(dir string) string {
	sizes := map[string]int64{}
	_ = filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		if info, err := d.Info(); err == nil {
			sizes[filepath.Ext(path)] += info.Size()
		}
		return nil
	})
	return fmt.Sprintf("tables %d MiB, memtable logs %d MiB, value logs %d MiB", sizes[".sst"]>>20, sizes[".mem"]>>20, sizes[".vlog"]>>20)
}

// writeHeapProfile writes the heap profile (after a collection) to path.
func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	runtime.GC()
	if err := pprof.WriteHeapProfile(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// statusKiB returns a field of /proc/self/status in KiB ("VmHWM", "RssAnon"), 0 when
// it cannot be read.
func statusKiB(field string) int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}
