package streams

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/twmb/franz-go/pkg/kadm"
)

// Status: which instance holds which active and standby tasks,
// and how far behind each is. This instance answers for itself in detail
// (threads, task states, lags); the other instances are known from the
// host metadata of the latest assignment (tasks only: their lags live in
// their own processes; ask their Status, for example through the
// word-count example's GET /status).

// Status is a snapshot of the application as this instance sees it.
type Status struct {
	// ApplicationID is application.id.
	ApplicationID string
	// State is this instance's state.
	State State
	// Instances are every instance known: this one first, then the others
	// from the assignment metadata (only those that set
	// application.server), by endpoint.
	Instances []InstanceStatus
}

// InstanceStatus is one instance's tasks.
type InstanceStatus struct {
	// Endpoint is the instance's application.server ("" when not set).
	Endpoint string
	// Local is set for this instance, whose entry has threads, task states
	// and lags.
	Local bool
	// Threads are the instance's stream threads (local only).
	Threads []string
	// Active and Standby are its tasks, sorted by id. Standby includes
	// KIP-441 warm-up replicas.
	Active  []TaskStatus
	Standby []TaskStatus
}

// TaskStatus is one task of an instance.
type TaskStatus struct {
	ID TaskID
	// Threads are the stream threads holding the task (local only; one for
	// an active task).
	Threads []string
	// State is the task's state for an active task (local only).
	State TaskState
	// Partitions are the task's input partitions (local active tasks).
	Partitions []TopicPartition
	// InputLag is, summed over the task's input partitions, the end offset
	// minus the next offset to process (or the committed offset before the
	// task processed anything); -1 when unknown (remote instances,
	// standbys).
	InputLag int64
	// ChangelogLag is, summed over the task's changelogs, the changelog end
	// minus the offset its stores reflect: what a restore still has to
	// read (0 for a running active task, which writes the changelog
	// itself); -1 when unknown.
	ChangelogLag int64
}

// Status returns which instance holds which tasks and the lag of each. It
// asks the brokers for end and committed offsets, so it blocks until ctx
// is done at most. The application must have been started.
func (a *App) Status(ctx context.Context) (Status, error) {
	st := Status{ApplicationID: a.cfg.ApplicationID, State: a.State()}
	a.mu.Lock()
	admin := a.admin
	a.mu.Unlock()
	threads := a.threadList()
	if admin == nil {
		return st, fmt.Errorf("streams: status: %w (state %s)", ErrNotRunning, st.State)
	}
	local := InstanceStatus{Endpoint: a.cfg.ApplicationServer, Local: true}
	// positions are the next offsets to process, of tasks that processed.
	positions := map[TopicPartition]int64{}
	for _, t := range threads {
		local.Threads = append(local.Threads, t.name)
		t.mu.Lock()
		for id, task := range t.tasks {
			ts := TaskStatus{ID: id, Threads: []string{t.name}, State: task.State(), Partitions: task.Partitions(), InputLag: -1, ChangelogLag: -1}
			if ts.State == TaskRunning {
				ts.ChangelogLag = 0
			}
			for tp, off := range task.CommitOffsets() {
				positions[tp] = off
			}
			local.Active = append(local.Active, ts)
		}
		t.mu.Unlock()
	}
	sort.Strings(local.Threads)
	for _, r := range a.restores.snapshot() {
		for i := range local.Active {
			if local.Active[i].ID == r.Task {
				if local.Active[i].ChangelogLag < 0 {
					local.Active[i].ChangelogLag = 0
				}
				local.Active[i].ChangelogLag += r.Remaining
			}
		}
	}
	if err := a.inputLags(ctx, admin, local.Active, positions); err != nil {
		return st, err
	}
	sort.Slice(local.Active, func(i, j int) bool { return local.Active[i].ID.Less(local.Active[j].ID) })
	for _, sb := range a.standbyTasks() {
		ts := TaskStatus{ID: sb.ID, Threads: sb.Threads, InputLag: -1, ChangelogLag: -1}
		if len(sb.Changelogs) > 0 {
			ts.ChangelogLag = 0
			for _, c := range sb.Changelogs {
				if c.Lag < 0 {
					ts.ChangelogLag = -1
					break
				}
				ts.ChangelogLag += c.Lag
			}
		}
		local.Standby = append(local.Standby, ts)
	}
	st.Instances = append(st.Instances, local)
	// The others, from the host map of the latest assignment.
	self, hasSelf := a.LocalMetadata()
	for _, m := range a.Metadata() {
		if hasSelf && m.Endpoint() == self.Endpoint() {
			continue
		}
		in := InstanceStatus{Endpoint: m.Endpoint()}
		for _, id := range m.ActiveTasks {
			in.Active = append(in.Active, TaskStatus{ID: id, InputLag: -1, ChangelogLag: -1})
		}
		for _, id := range m.StandbyTasks {
			in.Standby = append(in.Standby, TaskStatus{ID: id, InputLag: -1, ChangelogLag: -1})
		}
		st.Instances = append(st.Instances, in)
	}
	return st, nil
}

