package brokerlite

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/rivulet-io/rivulet/brokerlite/partlog"
	"github.com/twmb/franz-go/pkg/kerr"
)

// Names of Kafka's internal topics.
const (
	consumerOffsetsTopic  = "__consumer_offsets"
	transactionStateTopic = "__transaction_state"
)

// maxTopicNameLen is Kafka's limit on a topic name (Topic.MAX_NAME_LENGTH).
const maxTopicNameLen = 249

// topic is one topic: its id, its partitions and its explicit configs. A *topic is
// immutable once published in the registry's snapshot except for the per-partition state,
// which has its own synchronisation; changes (partitions added, configs altered) publish a
// new *topic.
type topic struct {
	name       string
	id         [16]byte
	internal   bool
	configs    map[string]string // topic-level overrides (DYNAMIC_TOPIC_CONFIG)
	partitions []*partition
}

// topicSnapshot is an immutable view of all topics, read without locks on the hot path.
type topicSnapshot struct {
	byName map[string]*topic
	byID   map[[16]byte]*topic
}

// topicRegistry holds the topics. Reads go through an atomically published snapshot; writes
// (create, delete, alter) take mu, persist the new state to rivulet-topics.json crash-safely,
// then publish a new snapshot.
type topicRegistry struct {
	b    *Broker
	mu   sync.Mutex // serialises changes and persistence
	snap atomic.Pointer[topicSnapshot]
	path string
}

// topicRecord is one topic in rivulet-topics.json. The file is JSON (not msgpack, the
// project's struct format) because operators read it when they investigate a data directory,
// and it is tiny.
type topicRecord struct {
	Name       string            `json:"name"`
	ID         string            `json:"id"` // 32 hex digits
	Partitions int32             `json:"partitions"`
	Internal   bool              `json:"internal,omitempty"`
	Configs    map[string]string `json:"configs,omitempty"`
}

type topicsFileContent struct {
	Version int           `json:"version"`
	Topics  []topicRecord `json:"topics"`
}

func (r *topicRegistry) load() *topicSnapshot { return r.snap.Load() }

func (r *topicRegistry) count() int { return len(r.load().byName) }

// get returns the topic by name, or nil.
func (r *topicRegistry) get(name string) *topic { return r.load().byName[name] }

// getByID returns the topic by id, or nil.
func (r *topicRegistry) getByID(id [16]byte) *topic { return r.load().byID[id] }

