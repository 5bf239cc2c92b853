package streams

import (
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"

	"github.com/rivulet-io/rivulet/client"
	"github.com/rivulet-io/rivulet/statestore/badgerstore"
)

// The settings policy: every property an application is given either
// works, is refused (parseConfig or the client layer returns an error), or
// is reported once at start. Kafka Streams settings that Rivulet accepts
// with no effect are listed here with what happens instead; client
// properties with no effect come back from client.Parse as warnings. New
// logs both in one line ("streams: properties with no effect") and keeps
// them in config.IgnoredProperties.

// noEffectProps are Kafka Streams settings accepted without effect,
// with what Rivulet does instead.
var noEffectProps = map[string]string{
	PropUpgradeFrom:              "no older Rivulet wire format exists to upgrade from",
	PropTaskTimeoutMs:            "a task error fails its thread at once and goes to the uncaught-error handler (WithUncaughtErrorHandler)",
	PropStateCleanupDelayMs:      "state directories of tasks this instance no longer owns are kept until the application id's state directory is removed",
	"default.key.serde":          "serdes are typed: give them with ConsumedWith, ProducedWith, GroupedWith or MaterializedWith; a missing one is DefaultSerde of the type",
	"default.value.serde":        "serdes are typed: give them with ConsumedWith, ProducedWith, GroupedWith or MaterializedWith; a missing one is DefaultSerde of the type",
	"window.size.ms":             "give the window size to TimeWindowedSerde in code",
	"rocksdb.config.setter":      "persistent stores are Badger: tune them with the WithBadgerConfigSetter option",
	"default.dsl.store":          "pick each store's type with Materialized.WithStoreType (persistent by default)",
	"dsl.store.suppliers.class":  "pick each store's type with Materialized.WithStoreType (persistent by default)",
	"rack.aware.assignment.tags": "the task assignor is not rack aware",
}

// ignoredProperty is a property the application was given that has no
// effect, and what happens instead.
type ignoredProperty struct {
	// Role is "streams" for a Kafka Streams setting, or the client kind
	// ("consumer", "producer", "admin") whose properties carry it.
	Role string
	// Key is the property name ("" when the client layer's warning covers
	// several).
	Key string
	// Instead says what happens instead.
	Instead string
}

// String renders p as "role key: instead".
func (p ignoredProperty) String() string {
	if p.Key == "" {
		return p.Role + ": " + p.Instead
	}
	return p.Role + " " + p.Key + ": " + p.Instead
}

// noteIgnored records a Kafka Streams setting accepted with no effect.
func (c *config) noteIgnored(key string) {
	c.IgnoredProperties = append(c.IgnoredProperties, ignoredProperty{Role: "streams", Key: key, Instead: noEffectProps[key]})
}

// WithBadgerConfigSetter tunes the Badger options of each persistent store
// (the counterpart of Kafka Streams' rocksdb.config.setter): fn is called
// with the store's name and the options it is about to open with (the
// defaults of badgerstore.Options) every time a task or standby opens it.
// Options Badger cannot work with make the store fail to open.
func WithBadgerConfigSetter(fn func(storeName string, opts *badgerstore.Options)) Option {
	return func(c *config) { c.BadgerConfigSetter = fn }
}

// clientParser parses client properties for the application's clients: a
// property set is parsed once (the stream threads' clients share one), and
// each warning is logged once.
type clientParser struct {
	logger *slog.Logger
	mu     sync.Mutex
	parsed map[string]*client.Parsed
	warned map[string]bool
}

func newClientParser(logger *slog.Logger) *clientParser {
	return &clientParser{logger: logger, parsed: map[string]*client.Parsed{}, warned: map[string]bool{}}
}

