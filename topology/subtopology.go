package topology

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Subtopology is one connected part of the graph. A regular sub-topology
// runs as one task per partition of its source topics; a global one feeds a
// global store and creates no tasks.
type Subtopology struct {
	// ID numbers the sub-topology as Kafka Streams does (see the package doc).
	ID int
	// Nodes are the names of the sub-topology's nodes, sorted.
	Nodes []string
	// Sources are the names of its source nodes, sorted.
	Sources []string
	// SourceTopics are the fixed topics its sources read, as registered
	// (internal topics without the application id), sorted.
	SourceTopics []string
	// SourcePatterns are the patterns its sources subscribe to.
	SourcePatterns []*regexp.Regexp
	// SinkTopics are the fixed topics its sinks write, as registered, sorted.
	SinkTopics []string
	// Stores are the stores its processors use, sorted.
	Stores []string
	// Global is true for a global store's sub-topology.
	Global bool
}

// TaskID names a task: a sub-topology and a partition number, printed
// "<subtopology>_<partition>" as Kafka Streams prints it.
type TaskID struct {
	Subtopology int
	Partition   int32
}

// String returns "<subtopology>_<partition>", for example "0_3".
func (id TaskID) String() string {
	return strconv.Itoa(id.Subtopology) + "_" + strconv.FormatInt(int64(id.Partition), 10)
}

// ParseTaskID parses the form String returns.
func ParseTaskID(s string) (TaskID, error) {
	sub, part, ok := strings.Cut(s, "_")
	if !ok {
		return TaskID{}, fmt.Errorf("topology: parse task id %q: want <subtopology>_<partition>", s)
	}
	a, err := strconv.Atoi(sub)
	if err != nil || a < 0 {
		return TaskID{}, fmt.Errorf("topology: parse task id %q: bad sub-topology", s)
	}
	b, err := strconv.ParseInt(part, 10, 32)
	if err != nil || b < 0 {
		return TaskID{}, fmt.Errorf("topology: parse task id %q: bad partition", s)
	}
	return TaskID{Subtopology: a, Partition: int32(b)}, nil
}

// Less orders task ids by sub-topology, then partition.
func (id TaskID) Less(o TaskID) bool {
	if id.Subtopology != o.Subtopology {
		return id.Subtopology < o.Subtopology
	}
	return id.Partition < o.Partition
}

type unionFind map[string]string

func (u unionFind) find(x string) string {
	for {
		p, ok := u[x]
		if !ok || p == x {
			return x
		}
		if gp, ok := u[p]; ok && gp != p {
			u[x] = gp
		}
		x = p
	}
}

func (u unionFind) union(a, b string) {
	ra, rb := u.find(a), u.find(b)
	if ra != rb {
		u[ra] = rb
	}
}

// groups computes the node groups: map root -> id, and node -> id.
func (t *Topology) groups() (nodeGroup map[string]int, count int) {
	uf := make(unionFind, len(t.nodes))
	storeOwner := make(map[string]string)
	for _, name := range t.order {
		n := t.nodes[name]
		for _, p := range n.Parents {
			uf.union(name, p)
		}
		for _, s := range n.Stores {
			if o, ok := storeOwner[s]; ok {
				uf.union(name, o)
			} else {
				storeOwner[s] = name
			}
		}
	}
	var sources, others []string
	for name, n := range t.nodes {
		if n.Kind == SourceNode {
			sources = append(sources, name)
		} else {
			others = append(others, name)
		}
	}
	sort.Strings(sources)
	sort.Strings(others)
	rootGroup := make(map[string]int)
	nodeGroup = make(map[string]int, len(t.nodes))
	for _, name := range append(sources, others...) {
		r := uf.find(name)
		id, ok := rootGroup[r]
		if !ok {
			id = count
			count++
			rootGroup[r] = id
		}
		nodeGroup[name] = id
	}
	return nodeGroup, count
}

