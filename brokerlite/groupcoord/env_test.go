package groupcoord

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/datadriven"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestInteraction runs the scripted coordinator tests in testdata/. Each
// command's output lists what it answered at once, then every callback
// (JoinGroup, SyncGroup) that completed during the command, in order.
// Refresh expected output with: go test ./brokerlite/groupcoord -run TestInteraction -rewrite
func TestInteraction(t *testing.T) {
	datadriven.Walk(t, "testdata", func(t *testing.T, path string) {
		e := newEnv(t)
		defer e.close()
		datadriven.RunTest(t, path, e.handle)
	})
}

// env is the scripted test environment: a coordinator over a fake clock
// and an in-memory log, with deterministic member ids.
type env struct {
	t      *testing.T
	clock  *fakeClock
	log    *memLog
	cfg    Config
	c      *Coordinator
	nextID int

	mu  sync.Mutex
	out []string // async answers since the last command
}

func newEnv(t *testing.T) *env {
	return &env{t: t, clock: newFakeClock(), log: newMemLog()}
}

func (e *env) close() {
	if e.c != nil {
		e.c.Close()
		if n := e.clock.pending(); n != 0 {
			e.t.Errorf("%d timers still scheduled after Close", n)
		}
	}
}

func (e *env) emit(format string, args ...any) {
	e.mu.Lock()
	e.out = append(e.out, fmt.Sprintf(format, args...))
	e.mu.Unlock()
}

// envCommands maps each script command to its handler, which returns what the command
// answers at once (what the coordinator answers later is collected in e.out).
var envCommands = map[string]func(e *env, t *testing.T, d *datadriven.TestData) string{
	"start":         (*env).cmdStart,
	"restart":       (*env).cmdRestart,
	"advance":       (*env).cmdAdvance,
	"join":          func(e *env, t *testing.T, d *datadriven.TestData) string { e.cmdJoin(t, d); return "" },
	"sync":          func(e *env, t *testing.T, d *datadriven.TestData) string { e.cmdSync(t, d); return "" },
	"heartbeat":     (*env).cmdHeartbeat,
	"leave":         (*env).cmdLeave,
	"commit":        (*env).cmdCommit,
	"fetch":         (*env).cmdFetch,
	"offset-delete": (*env).cmdOffsetDelete,
	"expire":        func(e *env, t *testing.T, d *datadriven.TestData) string { e.c.ExpireOffsets(); return "" },
	"describe":      (*env).cmdDescribe,
	"list":          (*env).cmdList,
	"delete":        (*env).cmdDelete,
	"log":           (*env).cmdLog,
	"fail-appends": func(e *env, t *testing.T, d *datadriven.TestData) string {
		e.log.mu.Lock()
		e.log.failAppends = d.CmdArgs[0].Key == "on"
		e.log.mu.Unlock()
		return ""
	},
	"corrupt-log": (*env).cmdCorruptLog,
}

func (e *env) handle(t *testing.T, d *datadriven.TestData) string {
	e.t = t
	cmd, ok := envCommands[d.Cmd]
	if !ok {
		d.Fatalf(t, "unknown command %q", d.Cmd)
	}
	immediate := cmd(e, t, d)
	e.mu.Lock()
	async := e.out
	e.out = nil
	e.mu.Unlock()
	var b strings.Builder
	b.WriteString(immediate)
	for _, s := range async {
		b.WriteString(s)
		b.WriteByte('\n')
	}
	if b.Len() == 0 {
		return "ok\n"
	}
	return b.String()
}

func (e *env) startCoordinator(t *testing.T) {
	cfg := e.cfg
	c, err := Start(context.Background(), cfg)
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	e.c = c
}

// start [partitions=N] [initial-delay=D] [min-session=D] [max-session=D]
// [max-size=N] [retention=D] [check-interval=D] [metadata-max=N] [known-partitions=t/0,t/1]
func (e *env) cmdStart(t *testing.T, d *datadriven.TestData) string {
	if e.c != nil {
		e.c.Close()
	}
	e.cfg = Config{
		Log:                    e.log,
		Clock:                  e.clock,
		Logger:                 slog.New(slog.NewTextHandler(io.Discard, nil)),
		Partitions:             int32(intArg(t, d, "partitions", 4)),
		MinSessionTimeout:      durArg(t, d, "min-session", time.Second),
		MaxSessionTimeout:      durArg(t, d, "max-session", time.Minute),
		InitialRebalanceDelay:  durArg(t, d, "initial-delay", 0),
		GroupMaxSize:           intArg(t, d, "max-size", 0),
		OffsetsRetention:       durArg(t, d, "retention", 0),
		OffsetMetadataMaxBytes: intArg(t, d, "metadata-max", 0),
		NewMemberJoinTimeout:   durArg(t, d, "new-member-timeout", 0),
		NewMemberID: func(prefix string) string {
			e.nextID++
			return fmt.Sprintf("%s-%d", prefix, e.nextID)
		},
	}
	e.cfg.NoInitialRebalanceDelay = e.cfg.InitialRebalanceDelay == 0
	// The periodic expiry pass is driven by the "expire" command only.
	e.cfg.OffsetsRetentionCheckInterval = durArg(t, d, "check-interval", 1000*time.Hour)
	if known := strArg(d, "known-partitions", ""); known != "" {
		set := make(map[string]bool)
		for _, tp := range strings.Split(known, ",") {
			set[tp] = true
		}
		e.cfg.PartitionExists = func(topic string, p int32) bool { return set[fmt.Sprintf("%s/%d", topic, p)] }
	}
	e.startCoordinator(t)
	return ""
}

