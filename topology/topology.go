package topology

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
)

// NodeKind says what a node does.
type NodeKind uint8

const (
	// SourceNode reads records from one or more topics (or a pattern).
	SourceNode NodeKind = iota + 1
	// ProcessorNode transforms records it receives from its parents.
	ProcessorNode
	// SinkNode writes records to a topic, fixed or chosen per record.
	SinkNode
)

// String returns "Source", "Processor" or "Sink", the words Kafka Streams'
// TopologyDescription uses.
func (k NodeKind) String() string { return kindName(k, nodeKindNames, "NodeKind") }

var nodeKindNames = map[NodeKind]string{SourceNode: "Source", ProcessorNode: "Processor", SinkNode: "Sink"}

// StoreKind is the shape of a state store.
type StoreKind uint8

const (
	// KeyValueStoreKind is a key-value store.
	KeyValueStoreKind StoreKind = iota + 1
	// WindowStoreKind is a store of values per key and window start.
	WindowStoreKind
	// SessionStoreKind is a store of values per key and session.
	SessionStoreKind
)

// String names the store kind.
func (k StoreKind) String() string { return kindName(k, storeKindNames, "StoreKind") }

var storeKindNames = map[StoreKind]string{KeyValueStoreKind: "KeyValueStore", WindowStoreKind: "WindowStore", SessionStoreKind: "SessionStore"}

// Node is one node of the graph. Fields that do not apply to a node's kind
// are zero. A Node returned by [Topology.Node] or [Topology.Nodes] must not
// be modified.
type Node struct {
	// Name is unique within the topology.
	Name string
	// Kind is the node's kind.
	Kind NodeKind
	// Parents are the nodes that forward to this one, in the order they were
	// connected. Empty for sources.
	Parents []string
	// Children are the nodes this one forwards to, in the order they were
	// connected (the order in which a record is forwarded to them).
	// Empty for sinks.
	Children []string

	// Topics are the topics a source reads (as registered: internal topics
	// without the application id prefix).
	Topics []string
	// Pattern, for a source, subscribes to every topic whose name matches.
	Pattern *regexp.Regexp

	// Stores are the state stores a processor may access, in the order
	// they were connected.
	Stores []string

	// Topic is the topic a sink writes when TopicChooser is empty.
	Topic string
	// TopicChooser, for a sink, names the function that picks each record's
	// topic (it shows in Describe as Kafka Streams shows an extractor class).
	TopicChooser string

	// Supplier is the opaque payload the runtime uses to build the node
	// (for example a processor supplier, or a source's deserializers).
	Supplier any

	// Global is true for the source and processor of a global store.
	Global bool

	anchored *regexp.Regexp // Pattern matching the whole topic name
}

// MatchesTopic reports whether a source node reads topic (registered name,
// without the application id prefix for internal topics). A pattern matches
// the whole topic name, as Kafka's pattern subscriptions do.
func (n *Node) MatchesTopic(topic string) bool {
	if n.Kind != SourceNode {
		return false
	}
	if n.anchored != nil {
		return n.anchored.MatchString(topic)
	}
	return slices.Contains(n.Topics, topic)
}

// Store is a state store registered with a topology.
type Store struct {
	// Name is unique within the topology; it is also the store's directory
	// name and part of its changelog topic's name.
	Name string
	// Kind is the store's shape.
	Kind StoreKind
	// Logging is true when every write also goes to the changelog topic
	// "<application.id>-<Name>-changelog".
	Logging bool
	// LogConfig holds topic configs for the changelog topic (for example
	// "retention.ms" for window stores). cleanup.policy=compact is implied
	// for key-value stores.
	LogConfig map[string]string
	// Supplier is the opaque payload the runtime uses to open the store.
	Supplier any
	// Global is true for a global store: every instance keeps a full copy,
	// fed from its source topic, and it has no changelog.
	Global bool
	// GlobalTopic is the source topic of a global store.
	GlobalTopic string
}

// InternalTopicKind says why the application owns a topic.
type InternalTopicKind uint8

const (
	// RepartitionTopic carries records whose key changed, so that they are
	// partitioned by their new key before grouping or joining.
	RepartitionTopic InternalTopicKind = iota + 1
	// ChangelogTopic is a store's backup: every write, compacted by key.
	ChangelogTopic
)