// sortedNames lists the topic names in order.
func (r *topicRegistry) sortedNames() []string {
	s := r.load()
	names := make([]string, 0, len(s.byName))
	for n := range s.byName {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// readTopicsFile reads rivulet-topics.json (an empty list when it does not exist yet).
func readTopicsFile(dir string) ([]topicRecord, error) {
	path := filepath.Join(dir, topicsFile)
	data, err := os.ReadFile(path)
	switch {
	case os.IsNotExist(err):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("brokerlite: %w", err)
	}
	var content topicsFileContent
	if err := json.Unmarshal(data, &content); err != nil {
		return nil, fmt.Errorf("brokerlite: %s is damaged: %w (it is written atomically, so this is not a crash: restore it from a backup)", path, err)
	}
	for _, rec := range content.Topics {
		if _, err := parseTopicID(rec.ID); err != nil || rec.Partitions < 1 || validTopicName(rec.Name) != nil {
			return nil, fmt.Errorf("brokerlite: %s: bad topic record %+v", path, rec)
		}
	}
	return content.Topics, nil
}

// loadTopics builds the registry from the topic records and the logs the log store opened.
// Partition directories of topics the records do not know (rivulet-topics.json lost or
// restored from an old backup) are adopted as topics with default configs, with a warning:
// data on disk is never dropped silently.
func loadTopics(b *Broker, records []topicRecord) (*topicRegistry, error) {
	r := &topicRegistry{b: b, path: filepath.Join(b.metaDir, topicsFile)}
	snap := &topicSnapshot{byName: map[string]*topic{}, byID: map[[16]byte]*topic{}}
	known := map[string]bool{}
	for _, rec := range records {
		known[rec.Name] = true
	}
	adopted := map[string]int32{}
	for _, tp := range b.logs.onDisk() {
		if !known[tp.Topic] && adopted[tp.Topic] < tp.Partition+1 {
			adopted[tp.Topic] = tp.Partition + 1
		}
	}
	for name, n := range adopted {
		b.logger.Warn("adopting partition directories that rivulet-topics.json does not list", "topic", name, "partitions", n)
		records = append(records, topicRecord{Name: name, ID: hex.EncodeToString(func() []byte { id := newTopicID(); return id[:] }()),
			Partitions: n, Internal: isInternalTopicName(name)})
	}
	for _, rec := range records {
		id, _ := parseTopicID(rec.ID)
		t := &topic{name: rec.Name, id: id, internal: rec.Internal, configs: rec.Configs}
		if t.configs == nil {
			t.configs = map[string]string{}
		}
		for p := int32(0); p < rec.Partitions; p++ {
			part, err := b.logs.openPartition(t, p)
			if err != nil {
				return nil, err
			}
			t.partitions = append(t.partitions, part)
		}
		snap.byName[t.name] = t
		snap.byID[t.id] = t
	}
	if len(adopted) > 0 {
		if err := r.persistLocked(snap); err != nil {
			return nil, err
		}
	}
	r.snap.Store(snap)
	return r, nil
}

// persistLocked writes snap to rivulet-topics.json. r.mu must be held.
func (r *topicRegistry) persistLocked(snap *topicSnapshot) error {
	content := topicsFileContent{Version: 1}
	for _, t := range snap.byName {
		content.Topics = append(content.Topics, topicRecord{
			Name: t.name, ID: hex.EncodeToString(t.id[:]), Partitions: int32(len(t.partitions)),
			Internal: t.internal, Configs: t.configs,
		})
	}
	sort.Slice(content.Topics, func(i, j int) bool { return content.Topics[i].Name < content.Topics[j].Name })
	data, err := json.MarshalIndent(content, "", "  ")
	if err != nil {
		return fmt.Errorf("brokerlite: encoding topics: %w", err)
	}
	if err := writeFileAtomic(r.path, data); err != nil {
		return fmt.Errorf("brokerlite: writing %s: %w", r.path, err)
	}
	return nil
}

func (s *topicSnapshot) clone() *topicSnapshot {
	n := &topicSnapshot{byName: make(map[string]*topic, len(s.byName)+1), byID: make(map[[16]byte]*topic, len(s.byID)+1)}
	for k, v := range s.byName {
		n.byName[k] = v
	}
	for k, v := range s.byID {
		n.byID[k] = v
	}
	return n
}

// topicError is an error with the Kafka error code a client should see and a message.
type topicError struct {
	code *kerr.Error
	msg  string
}

func (e *topicError) Error() string { return "brokerlite: " + e.msg }

func newTopicError(code *kerr.Error, format string, args ...any) *topicError {
	return &topicError{code: code, msg: fmt.Sprintf(format, args...)}
}

// errorFields is errorCode for answers with a nullable message: 0 and nil for no error.
func errorFields(err error) (int16, *string) {
	if err == nil {
		return 0, nil
	}
	code, msg := errorCode(err)
	return code, &msg
}

// errorCode extracts a Kafka error code from err (UNKNOWN_SERVER_ERROR if none) and the
// message to put in the response.
func errorCode(err error) (int16, string) {
	if err == nil {
		return 0, ""
	}
	var te *topicError
	if errors.As(err, &te) {
		return te.code.Code, te.msg
	}
	var ke *kerr.Error
	if errors.As(err, &ke) {
		return ke.Code, err.Error()
	}
	if errors.Is(err, partlog.ErrStorage) { // the disk, or out of file descriptors
		return kerr.KafkaStorageError.Code, err.Error()
	}
	return kerr.UnknownServerError.Code, err.Error()
}

// validTopicName applies Kafka's rules (Topic.validate): 1 to 249 characters of
// [a-zA-Z0-9._-], and not "." or "..".
func validTopicName(name string) error {
	if name == "" {
		return newTopicError(kerr.InvalidTopicException, "topic name is empty")
	}
	if name == "." || name == ".." {
		return newTopicError(kerr.InvalidTopicException, "topic name cannot be %q", name)
	}
	if len(name) > maxTopicNameLen {
		return newTopicError(kerr.InvalidTopicException, "topic name is %d characters; the limit is %d", len(name), maxTopicNameLen)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return newTopicError(kerr.InvalidTopicException, "topic name %q has the character %q; legal characters are [a-zA-Z0-9._-]", name, c)
		}
	}
	return nil
}

// isInternalTopicName reports whether name is one of Kafka's internal topics.
func isInternalTopicName(name string) bool {
	return name == consumerOffsetsTopic || name == transactionStateTopic
}

func newTopicID() [16]byte {
	var id [16]byte
	for {
		_, _ = rand.Read(id[:])
		// Version 4 UUID bits, and never the zero id (which means "no id" in the protocol).
		id[6] = id[6]&0x0f | 0x40
		id[8] = id[8]&0x3f | 0x80
		if id != ([16]byte{}) {
			return id
		}
	}
}

func parseTopicID(s string) ([16]byte, error) {
	var id [16]byte
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != 16 {
		return id, fmt.Errorf("brokerlite: bad topic id %q", s)
	}
	copy(id[:], b)
	return id, nil
}

// createTopicOpts are the inputs of create.
type createTopicOpts struct {
	name         string
	partitions   int32 // -1 = num.partitions
	replication  int16 // -1 = default.replication.factor
	configs      map[string]string
	internal     bool
	validateOnly bool
}

// create makes a topic: validate, persist, open its partition logs, publish. It returns the
// topic (nil when validateOnly).
func (r *topicRegistry) create(o createTopicOpts) (*topic, error) {
	if err := validTopicName(o.name); err != nil {
		return nil, err
	}
	if o.partitions == -1 {
		o.partitions = r.b.settings.NumPartitions
	}
	if o.partitions < 1 {
		return nil, newTopicError(kerr.InvalidPartitions, "number of partitions must be at least 1, got %d", o.partitions)
	}
	if o.partitions > maxPartitionsPerTopic {
		return nil, newTopicError(kerr.InvalidPartitions, "number of partitions %d is above brokerlite's limit of %d per topic", o.partitions, maxPartitionsPerTopic)
	}
	if o.replication == -1 {
		o.replication = r.b.settings.DefaultReplication
	}
	if o.replication != 1 {
		return nil, newTopicError(kerr.InvalidReplicationFactor,
			"replication factor %d is not possible: brokerlite is a single broker, so every topic has replication factor 1; use a Kafka cluster for replication", o.replication)
	}
	configs := map[string]string{}
	for k, v := range o.configs {
		configs[k] = v
	}
	if err := validateTopicConfigs(r.b, configs); err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	cur := r.load()
	if _, ok := cur.byName[o.name]; ok {
		return nil, newTopicError(kerr.TopicAlreadyExists, "topic %q already exists", o.name)
	}
	if c := collidingName(cur, o.name); c != "" {
		return nil, newTopicError(kerr.InvalidTopicException, "topic %q collides with existing topic %q: '.' and '_' are the same in metric names", o.name, c)
	}
	if o.validateOnly {
		return nil, nil
	}
	t := &topic{name: o.name, id: newTopicID(), internal: o.internal, configs: configs}
	// Open the logs first, then persist the topic: a crash in between leaves partition
	// directories that the next start adopts, never a listed topic without its data.
	for p := int32(0); p < o.partitions; p++ {
		part, err := r.b.logs.openPartition(t, p)
		if err != nil {
			for _, op := range t.partitions {
				_ = r.b.logs.deletePartition(op)
			}
			return nil, err
		}
		t.partitions = append(t.partitions, part)
	}
	next := cur.clone()
	next.byName[t.name] = t
	next.byID[t.id] = t
	if err := r.persistLocked(next); err != nil {
		for _, op := range t.partitions {
			_ = r.b.logs.deletePartition(op)
		}
		return nil, err
	}
	r.snap.Store(next)
	r.b.logger.Info("created topic", "topic", t.name, "partitions", len(t.partitions), "internal", t.internal, "configs", configs)
	return t, nil
}

// maxPartitionsPerTopic bounds one request's allocation; Kafka has no hard limit, but tens of
// thousands of partitions on one node is a mistake, not a plan.
var maxPartitionsPerTopic int32 = 10000

// collidingName returns an existing topic whose name differs from name only by '.' vs '_'
// (Kafka rejects such pairs because their metric names collide), or "".
func collidingName(s *topicSnapshot, name string) string {
	if !strings.ContainsAny(name, "._") {
		return ""
	}
	norm := strings.ReplaceAll(name, ".", "_")
	for n := range s.byName {
		if n != name && strings.ReplaceAll(n, ".", "_") == norm {
			return n
		}
	}
	return ""
}

// delete removes a topic: unpublish, persist, then delete its logs.
func (r *topicRegistry) delete(t *topic) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	cur := r.load()
	if cur.byName[t.name] != t {
		return newTopicError(kerr.UnknownTopicOrPartition, "topic %q does not exist", t.name)
	}
	next := cur.clone()
	delete(next.byName, t.name)
	delete(next.byID, t.id)
	r.snap.Store(next)
	// Delete the logs before the topic record: a crash in between leaves the topic listed
	// with empty partitions (a retry of the delete finishes it), never orphaned data that a
	// new topic of the same name could pick up.
	var errs []error
	for _, p := range t.partitions {
		if err := r.b.logs.deletePartition(p); err != nil {
			errs = append(errs, err)
		}
	}
	if err := r.persistLocked(next); err != nil {
		return err
	}
	r.b.logger.Info("deleted topic", "topic", t.name)
	if len(errs) > 0 {
		r.b.logger.Warn("deleting topic files failed; they are left on disk", "topic", t.name, "err", errors.Join(errs...))
	}
	return nil
}

