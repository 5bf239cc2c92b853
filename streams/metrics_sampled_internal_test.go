package streams

import (
	"testing"
	"time"
)

// TestSampledLatencyWindows: latency stats cover the last samples windows
// only: a window's recordings count until samples windows later, and a
// sample is cleared when a later window reuses it (three windows are kept
// in four samples).
func TestSampledLatencyWindows(t *testing.T) {
	const w = int64(10 * time.Second)
	s := newLatencySamples(2)
	check := func(when string, now, n, sum, largest int64) {
		t.Helper()
		gn, gs, gm := s.read(w, now)
		if gn != n || gs != sum || gm != largest {
			t.Errorf("%s: n %d sum %d max %d, want %d %d %d", when, gn, gs, gm, n, sum, largest)
		}
	}
	check("before any", 100*w, 0, 0, 0)
	s.add(w, 100*w+1, 5)
	s.add(w, 100*w+2, 7)
	check("window 100", 100*w+3, 2, 12, 7)
	s.add(w, 101*w+1, 3)
	check("windows 100 and 101", 101*w+2, 3, 15, 7)
	// Window 102 takes window 100's sample.
	s.add(w, 102*w+1, 1)
	check("windows 101 and 102", 102*w+1, 2, 4, 3)
	check("windows 102 and 103", 103*w+5, 1, 1, 1)
	check("windows 103 and 104", 104*w, 0, 0, 0)
	// A recording with an older clock than the sample's window (another
	// goroutine's) lands in the sample rather than clearing it.
	s.add(w, 105*w, 4)
	s.add(w, 103*w, 9)
	check("window 105", 105*w+1, 2, 13, 9)

	three := newLatencySamples(3)
	for i := int64(0); i < 5; i++ {
		three.add(w, (10+i)*w, i+1)
	}
	if n, sum, largest := three.read(w, 14*w); n != 3 || sum != 3+4+5 || largest != 5 {
		t.Errorf("three samples: n %d sum %d max %d", n, sum, largest)
	}
}

// TestStoreStatsSampleWindow: a scrape's averages and maxima come from
// the sample windows while the operation counts are since the start; with
// a 1 ms window and one sample, a recording leaves the stats within
// milliseconds.
func TestStoreStatsSampleWindow(t *testing.T) {
	var meters storeMeters
	meters.setSampling(time.Millisecond, 1)
	task := &streamTask{id: TaskID{}, storeOrder: []string{"s"}}
	m := meters.get(meterKey{store: "s"})
	if m.ops[opPut].samples.n != 1 || m.window != int64(time.Millisecond) {
		t.Fatalf("meter sampling: %d samples of %d ns", m.ops[opPut].samples.n, m.window)
	}
	m.done(opPut, time.Now())
	deadline := time.Now().Add(5 * time.Second)
	for {
		st := task.storeStats(&meters)
		if len(st) != 1 || st[0].ops[opPut][0] != 1 {
			t.Fatalf("stats %+v", st)
		}
		if st[0].recent[opPut] == 0 {
			if st[0].ops[opPut][1] != 0 || st[0].ops[opPut][2] != 0 {
				t.Fatalf("latency without recordings: %+v", st[0].ops[opPut])
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the put stayed in a 1 ms sample window for 5 s")
		}
		time.Sleep(time.Millisecond)
	}
}

// TestSamplingConfig: metrics.sample.window.ms and metrics.num.samples
// default to Kafka Streams' 30 s and 2, and are validated.
func TestSamplingConfig(t *testing.T) {
	base := Properties{"application.id": "a", "bootstrap.servers": "x:1"}
	cfg, err := parseConfig(base)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Ops.SampleWindow != 30*time.Second || cfg.Ops.NumSamples != 2 {
		t.Errorf("defaults: %v, %d", cfg.Ops.SampleWindow, cfg.Ops.NumSamples)
	}
	with := func(kv ...string) Properties {
		p := Properties{}
		for k, v := range base {
			p[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			p[kv[i]] = kv[i+1]
		}
		return p
	}
	cfg, err = parseConfig(with(PropMetricsSampleWindowMs, "1500", PropMetricsNumSamples, "4"))
	if err != nil || cfg.Ops.SampleWindow != 1500*time.Millisecond || cfg.Ops.NumSamples != 4 {
		t.Errorf("set: %v %+v", err, cfg.Ops)
	}
	for _, bad := range []Properties{
		with(PropMetricsSampleWindowMs, "0"), with(PropMetricsSampleWindowMs, "x"),
		with(PropMetricsNumSamples, "0"), with(PropMetricsNumSamples, "-2"),
	} {
		if _, err := parseConfig(bad); err == nil {
			t.Errorf("%v: no error", bad)
		}
	}
}