// inputLags fills the input lags of tasks from the partitions' end offsets
// and the positions (next offset to process), falling back to the group's
// committed offsets, then to the auto.offset.reset position.
func (a *App) inputLags(ctx context.Context, admin *kadm.Client, tasks []TaskStatus, positions map[TopicPartition]int64) error {
	var topics []string
	seen := map[string]bool{}
	for _, ts := range tasks {
		for _, tp := range ts.Partitions {
			if !seen[tp.Topic] {
				seen[tp.Topic] = true
				topics = append(topics, tp.Topic)
			}
		}
	}
	if len(topics) == 0 {
		return nil
	}
	sort.Strings(topics)
	ends, err := admin.ListEndOffsets(ctx, topics...)
	if err != nil {
		return fmt.Errorf("streams: status: end offsets: %w", err)
	}
	starts, err := admin.ListStartOffsets(ctx, topics...)
	if err != nil {
		return fmt.Errorf("streams: status: start offsets: %w", err)
	}
	committed, err := admin.FetchOffsets(ctx, a.cfg.ApplicationID)
	if err != nil {
		return fmt.Errorf("streams: status: committed offsets: %w", err)
	}
	for i := range tasks {
		lag := int64(0)
		for _, tp := range tasks[i].Partitions {
			end, ok := ends.Lookup(tp.Topic, tp.Partition)
			if !ok || end.Err != nil {
				lag = -1
				break
			}
			pos, ok := positions[tp]
			if !ok {
				if c, cok := committed.Lookup(tp.Topic, tp.Partition); cok && c.Err == nil && c.At >= 0 {
					pos, ok = c.At, true
				}
			}
			if !ok {
				pos = end.Offset
				if a.cfg.AutoOffsetReset != "latest" {
					if s, sok := starts.Lookup(tp.Topic, tp.Partition); sok && s.Err == nil {
						pos = s.Offset
					}
				}
			}
			lag += max(end.Offset-pos, 0)
		}
		tasks[i].InputLag = lag
	}
	return nil
}

// String formats the status as a few lines of text, one per instance and
// task, for logs and the demo.
func (s Status) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "application %s: %s\n", s.ApplicationID, s.State)
	for _, in := range s.Instances {
		who := in.Endpoint
		if who == "" {
			who = "(no application.server)"
		}
		if in.Local {
			who += " (this instance, threads " + strings.Join(in.Threads, ", ") + ")"
		}
		fmt.Fprintf(&b, "  instance %s: %d active, %d standby\n", who, len(in.Active), len(in.Standby))
		for _, t := range in.Active {
			fmt.Fprintf(&b, "    active  %s%s\n", t.ID, t.describe(in.Local))
		}
		for _, t := range in.Standby {
			fmt.Fprintf(&b, "    standby %s%s\n", t.ID, t.describe(in.Local))
		}
	}
	return b.String()
}

func (t TaskStatus) describe(local bool) string {
	if !local {
		return ""
	}
	var parts []string
	if len(t.Threads) > 0 {
		parts = append(parts, "on "+strings.Join(t.Threads, ", "))
	}
	if t.State != 0 {
		parts = append(parts, t.State.String())
	}
	lag := func(n int64) string {
		if n < 0 {
			return "?"
		}
		return fmt.Sprint(n)
	}
	if t.State != 0 {
		parts = append(parts, "input lag "+lag(t.InputLag))
	}
	parts = append(parts, "changelog lag "+lag(t.ChangelogLag))
	return " " + strings.Join(parts, ", ")
}