// Subtopologies returns every sub-topology, regular and global, ordered by
// ID. It is computed afresh on each call.
func (t *Topology) Subtopologies() []Subtopology {
	nodeGroup, count := t.groups()
	subs := make([]Subtopology, count)
	for i := range subs {
		subs[i].ID = i
	}
	for name, id := range nodeGroup {
		s := &subs[id]
		n := t.nodes[name]
		s.Nodes = append(s.Nodes, name)
		if n.Global {
			s.Global = true
		}
		switch n.Kind {
		case SourceNode:
			s.Sources = append(s.Sources, name)
			s.SourceTopics = append(s.SourceTopics, n.Topics...)
			if n.Pattern != nil {
				s.SourcePatterns = append(s.SourcePatterns, n.Pattern)
			}
		case SinkNode:
			if n.TopicChooser == "" {
				s.SinkTopics = append(s.SinkTopics, n.Topic)
			}
		case ProcessorNode:
			s.Stores = append(s.Stores, n.Stores...)
		}
	}
	for i := range subs {
		s := &subs[i]
		sort.Strings(s.Nodes)
		sort.Strings(s.Sources)
		sort.Strings(s.SourceTopics)
		s.SourceTopics = slices.Compact(s.SourceTopics)
		sort.Strings(s.SinkTopics)
		s.SinkTopics = slices.Compact(s.SinkTopics)
		sort.Strings(s.Stores)
		s.Stores = slices.Compact(s.Stores)
		sort.Slice(s.SourcePatterns, func(a, b int) bool {
			return s.SourcePatterns[a].String() < s.SourcePatterns[b].String()
		})
	}
	return subs
}

// TopicName returns the name a registered topic has on the broker: internal
// (repartition) topics get the "<applicationID>-" prefix, others are as given.
func (t *Topology) TopicName(applicationID, topic string) string {
	if _, ok := t.repartitions[topic]; ok {
		return applicationID + "-" + topic
	}
	return topic
}

// RegisteredTopicName is the inverse of TopicName: it strips the
// application id from a repartition topic's broker name.
func (t *Topology) RegisteredTopicName(applicationID, topic string) string {
	if rest, ok := strings.CutPrefix(topic, applicationID+"-"); ok {
		if _, ok := t.repartitions[rest]; ok {
			return rest
		}
	}
	return topic
}

// SourceNodeForTopic returns the source node that reads topic (its broker
// name), checking fixed topics first and then patterns in the order the
// sources were added.
func (t *Topology) SourceNodeForTopic(applicationID, topic string) (*Node, bool) {
	reg := t.RegisteredTopicName(applicationID, topic)
	if reg == topic && t.IsRepartitionTopic(topic) {
		return nil, false // a repartition topic is only read under its prefixed name
	}
	if name, ok := t.topicSources[reg]; ok {
		return t.nodes[name], true
	}
	if reg != topic {
		return nil, false // internal topics are never matched by patterns
	}
	for _, name := range t.order {
		n := t.nodes[name]
		if n.Kind == SourceNode && n.anchored != nil && n.anchored.MatchString(topic) {
			return n, true
		}
	}
	return nil, false
}

// SourceTopics returns the broker names of the topics sub-topology sub
// reads, with its patterns matched against available (broker topic names,
// for example from metadata). The result is sorted.
func (t *Topology) SourceTopics(applicationID string, sub Subtopology, available []string) []string {
	var out []string
	for _, tp := range sub.SourceTopics {
		out = append(out, t.TopicName(applicationID, tp))
	}
	if len(sub.SourcePatterns) > 0 {
		for _, tp := range available {
			if n, ok := t.SourceNodeForTopic(applicationID, tp); ok && n.Pattern != nil && slices.Contains(sub.Sources, n.Name) {
				out = append(out, tp)
			}
		}
	}
	sort.Strings(out)
	return slices.Compact(out)
}

// MissingTopicsError reports source topics that do not exist.
type MissingTopicsError struct {
	// Topics are the missing topics, sorted.
	Topics []string
}

func (e *MissingTopicsError) Error() string {
	return "topology: source topics do not exist: [" + strings.Join(e.Topics, ", ") + "]; create them before starting the application"
}