// String names the kind.
func (k InternalTopicKind) String() string {
	return kindName(k, internalTopicKindNames, "InternalTopicKind")
}

var internalTopicKindNames = map[InternalTopicKind]string{RepartitionTopic: "repartition", ChangelogTopic: "changelog"}

// InternalTopic is a topic the application creates and owns.
type InternalTopic struct {
	// Name is the full topic name, with the application id prefix.
	Name string
	// Kind says what the topic is for.
	Kind InternalTopicKind
	// Partitions is the partition count the topic must have, 0 when it is
	// only known once the source topics' counts are (see
	// [Topology.ResolvePartitions]).
	Partitions int32
	// Config holds topic configs to create the topic with.
	Config map[string]string
	// Store is the store a changelog topic backs.
	Store string
	// Subtopology is, for a changelog, the sub-topology that owns the store;
	// for a repartition topic, the sub-topology that reads it (-1 if none).
	Subtopology int
}

// ChangelogTopicName returns the changelog topic of a store, named as Kafka
// Streams names it: "<applicationID>-<store>-changelog".
func ChangelogTopicName(applicationID, store string) string {
	return applicationID + "-" + store + "-changelog"
}

// RepartitionSuffix ends every repartition topic's name.
const RepartitionSuffix = "-repartition"

type repartition struct {
	partitions int32 // 0: derived from upstream source topics
}

// Topology is a mutable graph of nodes and stores. Build it with the Add
// methods (or through the streams DSL), then read it. The zero value is not
// usable; call [New].
//
// A Topology is not safe for concurrent mutation; reading it from many
// goroutines once it is complete is safe.
type Topology struct {
	nodes        map[string]*Node
	order        []string
	stores       map[string]*Store
	storeOrder   []string
	topicSources map[string]string // topic -> source node reading it
	repartitions map[string]*repartition
	copartition  [][]string // groups of source node names
	globalStores []string
}

// New returns an empty topology.
func New() *Topology {
	return &Topology{
		nodes:        make(map[string]*Node),
		stores:       make(map[string]*Store),
		topicSources: make(map[string]string),
		repartitions: make(map[string]*repartition),
	}
}

// Error is returned for an invalid change to, or an inconsistent state of, a
// topology. Its message starts with "topology:".
type Error struct {
	// Op is the operation that failed, for example "add processor".
	Op string
	// Msg says what is wrong.
	Msg string
}

func (e *Error) Error() string { return "topology: " + e.Op + ": " + e.Msg }

func errf(op, format string, args ...any) error {
	return &Error{Op: op, Msg: fmt.Sprintf(format, args...)}
}

func (t *Topology) checkNewName(op, name string) error {
	if name == "" {
		return errf(op, "node name must not be empty")
	}
	if _, ok := t.nodes[name]; ok {
		return errf(op, "node %q already exists", name)
	}
	return nil
}

func (t *Topology) addNode(n *Node) {
	t.nodes[n.Name] = n
	t.order = append(t.order, n.Name)
}

func (t *Topology) connectParents(op string, n *Node, parents []string) error {
	if len(parents) == 0 {
		return errf(op, "%s %q needs at least one parent", strings.ToLower(n.Kind.String()), n.Name)
	}
	seen := make(map[string]bool, len(parents))
	for _, p := range parents {
		if p == n.Name {
			return errf(op, "node %q cannot be its own parent", p)
		}
		if seen[p] {
			return errf(op, "parent %q given twice for %q", p, n.Name)
		}
		seen[p] = true
		pn, ok := t.nodes[p]
		if !ok {
			return errf(op, "parent %q of %q does not exist", p, n.Name)
		}
		if pn.Kind == SinkNode {
			return errf(op, "sink %q cannot be a parent of %q", p, n.Name)
		}
		if pn.Global {
			return errf(op, "node %q belongs to a global store and cannot be a parent of %q", p, n.Name)
		}
	}
	for _, p := range parents {
		pn := t.nodes[p]
		pn.Children = append(pn.Children, n.Name)
	}
	n.Parents = slices.Clone(parents)
	return nil
}

