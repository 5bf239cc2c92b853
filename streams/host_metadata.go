package streams

import (
	"net"
	"slices"
	"sort"
	"strconv"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rivulet-io/rivulet/streams/internal/assignor"
)

// Host metadata for interactive queries: the group leader's assignment gives
// every member the map application.server -> active and standby tasks of
// every instance (AssignmentInfo.Hosts), as Kafka Streams' AssignmentInfo
// does with partitions by host. The App keeps the latest one and answers
// Kafka Streams' metadataForAllStreamsClients, streamsMetadataForStore and
// queryMetadataForKey from it.

// StreamsMetadata describes one instance of the application, as Kafka
// Streams' StreamsMetadata: where it serves queries and what it holds.
type StreamsMetadata struct {
	// Host and Port are the instance's application.server.
	Host string
	Port int
	// ActiveTasks and StandbyTasks are its tasks (standby includes KIP-441
	// warm-up replicas), sorted.
	ActiveTasks  []TaskID
	StandbyTasks []TaskID
	// ActivePartitions and StandbyPartitions are the input partitions of
	// those tasks (Kafka Streams' topicPartitions and
	// standbyTopicPartitions), sorted.
	ActivePartitions  []TopicPartition
	StandbyPartitions []TopicPartition
	// StateStores are the stores of its active tasks, StandbyStateStores
	// those of its standby tasks, sorted.
	StateStores        []string
	StandbyStateStores []string
}

// Endpoint returns "host:port".
func (m StreamsMetadata) Endpoint() string { return net.JoinHostPort(m.Host, strconv.Itoa(m.Port)) }

// KeyQueryMetadata says where a key of a store lives, as Kafka Streams'
// KeyQueryMetadata.
type KeyQueryMetadata struct {
	// Active is the instance running the key's task.
	Active StreamsMetadata
	// Standbys are the instances holding standby copies of it.
	Standbys []StreamsMetadata
	// Partition is the key's partition (and task partition).
	Partition int32
}

// KeyPartitioner maps a serialized key to a partition of numPartitions, as
// the producer that wrote the store's input did. DefaultKeyPartitioner is
// Kafka's (murmur2).
type KeyPartitioner func(key []byte, numPartitions int32) int32

// DefaultKeyPartitioner is the partitioner of Kafka's producers, Kafka
// Streams and franz-go for keyed records: murmur2 of the key, positive,
// modulo the partition count.
func DefaultKeyPartitioner(key []byte, numPartitions int32) int32 {
	if numPartitions <= 0 {
		return 0
	}
	p := kgo.StickyKeyPartitioner(nil).ForTopic("")
	if key == nil {
		key = []byte{}
	}
	return int32(p.Partition(&kgo.Record{Key: key}, int(numPartitions)))
}

// hostMetadata is the decoded host metadata of the latest assignment.
type hostMetadata struct {
	hosts []assignor.HostTasks
}

func (a *App) setHosts(hosts []assignor.HostTasks) {
	a.hosts.Store(&hostMetadata{hosts: hosts})
}

// Metadata returns every instance of the application that set
// application.server, with its tasks, partitions and stores, sorted by
// endpoint (Kafka Streams' metadataForAllStreamsClients). It is empty
// until this instance got its first assignment, and when no instance set
// application.server.
func (a *App) Metadata() []StreamsMetadata {
	hm := a.hosts.Load()
	if hm == nil {
		return nil
	}
	out := make([]StreamsMetadata, 0, len(hm.hosts))
	for _, h := range hm.hosts {
		out = append(out, a.streamsMetadata(h))
	}
	return out
}

// MetadataForStore returns the instances whose active or standby tasks
// hold store (Kafka Streams' streamsMetadataForStore).
func (a *App) MetadataForStore(store string) []StreamsMetadata {
	var out []StreamsMetadata
	for _, m := range a.Metadata() {
		if slices.Contains(m.StateStores, store) || slices.Contains(m.StandbyStateStores, store) {
			out = append(out, m)
		}
	}
	return out
}

// LocalMetadata returns this instance's entry of Metadata; ok is false
// when application.server is not set or no assignment arrived yet.
func (a *App) LocalMetadata() (StreamsMetadata, bool) {
	for _, m := range a.Metadata() {
		if m.Endpoint() == a.cfg.ApplicationServer || net.JoinHostPort(m.Host, strconv.Itoa(m.Port)) == normalizeEndpoint(a.cfg.ApplicationServer) {
			return m, true
		}
	}
	return StreamsMetadata{}, false
}