// parse returns props parsed for role. With quiet set the warnings are
// only recorded as seen (New reports them in its start line).
func (p *clientParser) parse(role client.Role, props client.Properties, quiet bool) (*client.Parsed, error) {
	var key strings.Builder
	key.WriteString(role.String())
	for _, k := range props.Keys() {
		fmt.Fprintf(&key, "\x00%s\x00%s", k, props[k])
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if parsed, ok := p.parsed[key.String()]; ok {
		return parsed, nil
	}
	parsed, err := client.Parse(role, props)
	if err != nil {
		return nil, err
	}
	p.parsed[key.String()] = parsed
	for _, w := range parsed.Warnings {
		if p.warned[w] {
			continue
		}
		p.warned[w] = true
		if !quiet {
			p.logger.Warn("streams: "+role.String()+" property has no effect: "+w, "role", role.String())
		}
	}
	return parsed, nil
}

// clientRoles are the client kinds of config.ClientProperties.
var clientRoles = []struct {
	name string
	role client.Role
}{{"admin", client.RoleAdmin}, {"consumer", client.RoleConsumer}, {"producer", client.RoleProducer}}

// checkClientProperties parses each role's properties as the application's
// clients will (the consumer as a group member), so a typo fails New, and
// adds their warnings to cfg.IgnoredProperties.
func checkClientProperties(cfg *config, cp *clientParser) error {
	// used: the keys some client takes (client.Properties.For keeps them).
	used := map[string]bool{}
	for _, r := range clientRoles {
		for k := range memberProps(cfg, r.role, "").For(r.role) {
			used[k] = true
		}
	}
	for _, r := range clientRoles {
		props := memberProps(cfg, r.role, "")
		p, err := cp.parse(r.role, props.For(r.role), true)
		if err != nil {
			return fmt.Errorf("streams: %s properties: %w", r.name, err)
		}
		for _, w := range p.Warnings {
			cfg.IgnoredProperties = append(cfg.IgnoredProperties, ignoredProperty{Role: r.name, Key: warningKey(w), Instead: w})
		}
		// A property of another client kind given to this one (for
		// example consumer.transactional.id) that no client takes.
		for _, k := range props.Keys() {
			if !used[k] {
				cfg.IgnoredProperties = append(cfg.IgnoredProperties, ignoredProperty{Role: r.name, Key: k,
					Instead: fmt.Sprintf("%q is not a %s property; no client uses it", k, r.name)})
			}
		}
	}
	return nil
}

// memberProps are the client properties of role; for the consumer of a
// stream thread (groupMember set, or "" for the check at New) they get
// group.id = application.id and auto-commit off, as newClient gives them.
func memberProps(cfg *config, role client.Role, groupMember string) client.Properties {
	name := role.String()
	props := client.Properties(cfg.ClientProperties[name]).Clone()
	if role == client.RoleConsumer {
		props["group.id"] = cfg.ApplicationID
		props["enable.auto.commit"] = "false"
		if id, ok := props["group.instance.id"]; ok && id != "" && groupMember != "" {
			props["group.instance.id"] = id + "-" + groupMember
		}
	}
	return props
}

// warningKey is the quoted property name a client warning starts with, or
// "".
func warningKey(w string) string {
	if !strings.HasPrefix(w, `"`) {
		return ""
	}
	if i := strings.IndexByte(w[1:], '"'); i >= 0 {
		return w[1 : 1+i]
	}
	return ""
}

// logIgnored logs, once at start, every property the application was given
// that has no effect.
func logIgnored(cfg *config) {
	if len(cfg.IgnoredProperties) == 0 {
		return
	}
	sort.SliceStable(cfg.IgnoredProperties, func(i, j int) bool {
		a, b := cfg.IgnoredProperties[i], cfg.IgnoredProperties[j]
		if a.Role != b.Role {
			return a.Role > b.Role // streams first, then the clients
		}
		return a.Key < b.Key
	})
	lines := make([]string, len(cfg.IgnoredProperties))
	for i, p := range cfg.IgnoredProperties {
		lines[i] = p.String()
	}
	cfg.Logger.Warn("streams: properties with no effect", "application.id", cfg.ApplicationID, "count", len(lines), "properties", strings.Join(lines, "; "))
}