// existingLocked returns the current snapshot and its topic called name, or
// UNKNOWN_TOPIC_OR_PARTITION when there is none. r.mu must be held.
func (r *topicRegistry) existingLocked(name string) (*topicSnapshot, *topic, error) {
	cur := r.load()
	t := cur.byName[name]
	if t == nil {
		return nil, nil, newTopicError(kerr.UnknownTopicOrPartition, "topic %q does not exist", name)
	}
	return cur, t, nil
}

// addPartitions grows a topic to total partitions.
func (r *topicRegistry) addPartitions(name string, total int32, validateOnly bool) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	cur, t, err := r.existingLocked(name)
	if err != nil {
		return err
	}
	have := int32(len(t.partitions))
	if total < have {
		return newTopicError(kerr.InvalidPartitions, "topic %q has %d partitions; the count can only grow, not shrink to %d", name, have, total)
	}
	if total == have {
		return newTopicError(kerr.InvalidPartitions, "topic %q already has %d partitions", name, have)
	}
	if total > maxPartitionsPerTopic {
		return newTopicError(kerr.InvalidPartitions, "number of partitions %d is above brokerlite's limit of %d per topic", total, maxPartitionsPerTopic)
	}
	if validateOnly {
		return nil
	}
	nt := &topic{name: t.name, id: t.id, internal: t.internal, configs: t.configs, partitions: append([]*partition(nil), t.partitions...)}
	for p := have; p < total; p++ {
		part, err := r.b.logs.openPartition(nt, p)
		if err != nil {
			for _, op := range nt.partitions[have:] {
				_ = r.b.logs.deletePartition(op)
			}
			return err
		}
		nt.partitions = append(nt.partitions, part)
	}
	// Existing partitions keep their state; they now belong to the new *topic value.
	for _, p := range nt.partitions[:have] {
		p.setTopic(nt)
	}
	next := cur.clone()
	next.byName[nt.name] = nt
	next.byID[nt.id] = nt
	if err := r.persistLocked(next); err != nil {
		for _, p := range nt.partitions[:have] {
			p.setTopic(t)
		}
		for _, op := range nt.partitions[have:] {
			_ = r.b.logs.deletePartition(op)
		}
		return err
	}
	r.snap.Store(next)
	r.b.logger.Info("added partitions", "topic", name, "from", have, "to", total)
	return nil
}

