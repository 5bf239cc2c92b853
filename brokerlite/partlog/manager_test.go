package partlog

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rivulet-io/rivulet/internal/testutil"
)

func TestManager(t *testing.T) {
	d1, d2 := t.TempDir(), t.TempDir()
	clk := newClock()
	mc := ManagerConfig{LogDirs: []string{d1, d2}, Options: testOpts(clk), CleanerBackoff: time.Hour, RetentionCheckInterval: time.Hour}
	m, err := OpenManager(mc)
	if err != nil {
		t.Fatal(err)
	}
	compact := compactConfig()
	for p := int32(0); p < 4; p++ {
		l, err := m.GetOrCreate("orders", p, smallConfig())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := l.Append(mkBatch(t, batchOpt{}, valueRecs(2, clk.Ms(), fmt.Sprint(p))...)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := m.GetOrCreate("bad/topic", 0, smallConfig()); err == nil {
		t.Fatal("invalid topic name accepted")
	}
	if _, err := m.GetOrCreate("my-topic.v2", 0, compact); err != nil {
		t.Fatal(err)
	}
	// Partitions spread over both dirs.
	for _, d := range []string{d1, d2} {
		ents, _ := os.ReadDir(d)
		if len(ents) < 2 {
			t.Fatalf("%s holds %d partitions", d, len(ents))
		}
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}

	// Reopen: every partition is found, with its data, and the per-topic
	// config from TopicConfig.
	mc.TopicConfig = func(topic string) Config {
		if topic == "my-topic.v2" {
			return compact
		}
		return smallConfig()
	}
	m, err = OpenManager(mc)
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprint(m.Partitions())
	if got != "[my-topic.v2-0 orders-0 orders-1 orders-2 orders-3]" {
		t.Fatalf("partitions after reopen: %s", got)
	}
	l, ok := m.Get("orders", 2)
	if !ok || l.LogEndOffset() != 2 {
		t.Fatalf("orders-2 after reopen: %v", ok)
	}
	if c, _ := m.Get("my-topic.v2", 0); !c.Config().CleanupPolicy.Compact() {
		t.Fatal("topic config not applied at open")
	}
	// Delete: the directory is renamed, then removed.
	dir := l.Dir()
	if err := m.Delete("orders", 2); err != nil {
		t.Fatal(err)
	}
	if _, ok := m.Get("orders", 2); ok {
		t.Fatal("deleted partition still there")
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("partition dir still there: %v", err)
	}
	testutil.Eventually(t, 10*time.Second, "deleted partition dir removed", func() bool {
		ents, _ := os.ReadDir(filepath.Dir(dir))
		for _, e := range ents {
			if strings.HasSuffix(e.Name(), "-delete") {
				return false
			}
		}
		return true
	})
	if _, err := l.Append(mkBatch(t, batchOpt{}, valueRecs(1, 1, "x")...)); err == nil {
		t.Fatal("append to a deleted log succeeded")
	}
	// Retention and the cleaner run on demand.
	if err := m.RunRetention(); err != nil {
		t.Fatal(err)
	}
	if _, err := m.RunCleaner(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}

	// A deletion interrupted by a crash is finished at the next start.
	doomed := filepath.Join(d1, "orders-0.0123456789abcdef0123456789abcdef-delete")
	if err := os.MkdirAll(doomed, 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(doomed, segmentName(0, logSuffix)), []byte("junk"), 0o644)
	m, err = OpenManager(mc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(doomed); !os.IsNotExist(err) {
		t.Fatal("-delete dir survived a restart")
	}
	m.Close()

	// The same partition in two log dirs is an error, as in Kafka.
	for _, d := range []string{d1, d2} {
		os.MkdirAll(filepath.Join(d, "dup-0"), 0o755)
	}
	if _, err := OpenManager(mc); err == nil || !strings.Contains(err.Error(), "more than one log dir") {
		t.Fatalf("duplicate partition: %v", err)
	}
}

func TestManagerBackgroundCleaner(t *testing.T) {
	mc := ManagerConfig{LogDirs: []string{t.TempDir()}, Options: testOpts(nil), CleanerBackoff: 10 * time.Millisecond}
	m, err := OpenManager(mc)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	cfg := compactConfig()
	cfg.MinCleanableDirtyRatio = 0.1
	l, err := m.GetOrCreate("changelog", 0, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 300; i++ {
		if _, err := l.Append(mkBatch(t, batchOpt{}, rec{key: []byte("k"), value: []byte(fmt.Sprint(i)), ts: time.Now().UnixMilli()})); err != nil {
			t.Fatal(err)
		}
	}
	before := l.Size()
	if !testutil.Poll(20*time.Second, func() bool { return l.Size() < before/2 }) {
		t.Fatalf("background cleaner did not compact: size %d of %d", l.Size(), before)
	}
}

func TestParseTopicPartition(t *testing.T) {
	for name, want := range map[string]string{
		"orders-0": "orders-0", "my-topic-12": "my-topic-12", "a.b_c-3": "a.b_c-3",
		"orders": "", "orders-": "", "orders-x": "", "-1": "", "orders-01": "", "orders-0.abc-delete": "",
	} {
		tp, ok := ParseTopicPartition(name)
		if (want == "") == ok || ok && tp.String() != want {
			t.Errorf("%s: %v %v", name, tp, ok)
		}
	}
}