// AddSource adds a source node reading topics. A topic may be read by only
// one source node. supplier is handed back to the runtime untouched.
func (t *Topology) AddSource(name string, supplier any, topics ...string) error {
	const op = "add source"
	if err := t.checkNewName(op, name); err != nil {
		return err
	}
	if len(topics) == 0 {
		return errf(op, "source %q needs at least one topic", name)
	}
	seen := make(map[string]bool, len(topics))
	for _, tp := range topics {
		if tp == "" {
			return errf(op, "source %q: topic name must not be empty", name)
		}
		if seen[tp] {
			return errf(op, "source %q: topic %q given twice", name, tp)
		}
		seen[tp] = true
		if other, ok := t.topicSources[tp]; ok {
			return errf(op, "topic %q is already read by source %q", tp, other)
		}
	}
	for _, tp := range topics {
		t.topicSources[tp] = name
	}
	t.addNode(&Node{Name: name, Kind: SourceNode, Topics: slices.Clone(topics), Supplier: supplier})
	return nil
}

// AddSourcePattern adds a source node reading every topic whose name matches
// pattern (matched against the whole name, as Kafka's pattern subscription).
func (t *Topology) AddSourcePattern(name string, supplier any, pattern *regexp.Regexp) error {
	const op = "add source"
	if err := t.checkNewName(op, name); err != nil {
		return err
	}
	if pattern == nil {
		return errf(op, "source %q: pattern must not be nil", name)
	}
	anchored, err := regexp.Compile(`^(?:` + pattern.String() + `)$`)
	if err != nil {
		return errf(op, "source %q: pattern %q: %v", name, pattern.String(), err)
	}
	t.addNode(&Node{Name: name, Kind: SourceNode, Pattern: pattern, anchored: anchored, Supplier: supplier})
	return nil
}

// AddProcessor adds a processor node that receives what its parents forward.
func (t *Topology) AddProcessor(name string, supplier any, parents ...string) error {
	const op = "add processor"
	if err := t.checkNewName(op, name); err != nil {
		return err
	}
	n := &Node{Name: name, Kind: ProcessorNode, Supplier: supplier}
	if err := t.connectParents(op, n, parents); err != nil {
		return err
	}
	t.addNode(n)
	return nil
}

// AddSink adds a sink node writing what its parents forward to topic.
func (t *Topology) AddSink(name, topic string, supplier any, parents ...string) error {
	const op = "add sink"
	if err := t.checkNewName(op, name); err != nil {
		return err
	}
	if topic == "" {
		return errf(op, "sink %q: topic name must not be empty", name)
	}
	n := &Node{Name: name, Kind: SinkNode, Topic: topic, Supplier: supplier}
	if err := t.connectParents(op, n, parents); err != nil {
		return err
	}
	t.addNode(n)
	return nil
}

// AddDynamicSink adds a sink node whose topic is chosen per record by a
// function the runtime finds in supplier; chooser names that function for
// Describe.
func (t *Topology) AddDynamicSink(name, chooser string, supplier any, parents ...string) error {
	const op = "add sink"
	if err := t.checkNewName(op, name); err != nil {
		return err
	}
	if chooser == "" {
		chooser = "TopicChooser"
	}
	n := &Node{Name: name, Kind: SinkNode, TopicChooser: chooser, Supplier: supplier}
	if err := t.connectParents(op, n, parents); err != nil {
		return err
	}
	t.addNode(n)
	return nil
}

// AddRepartitionTopic declares topic (named without the application id) as
// a repartition topic the application creates. partitions fixes its
// partition count; 0 derives it from the upstream sub-topology's source
// topics, as Kafka Streams does. Declaring the same topic twice with
// different fixed counts is an error.
func (t *Topology) AddRepartitionTopic(topic string, partitions int32) error {
	const op = "add repartition topic"
	if topic == "" {
		return errf(op, "topic name must not be empty")
	}
	if partitions < 0 {
		return errf(op, "topic %q: partitions must not be negative, got %d", topic, partitions)
	}
	if r, ok := t.repartitions[topic]; ok {
		if r.partitions != partitions {
			return errf(op, "topic %q declared with %d and %d partitions", topic, r.partitions, partitions)
		}
		return nil
	}
	t.repartitions[topic] = &repartition{partitions: partitions}
	return nil
}