// setConfigs replaces a topic's explicit configs after validating them, applies them to the
// partition logs, and persists them.
func (r *topicRegistry) setConfigs(name string, configs map[string]string, validateOnly bool) error {
	if err := validateTopicConfigs(r.b, configs); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	cur, t, err := r.existingLocked(name)
	if err != nil {
		return err
	}
	if validateOnly {
		return nil
	}
	nt := &topic{name: t.name, id: t.id, internal: t.internal, configs: configs, partitions: t.partitions}
	next := cur.clone()
	next.byName[nt.name] = nt
	next.byID[nt.id] = nt
	if err := r.persistLocked(next); err != nil {
		return err
	}
	for _, p := range nt.partitions {
		p.setTopic(nt)
	}
	r.snap.Store(next)
	if err := r.b.logs.applyConfigs(nt); err != nil {
		r.b.logger.Warn("applying topic configs to logs failed", "topic", name, "err", err)
	}
	r.b.logger.Info("altered topic configs", "topic", name, "configs", configs)
	return nil
}

// ensureInternalTopic creates an internal topic (such as __consumer_offsets) if it does not
// exist, and returns it. An existing topic is returned as it is, whatever its partition count.
func (b *Broker) ensureInternalTopic(name string, partitions int32, configs map[string]string) (*topic, error) {
	if t := b.topics.get(name); t != nil {
		return t, nil
	}
	t, err := b.topics.create(createTopicOpts{name: name, partitions: partitions, replication: 1, configs: configs, internal: true})
	var te *topicError
	if errors.As(err, &te) && te.code == kerr.TopicAlreadyExists {
		return b.topics.get(name), nil
	}
	return t, err
}

// autoCreateTopic creates a topic a client named in Metadata or Produce, when
// auto.create.topics.enable allows it. Internal topic names are never auto-created here.
func (b *Broker) autoCreateTopic(name string) (*topic, error) {
	if t := b.topics.get(name); t != nil {
		return t, nil
	}
	if err := validTopicName(name); err != nil {
		return nil, err
	}
	if !b.settings.AutoCreateTopics || isInternalTopicName(name) {
		return nil, newTopicError(kerr.UnknownTopicOrPartition, "topic %q does not exist", name)
	}
	t, err := b.topics.create(createTopicOpts{name: strings.Clone(name), partitions: -1, replication: -1})
	var te *topicError
	if errors.As(err, &te) && te.code == kerr.TopicAlreadyExists {
		return b.topics.get(name), nil
	}
	return t, err
}
