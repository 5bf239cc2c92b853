package streams

import (
	"github.com/rivulet-io/rivulet/topology"
)

// StatusView is Status as the HTTP endpoint serves it: states and task ids
// as text, lags as numbers (-1 when unknown).
type StatusView struct {
	ApplicationID string         `json:"application_id"`
	State         string         `json:"state"`
	Instances     []InstanceView `json:"instances"`
	// Restores are this instance's store restores in flight.
	Restores []RestoreView `json:"restores"`
}

// InstanceView is one instance of StatusView.
type InstanceView struct {
	Endpoint string     `json:"endpoint"`
	Local    bool       `json:"local,omitempty"`
	Threads  []string   `json:"threads,omitempty"`
	Active   []TaskView `json:"active"`
	Standby  []TaskView `json:"standby"`
}

// TaskView is one task of InstanceView.
type TaskView struct {
	ID         string   `json:"id"`
	Threads    []string `json:"threads,omitempty"`
	State      string   `json:"state,omitempty"`
	Partitions []string `json:"partitions,omitempty"`
	// InputLag and ChangelogLag are -1 when unknown (remote instances).
	InputLag     int64 `json:"input_lag"`
	ChangelogLag int64 `json:"changelog_lag"`
}

// RestoreView is one store restore in flight.
type RestoreView struct {
	Thread           string  `json:"thread"`
	Task             string  `json:"task"`
	Store            string  `json:"store"`
	Changelog        string  `json:"changelog"`
	StartOffset      int64   `json:"start_offset"`
	EndOffset        int64   `json:"end_offset"`
	Restored         int64   `json:"restored"`
	Remaining        int64   `json:"remaining"`
	RecordsPerSecond float64 `json:"records_per_second"`
}

// View returns the status as the HTTP endpoint serves it (without
// restores, which StatusView adds from App.Restores).
func (s Status) View() StatusView {
	v := StatusView{ApplicationID: s.ApplicationID, State: s.State.String(), Instances: []InstanceView{}, Restores: []RestoreView{}}
	tasks := func(ts []TaskStatus) []TaskView {
		out := []TaskView{}
		for _, t := range ts {
			tv := TaskView{ID: t.ID.String(), Threads: t.Threads, InputLag: t.InputLag, ChangelogLag: t.ChangelogLag}
			if t.State != 0 {
				tv.State = t.State.String()
			}
			for _, tp := range t.Partitions {
				tv.Partitions = append(tv.Partitions, tp.String())
			}
			out = append(out, tv)
		}
		return out
	}
	for _, in := range s.Instances {
		v.Instances = append(v.Instances, InstanceView{Endpoint: in.Endpoint, Local: in.Local, Threads: in.Threads,
			Active: tasks(in.Active), Standby: tasks(in.Standby)})
	}
	return v
}

// TopologyView is the topology as JSON, for drawing it with live counts.
type TopologyView struct {
	ApplicationID string                `json:"application_id"`
	Subtopologies []SubtopologyView     `json:"subtopologies"`
	Stores        map[string]string     `json:"stores"`
	Counts        map[string]NodeCounts `json:"counts"`
}

// SubtopologyView is one sub-topology of TopologyView.
type SubtopologyView struct {
	ID          int        `json:"id"`
	Global      bool       `json:"global,omitempty"`
	GlobalStore string     `json:"global_store,omitempty"`
	Nodes       []NodeView `json:"nodes"`
}

// NodeView is one node of TopologyView.
type NodeView struct {
	Name       string   `json:"name"`
	Kind       string   `json:"kind"`
	Topics     []string `json:"topics,omitempty"`
	Topic      string   `json:"topic,omitempty"`
	Stores     []string `json:"stores,omitempty"`
	Successors []string `json:"successors,omitempty"`
}

// NodeCounts are a node's records processed on this instance, and the
// rate over the last minute (records per second), when processor-node
// metrics are recorded (metrics.recording.level DEBUG or TRACE).
type NodeCounts struct {
	Processed int64   `json:"processed"`
	Rate      float64 `json:"rate"`
}

func (a *App) topologyView() TopologyView {
	d := a.topo.Describe()
	v := TopologyView{ApplicationID: a.cfg.ApplicationID, Stores: map[string]string{}, Counts: a.nodeCounts()}
	for _, s := range d.Subtopologies {
		sv := SubtopologyView{ID: s.ID, Global: s.Global, GlobalStore: s.GlobalStore}
		for _, n := range s.Nodes {
			nv := NodeView{Name: n.Name, Kind: n.Kind.String(), Topics: n.Topics, Topic: n.Topic, Stores: n.Stores, Successors: n.Successors}
			if n.Pattern != "" {
				nv.Topics = []string{n.Pattern}
			}
			for _, st := range n.Stores {
				if spec := a.topo.t.Store(st); spec != nil {
					v.Stores[st] = storeKindName(spec.Kind)
				}
			}
			sv.Nodes = append(sv.Nodes, nv)
		}
		v.Subtopologies = append(v.Subtopologies, sv)
	}
	return v
}

func storeKindName(k topology.StoreKind) string {
	switch k {
	case topology.KeyValueStoreKind:
		return "key-value"
	case topology.WindowStoreKind:
		return "window"
	case topology.SessionStoreKind:
		return "session"
	default:
		return "unknown"
	}
}