// IsRepartitionTopic reports whether topic (named without the application id)
// was declared with AddRepartitionTopic.
func (t *Topology) IsRepartitionTopic(topic string) bool {
	_, ok := t.repartitions[topic]
	return ok
}

// AddStore registers a store and connects it to processors (which may be
// none; connect them later with ConnectStores).
func (t *Topology) AddStore(s Store, processors ...string) error {
	const op = "add store"
	if s.Name == "" {
		return errf(op, "store name must not be empty")
	}
	if _, ok := t.stores[s.Name]; ok {
		return errf(op, "store %q already exists", s.Name)
	}
	if s.Kind < KeyValueStoreKind || s.Kind > SessionStoreKind {
		return errf(op, "store %q: invalid kind %d", s.Name, s.Kind)
	}
	if s.Global {
		return errf(op, "store %q: add global stores with AddGlobalStore", s.Name)
	}
	for _, p := range processors {
		if err := t.checkStoreProcessor(op, p); err != nil {
			return err
		}
	}
	cp := s
	cp.LogConfig = cloneMap(s.LogConfig)
	t.stores[s.Name] = &cp
	t.storeOrder = append(t.storeOrder, s.Name)
	for _, p := range processors {
		t.attach(t.nodes[p], s.Name)
	}
	return nil
}

func (t *Topology) checkStoreProcessor(op, p string) error {
	n, ok := t.nodes[p]
	if !ok {
		return errf(op, "processor %q does not exist", p)
	}
	if n.Kind != ProcessorNode {
		return errf(op, "%q is a %s; only processors have stores", p, strings.ToLower(n.Kind.String()))
	}
	if n.Global {
		return errf(op, "processor %q belongs to a global store", p)
	}
	return nil
}

func (t *Topology) attach(n *Node, store string) {
	if !slices.Contains(n.Stores, store) {
		n.Stores = append(n.Stores, store)
	}
}

// ConnectStores gives processor access to already registered stores.
func (t *Topology) ConnectStores(processor string, stores ...string) error {
	const op = "connect stores"
	if err := t.checkStoreProcessor(op, processor); err != nil {
		return err
	}
	for _, s := range stores {
		st, ok := t.stores[s]
		if !ok {
			return errf(op, "store %q does not exist", s)
		}
		if st.Global {
			return errf(op, "store %q is global; every processor can read global stores without connecting them", s)
		}
	}
	for _, s := range stores {
		t.attach(t.nodes[processor], s)
	}
	return nil
}

// AddGlobalStore registers a global store: a source node reading topic and
// a processor that keeps the store up to date from it. A global store has
// no changelog (the topic is its changelog) and creates no tasks: every
// instance keeps a full copy.
func (t *Topology) AddGlobalStore(s Store, sourceName string, sourceSupplier any, topic, processorName string, processorSupplier any) error {
	const op = "add global store"
	if s.Name == "" {
		return errf(op, "store name must not be empty")
	}
	if _, ok := t.stores[s.Name]; ok {
		return errf(op, "store %q already exists", s.Name)
	}
	if s.Kind < KeyValueStoreKind || s.Kind > SessionStoreKind {
		return errf(op, "store %q: invalid kind %d", s.Name, s.Kind)
	}
	if sourceName == processorName {
		return errf(op, "source and processor are both named %q", sourceName)
	}
	if err := t.checkNewName(op, processorName); err != nil {
		return err
	}
	if err := t.AddSource(sourceName, sourceSupplier, topic); err != nil {
		return err
	}
	src := t.nodes[sourceName]
	src.Global = true
	proc := &Node{Name: processorName, Kind: ProcessorNode, Supplier: processorSupplier, Global: true,
		Parents: []string{sourceName}, Stores: []string{s.Name}}
	src.Children = append(src.Children, processorName)
	t.addNode(proc)
	cp := s
	cp.Global = true
	cp.GlobalTopic = topic
	cp.Logging = false
	cp.LogConfig = cloneMap(s.LogConfig)
	t.stores[s.Name] = &cp
	t.storeOrder = append(t.storeOrder, s.Name)
	t.globalStores = append(t.globalStores, s.Name)
	return nil
}