// ResolvePartitions computes the partition count of every topic the
// application reads or owns. existing maps broker topic names to partition
// counts for every topic the cluster has (or at least every external source
// topic); the result holds those counts plus one for every repartition topic
// (broker name), derived as Kafka Streams derives them:
//
//   - a repartition topic declared with a count keeps it;
//   - otherwise it gets the largest partition count among the source topics
//     of the sub-topologies that write to it;
//   - the topics of each co-partitioning group must then have one count:
//     external topics that differ give a *CopartitionError, and repartition
//     topics in the group take the external topics' count (or, with none,
//     the largest count in the group).
//
// Existing repartition topics in existing are ignored: the topology decides
// their count, and the runtime checks the existing topic against it.
func (t *Topology) ResolvePartitions(applicationID string, existing map[string]int32) (map[string]int32, error) {
	const op = "resolve partitions"
	subs := t.Subtopologies()
	available := make([]string, 0, len(existing))
	for tp := range existing {
		available = append(available, tp)
	}
	sort.Strings(available)
	counts := make(map[string]int32, len(existing)+len(t.repartitions))
	isRepart := make(map[string]bool, len(t.repartitions))
	for tp := range t.repartitions {
		isRepart[t.TopicName(applicationID, tp)] = true
	}
	for tp, n := range existing {
		if !isRepart[tp] {
			counts[tp] = n
		}
	}
	// External source topics must exist.
	var missing []string
	for _, s := range subs {
		for _, tp := range s.SourceTopics {
			if _, ok := t.repartitions[tp]; ok {
				continue
			}
			if _, ok := counts[tp]; !ok {
				missing = append(missing, tp)
			}
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return nil, &MissingTopicsError{Topics: slices.Compact(missing)}
	}
	fixed := make(map[string]bool)
	for tp, r := range t.repartitions {
		if r.partitions > 0 {
			name := t.TopicName(applicationID, tp)
			counts[name] = r.partitions
			fixed[name] = true
		}
	}
	// writers[topic] = sub-topologies with a sink writing it.
	writers := make(map[string][]int)
	for _, s := range subs {
		for _, tp := range s.SinkTopics {
			if _, ok := t.repartitions[tp]; ok {
				writers[tp] = append(writers[tp], s.ID)
			}
		}
	}
	pending := make([]string, 0, len(t.repartitions))
	for tp := range t.repartitions {
		if !fixed[t.TopicName(applicationID, tp)] {
			pending = append(pending, tp)
		}
	}
	sort.Strings(pending)
	for len(pending) > 0 {
		progress := false
		var still []string
		for _, tp := range pending {
			ws := writers[tp]
			if len(ws) == 0 {
				return nil, errf(op, "repartition topic %q has no sink writing to it and no partition count", tp)
			}
			var max int32
			known := true
			for _, w := range ws {
				for _, src := range t.SourceTopics(applicationID, subs[w], available) {
					n, ok := counts[src]
					if !ok {
						known = false
						break
					}
					max = maxInt32(max, n)
				}
				if !known {
					break
				}
			}
			if !known {
				still = append(still, tp)
				continue
			}
			if max == 0 {
				return nil, errf(op, "cannot derive the partition count of repartition topic %q: its writers read no topic", tp)
			}
			counts[t.TopicName(applicationID, tp)] = max
			progress = true
		}
		if !progress {
			return nil, errf(op, "cannot derive the partition counts of repartition topics %v (a cycle?); give them a partition count", still)
		}
		pending = still
	}
	// Co-partitioning.
	for _, group := range t.copartition {
		topics := t.copartitionTopics(applicationID, group, available)
		external := make(map[string]int32)
		var fixedCount int32
		var maxRepart int32
		for _, tp := range topics {
			switch {
			case !isRepart[tp]:
				external[tp] = counts[tp]
			case fixed[tp]:
				if fixedCount != 0 && fixedCount != counts[tp] {
					return nil, t.copartErr(topics, counts)
				}
				fixedCount = counts[tp]
			default:
				maxRepart = maxInt32(maxRepart, counts[tp])
			}
		}
		var want int32
		for _, n := range external {
			if want != 0 && n != want {
				return nil, &CopartitionError{Partitions: external}
			}
			want = n
		}
		if want != 0 && fixedCount != 0 && want != fixedCount {
			return nil, t.copartErr(topics, counts)
		}
		if want == 0 {
			want = fixedCount
		}
		if want == 0 {
			want = maxRepart
		}
		for _, tp := range topics {
			if isRepart[tp] && !fixed[tp] {
				counts[tp] = want
			}
		}
	}
	return counts, nil
}

// copartitionTopics returns the broker names of the topics a
// co-partitioning group of sources reads, patterns matched against
// available, sorted.
func (t *Topology) copartitionTopics(applicationID string, group, available []string) []string {
	var topics []string
	for _, src := range group {
		n := t.nodes[src]
		if n.Pattern != nil {
			for _, tp := range available {
				if n.anchored.MatchString(tp) {
					topics = append(topics, tp)
				}
			}
		}
		for _, tp := range n.Topics {
			topics = append(topics, t.TopicName(applicationID, tp))
		}
	}
	sort.Strings(topics)
	return slices.Compact(topics)
}

// CheckCopartitioned checks the topics as they are now (counts maps broker
// topic names to partition counts, for example from a consumer's
// metadata) against the co-partitioning groups: the topics of a group
// that counts holds must all have one partition count, or a
// *CopartitionError says which do not. ResolvePartitions checks this
// before an application starts; partitions added to a topic later break
// it, and records of one key would then meet in no task.
func (t *Topology) CheckCopartitioned(applicationID string, counts map[string]int32) error {
	if len(t.copartition) == 0 {
		return nil
	}
	available := make([]string, 0, len(counts))
	for tp := range counts {
		available = append(available, tp)
	}
	sort.Strings(available)
	for _, group := range t.copartition {
		var present []string
		for _, tp := range t.copartitionTopics(applicationID, group, available) {
			if _, ok := counts[tp]; ok {
				present = append(present, tp)
			}
		}
		for _, tp := range present {
			if counts[tp] != counts[present[0]] {
				return t.copartErr(present, counts)
			}
		}
	}
	return nil
}

func (t *Topology) copartErr(topics []string, counts map[string]int32) error {
	m := make(map[string]int32, len(topics))
	for _, tp := range topics {
		m[tp] = counts[tp]
	}
	return &CopartitionError{Partitions: m}
}

// TaskCount returns how many tasks sub-topology sub has: the largest
// partition count among its source topics (counts as ResolvePartitions
// returns them). A global sub-topology has none.
func (t *Topology) TaskCount(applicationID string, sub Subtopology, counts map[string]int32) int32 {
	if sub.Global {
		return 0
	}
	available := make([]string, 0, len(counts))
	for tp := range counts {
		available = append(available, tp)
	}
	sort.Strings(available)
	var max int32
	for _, tp := range t.SourceTopics(applicationID, sub, available) {
		max = maxInt32(max, counts[tp])
	}
	return max
}

// Tasks returns every task of the application, sorted, given the counts
// ResolvePartitions returned.
func (t *Topology) Tasks(applicationID string, counts map[string]int32) []TaskID {
	var out []TaskID
	for _, s := range t.Subtopologies() {
		n := t.TaskCount(applicationID, s, counts)
		for p := int32(0); p < n; p++ {
			out = append(out, TaskID{Subtopology: s.ID, Partition: p})
		}
	}
	return out
}

// InternalTopics returns the topics the application must create: every
// repartition topic and the changelog of every logged store, with the
// partition counts counts gives (from ResolvePartitions; nil leaves them 0)
// and the configs to create them with. Sorted by name.
//
// Every internal topic keeps the timestamps records are written with
// (message.timestamp.type=CreateTime, as Kafka Streams' internal topic
// configs): on a cluster whose default is LogAppendTime, a repartitioned
// record would otherwise reach its windows and joins stamped with the time
// it was appended.
func (t *Topology) InternalTopics(applicationID string, counts map[string]int32) []InternalTopic {
	subs := t.Subtopologies()
	readers := make(map[string]int)
	storeSub := make(map[string]int)
	for _, s := range subs {
		for _, tp := range s.SourceTopics {
			readers[tp] = s.ID
		}
		for _, st := range s.Stores {
			storeSub[st] = s.ID
		}
	}
	var out []InternalTopic
	for tp := range t.repartitions {
		name := t.TopicName(applicationID, tp)
		sub, ok := readers[tp]
		if !ok {
			sub = -1
		}
		out = append(out, InternalTopic{
			Name:        name,
			Kind:        RepartitionTopic,
			Partitions:  counts[name],
			Subtopology: sub,
			// As Kafka Streams: keep records until the application has
			// consumed them; the runtime then purges them with DeleteRecords
			// after each commit, so nothing is lost to retention.
			Config: map[string]string{
				"cleanup.policy":         "delete",
				"retention.ms":           "-1",
				"segment.bytes":          "52428800",
				"message.timestamp.type": "CreateTime",
			},
		})
	}
	for _, name := range t.storeOrder {
		st := t.stores[name]
		if !st.Logging || st.Global {
			continue
		}
		sub, ok := storeSub[name]
		if !ok {
			continue
		}
		cfg := map[string]string{"cleanup.policy": "compact", "message.timestamp.type": "CreateTime"}
		if st.Kind != KeyValueStoreKind {
			cfg["cleanup.policy"] = "compact,delete"
		}
		for k, v := range st.LogConfig {
			cfg[k] = v
		}
		var parts int32
		if counts != nil {
			parts = t.TaskCount(applicationID, subs[sub], counts)
		}
		out = append(out, InternalTopic{
			Name:        ChangelogTopicName(applicationID, name),
			Kind:        ChangelogTopic,
			Partitions:  parts,
			Config:      cfg,
			Store:       name,
			Subtopology: sub,
		})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func maxInt32(a, b int32) int32 {
	if a > b {
		return a
	}
	return b
}