// restart closes the coordinator and starts a new one from the same log,
// then describes what was loaded.
func (e *env) cmdRestart(t *testing.T, d *datadriven.TestData) string {
	e.c.Close()
	if n := e.clock.pending(); n != 0 {
		t.Fatalf("%d timers still scheduled after Close", n)
	}
	e.startCoordinator(t)
	var b strings.Builder
	if n := e.c.LoadSkipped(); n > 0 {
		fmt.Fprintf(&b, "skipped %d malformed batches or records\n", n)
	}
	for _, l := range e.c.ListGroups() {
		b.WriteString(formatDescription(e.c.DescribeGroups([]string{l.Group})[0]))
	}
	return b.String()
}

// advance D
func (e *env) cmdAdvance(t *testing.T, d *datadriven.TestData) string {
	dur, err := time.ParseDuration(d.CmdArgs[0].Key)
	if err != nil {
		d.Fatalf(t, "advance: %v", err)
	}
	e.clock.Advance(dur)
	return ""
}

func errName(code int16) string {
	if code == 0 {
		return "NONE"
	}
	if err := kerr.ErrorForCode(code); err != nil {
		if ke, ok := err.(*kerr.Error); ok {
			return ke.Message
		}
		return err.Error()
	}
	return strconv.Itoa(int(code))
}

func formatDescription(g GroupDescription) string {
	var b strings.Builder
	fmt.Fprintf(&b, "group %s: state=%s", g.Group, g.State)
	if g.ErrorCode != 0 {
		fmt.Fprintf(&b, " err=%s", errName(g.ErrorCode))
	}
	if !g.Exists {
		b.WriteString(" (unknown)")
	}
	if g.ProtocolType != "" {
		fmt.Fprintf(&b, " type=%s", g.ProtocolType)
	}
	if g.Protocol != "" {
		fmt.Fprintf(&b, " protocol=%s", g.Protocol)
	}
	b.WriteByte('\n')
	for _, m := range g.Members {
		fmt.Fprintf(&b, "  member %s", m.MemberID)
		if m.InstanceID != "" {
			fmt.Fprintf(&b, " instance=%s", m.InstanceID)
		}
		fmt.Fprintf(&b, " client=%s", m.ClientID)
		if m.Metadata != nil {
			fmt.Fprintf(&b, " metadata=%s", formatMetadata(m.Metadata))
		}
		if m.Assignment != nil {
			fmt.Fprintf(&b, " assignment=%q", m.Assignment)
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// formatMetadata shows consumer-protocol metadata as its topics and
// anything else as a quoted string.
func formatMetadata(b []byte) string {
	var m kmsg.ConsumerMemberMetadata
	if len(b) > 2 && b[0] == 0 && m.ReadFrom(b) == nil && len(m.Topics) > 0 {
		return "topics:" + strings.Join(m.Topics, ",")
	}
	return strconv.Quote(string(b))
}

func intArg(t *testing.T, d *datadriven.TestData, key string, def int) int {
	if !d.HasArg(key) {
		return def
	}
	var v int
	d.ScanArgs(t, key, &v)
	return v
}

func strArg(d *datadriven.TestData, key, def string) string {
	for _, a := range d.CmdArgs {
		if a.Key == key {
			if len(a.Vals) == 0 {
				return ""
			}
			return strings.Join(a.Vals, ",")
		}
	}
	return def
}

func durArg(t *testing.T, d *datadriven.TestData, key string, def time.Duration) time.Duration {
	s := strArg(d, key, "")
	if s == "" {
		return def
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		d.Fatalf(t, "%s: %v", key, err)
	}
	return v
}

// parseTPs parses "t/0,t/1,u/3" into topics in first-seen order.
func parseTPs(t *testing.T, d *datadriven.TestData, s string) []FetchTopic {
	var out []FetchTopic
	idx := map[string]int{}
	for _, tp := range strings.Split(s, ",") {
		topic, ps, ok := strings.Cut(tp, "/")
		if !ok {
			d.Fatalf(t, "bad topic/partition %q", tp)
		}
		p, err := strconv.Atoi(ps)
		if err != nil {
			d.Fatalf(t, "bad partition in %q", tp)
		}
		i, ok := idx[topic]
		if !ok {
			i = len(out)
			idx[topic] = i
			out = append(out, FetchTopic{Topic: topic})
		}
		out[i].Partitions = append(out[i].Partitions, int32(p))
	}
	return out
}
