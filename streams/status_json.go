package streams

import (
	"github.com/rivulet-io/rivulet/streams/httpjson"
	"github.com/rivulet-io/rivulet/topology"
)

// View returns the status as the HTTP endpoint serves it (without
// restores, which httpjson.StatusView adds from App.Restores).
func (s Status) View() httpjson.StatusView {
	v := httpjson.StatusView{ApplicationID: s.ApplicationID, State: s.State.String(), Instances: []httpjson.InstanceView{}, Restores: []httpjson.RestoreView{}}
	tasks := func(ts []TaskStatus) []httpjson.TaskView {
		out := []httpjson.TaskView{}
		for _, t := range ts {
			tv := httpjson.TaskView{ID: t.ID.String(), Threads: t.Threads, InputLag: t.InputLag, ChangelogLag: t.ChangelogLag}
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
		v.Instances = append(v.Instances, httpjson.InstanceView{Endpoint: in.Endpoint, Local: in.Local, Threads: in.Threads,
			Active: tasks(in.Active), Standby: tasks(in.Standby)})
	}
	return v
}

func (a *App) topologyView() httpjson.TopologyView {
	d := a.topo.Describe()
	v := httpjson.TopologyView{ApplicationID: a.cfg.ApplicationID, Stores: map[string]string{}, Counts: a.nodeCounts()}
	for _, s := range d.Subtopologies {
		sv := httpjson.SubtopologyView{ID: s.ID, Global: s.Global, GlobalStore: s.GlobalStore}
		for _, n := range s.Nodes {
			nv := httpjson.NodeView{Name: n.Name, Kind: n.Kind.String(), Topics: n.Topics, Topic: n.Topic, Stores: n.Stores, Successors: n.Successors}
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
