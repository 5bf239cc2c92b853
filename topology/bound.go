package topology

// Bound is a topology bound to one application id: the broker names of its
// internal topics ("<application.id>-<name>-repartition",
// "<application.id>-<store>-changelog") and everything derived from them,
// without passing the id on each call. A runtime binds its topology once,
// when the application is built; the Topology itself stays free of any
// application and may be bound to several.
type Bound struct {
	t     *Topology
	appID string
}

// Bind returns t bound to applicationID.
func (t *Topology) Bind(applicationID string) *Bound {
	return &Bound{t: t, appID: applicationID}
}

// ApplicationID returns the application id b is bound to.
func (b *Bound) ApplicationID() string { return b.appID }

// Topology returns the unbound topology.
func (b *Bound) Topology() *Topology { return b.t }

// TopicName is Topology.TopicName for b's application.
func (b *Bound) TopicName(topic string) string { return b.t.TopicName(b.appID, topic) }

// RegisteredTopicName is Topology.RegisteredTopicName for b's application.
func (b *Bound) RegisteredTopicName(topic string) string {
	return b.t.RegisteredTopicName(b.appID, topic)
}

// IsRepartitionBrokerTopic reports whether topic (a broker name) is one of
// b's repartition topics.
func (b *Bound) IsRepartitionBrokerTopic(topic string) bool {
	return b.t.IsRepartitionTopic(b.RegisteredTopicName(topic))
}

// SourceNodeForTopic is Topology.SourceNodeForTopic for b's application.
func (b *Bound) SourceNodeForTopic(topic string) (*Node, bool) {
	return b.t.SourceNodeForTopic(b.appID, topic)
}

// SourceTopics is Topology.SourceTopics for b's application.
func (b *Bound) SourceTopics(sub Subtopology, available []string) []string {
	return b.t.SourceTopics(b.appID, sub, available)
}

// ResolvePartitions is Topology.ResolvePartitions for b's application.
func (b *Bound) ResolvePartitions(existing map[string]int32) (map[string]int32, error) {
	return b.t.ResolvePartitions(b.appID, existing)
}

// CheckCopartitioned is Topology.CheckCopartitioned for b's application.
func (b *Bound) CheckCopartitioned(counts map[string]int32) error {
	return b.t.CheckCopartitioned(b.appID, counts)
}

// InternalTopics is Topology.InternalTopics for b's application.
func (b *Bound) InternalTopics(counts map[string]int32) []InternalTopic {
	return b.t.InternalTopics(b.appID, counts)
}

// Tasks is Topology.Tasks for b's application.
func (b *Bound) Tasks(counts map[string]int32) []TaskID { return b.t.Tasks(b.appID, counts) }

// ChangelogTopic returns the changelog topic of store in b's application.
func (b *Bound) ChangelogTopic(store string) string { return ChangelogTopicName(b.appID, store) }