// MetadataForKey returns the instance running the task that holds key
// (serialized as the store's key serde does) in store: key -> partition
// (with partitioner, DefaultKeyPartitioner when nil, over the partition
// count of the store's sub-topology) -> task -> instance. ok is false when
// the store is unknown or no instance with an application.server runs the
// task now (during a rebalance, or when the owner set no
// application.server).
func (a *App) MetadataForKey(store string, key []byte, partitioner KeyPartitioner) (StreamsMetadata, bool) {
	q, ok := a.QueryMetadataForKey(store, key, partitioner)
	if !ok {
		return StreamsMetadata{}, false
	}
	return q.Active, q.Active.Host != "" || q.Active.Port != 0
}

// QueryMetadataForKey is MetadataForKey with the standbys too (Kafka
// Streams' queryMetadataForKey). ok is false when the store is unknown;
// Active is the zero value when no instance runs the task now.
func (a *App) QueryMetadataForKey(store string, key []byte, partitioner KeyPartitioner) (KeyQueryMetadata, bool) {
	sub, n, ok := a.storeTasks(store)
	if !ok || n <= 0 {
		return KeyQueryMetadata{}, false
	}
	if partitioner == nil {
		partitioner = DefaultKeyPartitioner
	}
	p := partitioner(key, n)
	if p < 0 || p >= n {
		return KeyQueryMetadata{}, false
	}
	task := TaskID{Subtopology: sub, Partition: p}
	q := KeyQueryMetadata{Partition: p}
	hm := a.hosts.Load()
	if hm == nil {
		return q, true
	}
	for _, h := range hm.hosts {
		if slices.Contains(h.Active, task) {
			q.Active = a.streamsMetadata(h)
		} else if slices.Contains(h.Standby, task) {
			q.Standbys = append(q.Standbys, a.streamsMetadata(h))
		}
	}
	return q, true
}

// storeTasks returns the sub-topology holding store and its number of
// tasks (the partition count of its source topics).
func (a *App) storeTasks(store string) (int, int32, bool) {
	for _, s := range a.topo.subs {
		if s.Global || !slices.Contains(s.Stores, store) {
			continue
		}
		a.mu.Lock()
		counts := a.counts
		a.mu.Unlock()
		var n int32
		for _, t := range a.topo.names.SourceTopics(s, nil) {
			if c := counts[t]; c > n {
				n = c
			}
		}
		return s.ID, n, true
	}
	return 0, 0, false
}

func (a *App) streamsMetadata(h assignor.HostTasks) StreamsMetadata {
	m := StreamsMetadata{ActiveTasks: h.Active, StandbyTasks: h.Standby}
	host, port, err := net.SplitHostPort(h.Endpoint)
	if err != nil {
		m.Host = h.Endpoint
	} else {
		m.Host = host
		m.Port, _ = strconv.Atoi(port)
	}
	m.ActivePartitions, m.StateStores = a.tasksPartitionsAndStores(h.Active)
	m.StandbyPartitions, m.StandbyStateStores = a.tasksPartitionsAndStores(h.Standby)
	return m
}

func (a *App) tasksPartitionsAndStores(tasks []TaskID) ([]TopicPartition, []string) {
	var parts []TopicPartition
	stores := map[string]bool{}
	a.mu.Lock()
	counts := a.counts
	a.mu.Unlock()
	for _, t := range tasks {
		for _, s := range a.topo.subs {
			if s.ID != t.Subtopology || s.Global {
				continue
			}
			for _, topic := range a.topo.names.SourceTopics(s, nil) {
				if c, ok := counts[topic]; !ok || t.Partition < c {
					parts = append(parts, TopicPartition{Topic: topic, Partition: t.Partition})
				}
			}
			for _, st := range s.Stores {
				stores[st] = true
			}
		}
	}
	sort.Slice(parts, func(i, j int) bool {
		return parts[i].Topic < parts[j].Topic || parts[i].Topic == parts[j].Topic && parts[i].Partition < parts[j].Partition
	})
	names := make([]string, 0, len(stores))
	for s := range stores {
		names = append(names, s)
	}
	sort.Strings(names)
	return parts, names
}

func normalizeEndpoint(ep string) string {
	host, port, err := net.SplitHostPort(ep)
	if err != nil {
		return ep
	}
	return net.JoinHostPort(host, port)
}