// CopartitionSources declares that the topics of these source nodes must be
// co-partitioned (the same partition count, records with the same key in the
// same partition), as joins need. Groups that share a source are merged.
func (t *Topology) CopartitionSources(sources ...string) error {
	const op = "copartition"
	if len(sources) < 2 {
		return errf(op, "need at least two sources, got %d", len(sources))
	}
	for _, s := range sources {
		n, ok := t.nodes[s]
		if !ok {
			return errf(op, "source %q does not exist", s)
		}
		if n.Kind != SourceNode {
			return errf(op, "%q is a %s, not a source", s, strings.ToLower(n.Kind.String()))
		}
		if n.Global {
			return errf(op, "source %q belongs to a global store", s)
		}
	}
	group := slices.Clone(sources)
	var kept [][]string
	for _, g := range t.copartition {
		if slices.ContainsFunc(g, func(s string) bool { return slices.Contains(group, s) }) {
			group = append(group, g...)
		} else {
			kept = append(kept, g)
		}
	}
	sort.Strings(group)
	group = slices.Compact(group)
	t.copartition = append(kept, group)
	return nil
}

// Node returns the named node, or nil.
func (t *Topology) Node(name string) *Node { return t.nodes[name] }

// Nodes returns every node in the order it was added.
func (t *Topology) Nodes() []*Node {
	out := make([]*Node, 0, len(t.order))
	for _, n := range t.order {
		out = append(out, t.nodes[n])
	}
	return out
}

// Store returns the named store, or nil.
func (t *Topology) Store(name string) *Store { return t.stores[name] }

// Stores returns every store in the order it was added.
func (t *Topology) Stores() []*Store {
	out := make([]*Store, 0, len(t.storeOrder))
	for _, s := range t.storeOrder {
		out = append(out, t.stores[s])
	}
	return out
}

// GlobalStores returns the global stores in the order they were added.
func (t *Topology) GlobalStores() []*Store {
	out := make([]*Store, 0, len(t.globalStores))
	for _, s := range t.globalStores {
		out = append(out, t.stores[s])
	}
	return out
}

// CopartitionGroups returns the declared co-partitioning groups as sorted
// lists of source node names.
func (t *Topology) CopartitionGroups() [][]string {
	out := make([][]string, len(t.copartition))
	for i, g := range t.copartition {
		out[i] = slices.Clone(g)
	}
	return out
}

// Validate checks what can only be checked once the graph is complete: every
// store is attached to a processor, and the graph has at least one source.
func (t *Topology) Validate() error {
	const op = "validate"
	hasSource := false
	for _, n := range t.nodes {
		if n.Kind == SourceNode && !n.Global {
			hasSource = true
		}
	}
	if !hasSource && len(t.globalStores) == 0 {
		return errf(op, "topology has no source")
	}
	attached := make(map[string]bool)
	for _, n := range t.nodes {
		for _, s := range n.Stores {
			attached[s] = true
		}
	}
	for _, s := range t.storeOrder {
		if !attached[s] {
			return errf(op, "store %q is not connected to any processor", s)
		}
	}
	return nil
}

// ErrNotCopartitioned is wrapped by the error ResolvePartitions returns when
// topics that must be co-partitioned have different partition counts.
var ErrNotCopartitioned = errors.New("topology: topics not co-partitioned")

// CopartitionError reports topics that must be co-partitioned but are not.
type CopartitionError struct {
	// Partitions maps each topic of the group to its partition count.
	Partitions map[string]int32
}

func (e *CopartitionError) Error() string {
	names := make([]string, 0, len(e.Partitions))
	for tp := range e.Partitions {
		names = append(names, tp)
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = fmt.Sprintf("%s (%d partitions)", n, e.Partitions[n])
	}
	return "topology: topics not co-partitioned: [" + strings.Join(parts, ", ") +
		"]; records with one key must be in the same partition number of each topic, so give them the same partition count (or repartition one side)"
}

// Unwrap lets errors.Is match ErrNotCopartitioned.
func (e *CopartitionError) Unwrap() error { return ErrNotCopartitioned }

func cloneMap(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// kindName names k from names, or as typ(k) for a value without a name.
func kindName[K ~uint8](k K, names map[K]string, typ string) string {
	if name, ok := names[k]; ok {
		return name
	}
	return fmt.Sprintf("%s(%d)", typ, uint8(k))
}
