package client

import (
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Role says which kind of client a set of properties configures. Kafka keeps one property
// namespace per client kind (ProducerConfig, ConsumerConfig, AdminClientConfig); a property of
// another kind is accepted with a warning, as Kafka's "supplied but isn't a known config".
type Role uint8

// The client kinds.
const (
	RoleProducer Role = 1 << iota
	RoleConsumer
	RoleAdmin

	roleAll = RoleProducer | RoleConsumer | RoleAdmin
)

// String returns "producer", "consumer" or "admin".
func (r Role) String() string {
	switch r {
	case RoleProducer:
		return "producer"
	case RoleConsumer:
		return "consumer"
	case RoleAdmin:
		return "admin"
	}
	var parts []string
	for _, one := range []Role{RoleProducer, RoleConsumer, RoleAdmin} {
		if r&one != 0 {
			parts = append(parts, one.String())
		}
	}
	if len(parts) == 0 {
		return "Role(" + strconv.Itoa(int(r)) + ")"
	}
	return strings.Join(parts, "/")
}

// Defaults that Parse applies where Kafka's documented default differs from franz-go's and the
// difference changes what a program sees.
const (
	// DefaultMaxPollRecords is Kafka's max.poll.records default.
	DefaultMaxPollRecords = 500
	// DefaultAPITimeout is Kafka's default.api.timeout.ms default.
	DefaultAPITimeout = 60 * time.Second
)

// InterceptorPropertyPrefix marks properties that belong to interceptors. Parse passes keys
// with this prefix through untouched (interceptors read them in Configure), so custom
// interceptors can take settings without Parse calling them unknown.
const InterceptorPropertyPrefix = "interceptor."

// Parsed is what a set of properties turned into for one client role.
type Parsed struct {
	// Role is the client kind the properties were parsed for.
	Role Role
	// Opts are the franz-go options, ready for kgo.NewClient.
	Opts []kgo.Opt
	// Warnings name each property that was accepted but has no effect (a Kafka property
	// franz-go has no counterpart for, or one meant for another client kind), sorted by key.
	Warnings []string
	// BootstrapServers are the seed brokers from bootstrap.servers.
	BootstrapServers []string
	// GroupID is group.id ("" when not consuming in a group).
	GroupID string
	// AutoCommit is true when the consumer commits on its own: in a group, with
	// enable.auto.commit true (its default).
	AutoCommit bool
	// MaxPollRecords is max.poll.records, the most records one Consumer.Poll returns.
	MaxPollRecords int
	// Interceptors are the names listed in interceptor.classes, in order. Each names a
	// registered interceptor of the role (checked by Parse).
	Interceptors []string
	// APITimeout is default.api.timeout.ms: the bound callers put on blocking admin and
	// consumer calls that take no explicit deadline.
	APITimeout time.Duration
}

// ProducerOpts turns producer properties into franz-go options. Warnings are logged to
// slog.Default(); use [Parse] to get them instead.
func ProducerOpts(props Properties) ([]kgo.Opt, error) { return optsLogged(RoleProducer, props) }

// ConsumerOpts turns consumer properties into franz-go options. Warnings are logged to
// slog.Default(); use [Parse] to get them instead. max.poll.records is not a franz-go option:
// pass it to kgo.Client.PollRecords yourself, or use [Consumer].
func ConsumerOpts(props Properties) ([]kgo.Opt, error) { return optsLogged(RoleConsumer, props) }

// AdminOpts turns admin-client properties into franz-go options (for kadm.NewClient over
// kgo.NewClient). Warnings are logged to slog.Default().
func AdminOpts(props Properties) ([]kgo.Opt, error) { return optsLogged(RoleAdmin, props) }

func optsLogged(role Role, props Properties) ([]kgo.Opt, error) {
	p, err := Parse(role, props)
	if err != nil {
		return nil, err
	}
	logWarnings(slog.Default(), p.Warnings)
	return p.Opts, nil
}

// addSet adds opt(*v) when the property behind v was given (v != nil).
func addSet[T any, O kgo.Opt](add func(...kgo.Opt), v *T, opt func(T) O) {
	if v != nil {
		add(opt(*v))
	}
}

func logWarnings(l *slog.Logger, warnings []string) {
	for _, w := range warnings {
		l.Warn("client: " + w)
	}
}

// Parse validates props for a client of the given role and turns them into franz-go options.
//
// Unknown property names and bad values are errors; all of them are reported at once, joined,
// in key order. Properties Kafka defines that have no franz-go counterpart, and properties of
// another client kind, are accepted and listed in Parsed.Warnings. Unset properties keep
// franz-go's defaults, except auto.offset.reset (Kafka's "latest") and max.poll.records
// (Kafka's 500). docs/cli.md has the full table.
func Parse(role Role, props Properties) (*Parsed, error) {
	if role != RoleProducer && role != RoleConsumer && role != RoleAdmin {
		return nil, fmt.Errorf("client: Parse: invalid role %v", role)
	}
	s := &settings{role: role, props: props}
	var errs []error
	var warnings []string
	for _, key := range props.Keys() {
		value := props[key]
		if strings.HasPrefix(key, InterceptorPropertyPrefix) && key != "interceptor.classes" {
			continue
		}
		spec, ok := propertyTable[key]
		if !ok {
			errs = append(errs, unknownProperty(key))
			continue
		}
		if spec.roles&role == 0 {
			warnings = append(warnings, fmt.Sprintf("%q is a %s property; a %s ignores it", key, spec.roles, role))
			continue
		}
		if spec.apply == nil {
			warnings = append(warnings, fmt.Sprintf("%q is ignored: %s", key, spec.ignored))
			continue
		}
		if err := spec.apply(s, strings.TrimSpace(value)); err != nil {
			errs = append(errs, fmt.Errorf("client: property %s=%q: %w", key, value, err))
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	p, err := s.build()
	if err != nil {
		return nil, err
	}
	p.Warnings = append(warnings, s.warnings...)
	return p, nil
}

// unknownProperty names the closest known property when there is one, so a typo is obvious.
func unknownProperty(key string) error {
	best, bestDist := "", 4
	for known := range propertyTable {
		if d := editDistance(key, known); d < bestDist || (d == bestDist && known < best) {
			best, bestDist = known, d
		}
	}
	if best != "" {
		return fmt.Errorf("client: unknown property %q (did you mean %q?)", key, best)
	}
	return fmt.Errorf("client: unknown property %q (see docs/cli.md for the supported ones)", key)
}

func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 1 << 30 // nobody's typo is that long; keep this cheap on hostile input
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// settings holds typed values while the properties are read; build turns them into options
// once all are known, because some properties only make sense together (acks and
// enable.idempotence, for one).
type settings struct {
	role     Role
	props    Properties
	warnings []string

	seeds            []string
	clientID         *string
	requestTimeout   *time.Duration
	retryBackoff     *time.Duration
	retryBackoffMax  *time.Duration
	metadataMaxAge   *time.Duration
	connIdle         *time.Duration
	dialTimeout      *time.Duration
	securityProtocol string
	sslCA            string
	sslCert          string
	sslKey           string
	sslTruststore    string
	sslTruststoreTyp string
	sslTrustCerts    string // ssl.truststore.certificates (PEM text)
	sslKeystoreTyp   string
	sslKeystore      string // ssl.keystore.location (PEM file: key and chain)
	sslKeystoreChain string // ssl.keystore.certificate.chain (PEM text)
	sslKeystoreKey   string // ssl.keystore.key (PEM text)
	sslHostnameCheck *bool
	saslMechanism    string
	saslUser         *string
	saslPass         *string
	saslJAAS         string
	metricsPush      *bool
	interceptors     []string
	apiTimeout       *time.Duration
	retries          *int

	acks            *int
	idempotence     *bool
	maxInFlight     *int
	deliveryTimeout *time.Duration
	linger          *time.Duration
	batchSize       *int
	compression     []string
	gzipLevel       *int
	lz4Level        *int
	zstdLevel       *int
	bufferMemory    *int
	maxRequestSize  *int
	partitioner     string
	ignoreKeys      bool
	txnID           *string
	txnTimeout      *time.Duration
	allowAutoCreate *bool

	groupID            string
	instanceID         *string
	offsetReset        string
	autoCommit         *bool
	autoCommitInterval *time.Duration
	sessionTimeout     *time.Duration
	heartbeat          *time.Duration
	rebalanceTimeout   *time.Duration
	maxPollRecords     *int
	fetchMin           *int
	fetchMax           *int
	maxPartitionFetch  *int
	fetchMaxWait       *time.Duration
	isolation          string
	strategies         []string
	groupProtocol      string
	checkCRCs          *bool
	rack               string
}

type propSpec struct {
	roles   Role
	apply   func(s *settings, v string) error // nil: a known Kafka property with no effect here
	ignored string                            // why, when apply is nil
}

const (
	rolesPC = RoleProducer | RoleConsumer
	rolesCA = RoleConsumer | RoleAdmin
	rolesPA = RoleProducer | RoleAdmin
)

func ignoredProp(roles Role, why string) propSpec { return propSpec{roles: roles, ignored: why} }

func mapped(roles Role, apply func(s *settings, v string) error) propSpec {
	return propSpec{roles: roles, apply: apply}
}

// propertyTable is every property Parse knows. docs/cli.md mirrors it; keep them together.
var propertyTable = map[string]propSpec{
	// Common to every client.
	"bootstrap.servers": mapped(roleAll, func(s *settings, v string) (err error) { s.seeds, err = parseSeeds(v); return }),
	"client.id":         mapped(roleAll, func(s *settings, v string) error { s.clientID = &v; return nil }),
	"request.timeout.ms": mapped(roleAll, func(s *settings, v string) (err error) {
		s.requestTimeout, err = msPtr(v, 1)
		return
	}),
	"retry.backoff.ms":     mapped(roleAll, func(s *settings, v string) (err error) { s.retryBackoff, err = msPtr(v, 0); return }),
	"retry.backoff.max.ms": mapped(roleAll, func(s *settings, v string) (err error) { s.retryBackoffMax, err = msPtr(v, 0); return }),
	"metadata.max.age.ms":  mapped(roleAll, func(s *settings, v string) (err error) { s.metadataMaxAge, err = msPtr(v, 1); return }),
	"connections.max.idle.ms": mapped(roleAll, func(s *settings, v string) (err error) {
		s.connIdle, err = msPtr(v, 1)
		return
	}),
	"socket.connection.setup.timeout.ms": mapped(roleAll, func(s *settings, v string) (err error) {
		s.dialTimeout, err = msPtr(v, 1)
		return
	}),
	"security.protocol": mapped(roleAll, func(s *settings, v string) error {
		return oneOf(&s.securityProtocol, strings.ToUpper(v), "", "PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
	}),
	"ssl.ca.location":          mapped(roleAll, func(s *settings, v string) error { s.sslCA = v; return nil }),
	"ssl.certificate.location": mapped(roleAll, func(s *settings, v string) error { s.sslCert = v; return nil }),
	"ssl.key.location":         mapped(roleAll, func(s *settings, v string) error { s.sslKey = v; return nil }),
	"ssl.truststore.location":  mapped(roleAll, func(s *settings, v string) error { s.sslTruststore = v; return nil }),
	"ssl.truststore.type":      mapped(roleAll, func(s *settings, v string) error { s.sslTruststoreTyp = strings.ToUpper(v); return nil }),
	"ssl.key.password": mapped(roleAll, func(*settings, string) error {
		return errors.New("encrypted private keys are not supported: decrypt the key (openssl pkey -in key.pem -out plain.pem) and drop ssl.key.password")
	}),
	"ssl.keystore.location": mapped(roleAll, func(s *settings, v string) error { s.sslKeystore = v; return nil }),
	"ssl.keystore.type": mapped(roleAll, func(s *settings, v string) error {
		if u := strings.ToUpper(v); u != "PEM" {
			return fmt.Errorf("keystore type %s is not supported: convert it to PEM (ssl.keystore.type=PEM), or give ssl.certificate.location and ssl.key.location", v)
		}
		s.sslKeystoreTyp = "PEM"
		return nil
	}),
	"ssl.keystore.certificate.chain": mapped(roleAll, func(s *settings, v string) error { s.sslKeystoreChain = v; return nil }),
	"ssl.keystore.key":               mapped(roleAll, func(s *settings, v string) error { s.sslKeystoreKey = v; return nil }),
	"ssl.truststore.certificates":    mapped(roleAll, func(s *settings, v string) error { s.sslTrustCerts = v; return nil }),
	"ssl.keystore.password": mapped(roleAll, func(*settings, string) error {
		return errors.New("keystore passwords are not supported: give an unencrypted PEM key (ssl.keystore.type=PEM)")
	}),
	"ssl.endpoint.identification.algorithm": mapped(roleAll, func(s *settings, v string) error {
		switch strings.ToLower(v) {
		case "https":
			t := true
			s.sslHostnameCheck = &t
		case "":
			f := false
			s.sslHostnameCheck = &f
		default:
			return errors.New(`want "https" or "" (no hostname check)`)
		}
		return nil
	}),
	"sasl.mechanism": mapped(roleAll, func(s *settings, v string) error {
		return oneOf(&s.saslMechanism, strings.ToUpper(v), "(GSSAPI and OAUTHBEARER are not supported)", "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")
	}),
	"sasl.username":    mapped(roleAll, func(s *settings, v string) error { s.saslUser = &v; return nil }),
	"sasl.password":    mapped(roleAll, func(s *settings, v string) error { s.saslPass = &v; return nil }),
	"sasl.jaas.config": mapped(roleAll, func(s *settings, v string) error { s.saslJAAS = v; return nil }),
	"enable.metrics.push": mapped(roleAll, func(s *settings, v string) (err error) {
		s.metricsPush, err = boolPtr(v)
		return
	}),
	"interceptor.classes": mapped(rolesPC, func(s *settings, v string) error {
		s.interceptors = splitList(v)
		return nil
	}),
	"default.api.timeout.ms": mapped(rolesCA, func(s *settings, v string) (err error) { s.apiTimeout, err = msPtr(v, 1); return }),
	"retries":                mapped(rolesPA, func(s *settings, v string) (err error) { s.retries, err = intPtr(v, 0, 1<<31-1); return }),

	"reconnect.backoff.ms":                   ignoredProp(roleAll, "franz-go backs off reconnects with retry.backoff.ms"),
	"reconnect.backoff.max.ms":               ignoredProp(roleAll, "franz-go backs off reconnects with retry.backoff.ms"),
	"socket.connection.setup.timeout.max.ms": ignoredProp(roleAll, "franz-go uses socket.connection.setup.timeout.ms for every dial"),
	"send.buffer.bytes":                      ignoredProp(roleAll, "the operating system's socket buffer sizes are used"),
	"receive.buffer.bytes":                   ignoredProp(roleAll, "the operating system's socket buffer sizes are used"),
	"client.dns.lookup":                      ignoredProp(roleAll, "franz-go resolves every address a host name has"),
	"metric.reporters":                       ignoredProp(roleAll, "JVM metric reporters do not exist here; use franz-go hooks (plugin/kprom)"),
	"metrics.num.samples":                    ignoredProp(roleAll, "JVM metrics do not exist here"),
	"metrics.sample.window.ms":               ignoredProp(roleAll, "JVM metrics do not exist here"),
	"metrics.recording.level":                ignoredProp(roleAll, "JVM metrics do not exist here"),
	"auto.include.jmx.reporter":              ignoredProp(roleAll, "JMX does not exist here"),
	"security.providers":                     ignoredProp(roleAll, "Java security providers do not exist here"),
	"ssl.protocol":                           ignoredProp(roleAll, "Go's TLS picks the protocol version (TLS 1.2 or newer)"),
	"ssl.enabled.protocols":                  ignoredProp(roleAll, "Go's TLS picks the protocol version (TLS 1.2 or newer)"),
	"ssl.cipher.suites":                      ignoredProp(roleAll, "Go's TLS picks the cipher suites"),
	"ssl.keymanager.algorithm":               ignoredProp(roleAll, "Java key managers do not exist here"),
	"ssl.trustmanager.algorithm":             ignoredProp(roleAll, "Java trust managers do not exist here"),
	"ssl.secure.random.implementation":       ignoredProp(roleAll, "Go's crypto/rand is used"),
	"ssl.truststore.password":                ignoredProp(roleAll, "PEM truststores have no password"),
	"sasl.kerberos.service.name":             ignoredProp(roleAll, "GSSAPI is not supported"),
	"metadata.recovery.strategy":             ignoredProp(roleAll, "franz-go re-bootstraps on its own"),

	// Producer.
	"acks": mapped(RoleProducer, func(s *settings, v string) error {
		switch strings.ToLower(v) {
		case "all", "-1":
			s.acks = ptr(-1)
		case "1":
			s.acks = ptr(1)
		case "0":
			s.acks = ptr(0)
		default:
			return errors.New("want all, -1, 0 or 1")
		}
		return nil
	}),
	"enable.idempotence": mapped(RoleProducer, func(s *settings, v string) (err error) { s.idempotence, err = boolPtr(v); return }),
	"max.in.flight.requests.per.connection": mapped(RoleProducer, func(s *settings, v string) (err error) {
		s.maxInFlight, err = intPtr(v, 1, 1<<20)
		return
	}),
	"delivery.timeout.ms": mapped(RoleProducer, func(s *settings, v string) (err error) { s.deliveryTimeout, err = msPtr(v, 1); return }),
	"linger.ms": mapped(RoleProducer, func(s *settings, v string) (err error) {
		// franz-go refuses a linger over a minute; say so here rather than at NewClient.
		s.linger, err = msPtr(v, 0)
		if err == nil && *s.linger > time.Minute {
			err = errors.New("at most 60000 (one minute)")
		}
		return
	}),
	"batch.size":       mapped(RoleProducer, func(s *settings, v string) (err error) { s.batchSize, err = intPtr(v, 1, 1<<30); return }),
	"buffer.memory":    mapped(RoleProducer, func(s *settings, v string) (err error) { s.bufferMemory, err = intPtr(v, 1, 1<<62); return }),
	"max.request.size": mapped(RoleProducer, func(s *settings, v string) (err error) { s.maxRequestSize, err = intPtr(v, 1, 1<<30); return }),
	"compression.type": mapped(RoleProducer, func(s *settings, v string) error {
		list := splitList(strings.ToLower(v))
		if len(list) == 0 {
			return errors.New("want none, gzip, snappy, lz4 or zstd")
		}
		for _, c := range list {
			if _, err := codecFor(c, 0, false); err != nil {
				return err
			}
		}
		s.compression = list
		return nil
	}),
	"compression.gzip.level": mapped(RoleProducer, func(s *settings, v string) (err error) { s.gzipLevel, err = intPtr(v, -1, 9); return }),
	"compression.lz4.level":  mapped(RoleProducer, func(s *settings, v string) (err error) { s.lz4Level, err = intPtr(v, 1, 17); return }),
	"compression.zstd.level": mapped(RoleProducer, func(s *settings, v string) (err error) { s.zstdLevel, err = intPtr(v, -131072, 22); return }),
	"partitioner.class": mapped(RoleProducer, func(s *settings, v string) error {
		switch v {
		case "", "default", "murmur2", "org.apache.kafka.clients.producer.internals.DefaultPartitioner",
			"org.apache.kafka.clients.producer.UniformStickyPartitioner":
			s.partitioner = "default"
		case "roundrobin", "org.apache.kafka.clients.producer.RoundRobinPartitioner":
			s.partitioner = "roundrobin"
		default:
			return errors.New("want default (murmur2 of the key, sticky for null keys) or roundrobin, or their Kafka class names")
		}
		return nil
	}),
	"partitioner.ignore.keys": mapped(RoleProducer, func(s *settings, v string) error {
		b, err := boolPtr(v)
		if err == nil {
			s.ignoreKeys = *b
		}
		return err
	}),
	"transactional.id": mapped(RoleProducer, func(s *settings, v string) error {
		if v == "" {
			return errors.New("must not be empty")
		}
		s.txnID = &v
		return nil
	}),
	"transaction.timeout.ms": mapped(RoleProducer, func(s *settings, v string) (err error) { s.txnTimeout, err = msPtr(v, 1); return }),
	"allow.auto.create.topics": mapped(rolesPC, func(s *settings, v string) (err error) {
		s.allowAutoCreate, err = boolPtr(v)
		return
	}),

	"key.serializer":                           ignoredProp(RoleProducer, "records are bytes here; serdes live in package streams"),
	"value.serializer":                         ignoredProp(RoleProducer, "records are bytes here; serdes live in package streams"),
	"max.block.ms":                             ignoredProp(RoleProducer, "Produce blocks on a full buffer until its context is done; bound it with the context"),
	"metadata.max.idle.ms":                     ignoredProp(RoleProducer, "franz-go keeps metadata for every topic it produced to"),
	"partitioner.adaptive.partitioning.enable": ignoredProp(RoleProducer, "franz-go's sticky partitioner is not adaptive"),
	"partitioner.availability.timeout.ms":      ignoredProp(RoleProducer, "franz-go's sticky partitioner is not adaptive"),

	// Consumer.
	"group.id": mapped(RoleConsumer, func(s *settings, v string) error { s.groupID = v; return nil }),
	"group.instance.id": mapped(RoleConsumer, func(s *settings, v string) error {
		if v == "" {
			return errors.New("must not be empty")
		}
		s.instanceID = &v
		return nil
	}),
	"auto.offset.reset": mapped(RoleConsumer, func(s *settings, v string) error {
		return oneOf(&s.offsetReset, strings.ToLower(v), "", "earliest", "latest", "none")
	}),
	"enable.auto.commit":      mapped(RoleConsumer, func(s *settings, v string) (err error) { s.autoCommit, err = boolPtr(v); return }),
	"auto.commit.interval.ms": mapped(RoleConsumer, func(s *settings, v string) (err error) { s.autoCommitInterval, err = msPtr(v, 1); return }),
	"session.timeout.ms":      mapped(RoleConsumer, func(s *settings, v string) (err error) { s.sessionTimeout, err = msPtr(v, 1); return }),
	"heartbeat.interval.ms":   mapped(RoleConsumer, func(s *settings, v string) (err error) { s.heartbeat, err = msPtr(v, 1); return }),
	"max.poll.interval.ms":    mapped(RoleConsumer, func(s *settings, v string) (err error) { s.rebalanceTimeout, err = msPtr(v, 1); return }),
	"max.poll.records":        mapped(RoleConsumer, func(s *settings, v string) (err error) { s.maxPollRecords, err = intPtr(v, 1, 1<<30); return }),
	"fetch.min.bytes":         mapped(RoleConsumer, func(s *settings, v string) (err error) { s.fetchMin, err = intPtr(v, 1, 1<<31-1); return }),
	"fetch.max.bytes":         mapped(RoleConsumer, func(s *settings, v string) (err error) { s.fetchMax, err = intPtr(v, 1, 1<<31-1); return }),
	"fetch.max.wait.ms":       mapped(RoleConsumer, func(s *settings, v string) (err error) { s.fetchMaxWait, err = msPtr(v, 1); return }),
	"max.partition.fetch.bytes": mapped(RoleConsumer, func(s *settings, v string) (err error) {
		s.maxPartitionFetch, err = intPtr(v, 1, 1<<31-1)
		return
	}),
	"isolation.level": mapped(RoleConsumer, func(s *settings, v string) error {
		return oneOf(&s.isolation, strings.ToLower(v), "", "read_uncommitted", "read_committed")
	}),
	"partition.assignment.strategy": mapped(RoleConsumer, func(s *settings, v string) error {
		list := splitList(v)
		if len(list) == 0 {
			return errors.New("want a list of range, roundrobin, sticky, cooperative-sticky (or Kafka's assignor class names)")
		}
		for _, name := range list {
			if balancerFor(name) == nil {
				return fmt.Errorf("unknown assignor %q: want range, roundrobin, sticky or cooperative-sticky (or Kafka's assignor class names)", name)
			}
		}
		s.strategies = list
		return nil
	}),
	"group.protocol": mapped(RoleConsumer, func(s *settings, v string) error {
		return oneOf(&s.groupProtocol, strings.ToLower(v), "", "classic", "consumer")
	}),
	"check.crcs":  mapped(RoleConsumer, func(s *settings, v string) (err error) { s.checkCRCs, err = boolPtr(v); return }),
	"client.rack": mapped(RoleConsumer, func(s *settings, v string) error { s.rack = v; return nil }),

	"key.deserializer":        ignoredProp(RoleConsumer, "records are bytes here; serdes live in package streams"),
	"value.deserializer":      ignoredProp(RoleConsumer, "records are bytes here; serdes live in package streams"),
	"exclude.internal.topics": ignoredProp(RoleConsumer, "franz-go consumes only the topics it is given"),
	"group.remote.assignor":   ignoredProp(RoleConsumer, "the broker picks the server-side assignor"),
}

func ptr[T any](v T) *T { return &v }

// oneOf sets *dst to v when v is one of allowed; otherwise it says what is wanted ("want a,
// b or c", then note when there is one).
func oneOf(dst *string, v, note string, allowed ...string) error {
	if slices.Contains(allowed, v) {
		*dst = v
		return nil
	}
	want := "want " + strings.Join(allowed[:len(allowed)-1], ", ") + " or " + allowed[len(allowed)-1]
	if note != "" {
		want += " " + note
	}
	return errors.New(want)
}

func splitList(v string) []string {
	var out []string
	for _, part := range strings.Split(v, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

func parseSeeds(v string) ([]string, error) {
	seeds := splitList(v)
	if len(seeds) == 0 {
		return nil, errors.New("want host:port[,host:port...]")
	}
	for _, seed := range seeds {
		host, port, err := net.SplitHostPort(seed)
		if err != nil {
			return nil, fmt.Errorf("%q: want host:port", seed)
		}
		n, err := strconv.Atoi(port)
		if err != nil || n <= 0 || n > 65535 {
			return nil, fmt.Errorf("%q: bad port %q", seed, port)
		}
		_ = host // an empty host means localhost to the dialer, as in Kafka
	}
	return seeds, nil
}

func boolPtr(v string) (*bool, error) {
	switch strings.ToLower(v) {
	case "true":
		return ptr(true), nil
	case "false":
		return ptr(false), nil
	}
	return nil, errors.New("want true or false")
}

func intPtr(v string, lo, hi int64) (*int, error) {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return nil, errors.New("want an integer")
	}
	if n < lo || n > hi {
		return nil, fmt.Errorf("want %d to %d", lo, hi)
	}
	i := int(n)
	return &i, nil
}

func msPtr(v string, lo int64) (*time.Duration, error) {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return nil, errors.New("want milliseconds, an integer")
	}
	const maxMs = int64(1<<63-1) / int64(time.Millisecond)
	if n < lo || n > maxMs {
		return nil, fmt.Errorf("want %d or more milliseconds", lo)
	}
	d := time.Duration(n) * time.Millisecond
	return &d, nil
}

// codecFor returns the franz-go codec for a Kafka compression.type name.
func codecFor(name string, level int, withLevel bool) (kgo.CompressionCodec, error) {
	var c kgo.CompressionCodec
	switch name {
	case "none", "uncompressed":
		return kgo.NoCompression(), nil
	case "gzip":
		c = kgo.GzipCompression()
	case "snappy":
		return kgo.SnappyCompression(), nil
	case "lz4":
		c = kgo.Lz4Compression()
	case "zstd":
		c = kgo.ZstdCompression()
	case "producer":
		return c, errors.New(`"producer" is a topic-level value; a producer wants none, gzip, snappy, lz4 or zstd`)
	default:
		return c, fmt.Errorf("unknown codec %q: want none, gzip, snappy, lz4 or zstd", name)
	}
	if withLevel {
		c = c.WithLevel(level)
	}
	return c, nil
}

// balancerFor maps Kafka assignor names (short, librdkafka-style, or Java class names) to
// franz-go balancers; nil when unknown.
func balancerFor(name string) kgo.GroupBalancer {
	n := strings.ToLower(name)
	n = strings.TrimPrefix(n, "org.apache.kafka.clients.consumer.")
	switch n {
	case "range", "rangeassignor":
		return kgo.RangeBalancer()
	case "roundrobin", "round-robin", "roundrobinassignor":
		return kgo.RoundRobinBalancer()
	case "sticky", "stickyassignor":
		return kgo.StickyBalancer()
	case "cooperative-sticky", "cooperativesticky", "cooperativestickyassignor":
		return kgo.CooperativeStickyBalancer()
	}
	return nil
}

func (s *settings) build() (*Parsed, error) {
	p := &Parsed{
		Role:           s.role,
		MaxPollRecords: DefaultMaxPollRecords,
		APITimeout:     DefaultAPITimeout,
	}
	if len(s.seeds) == 0 {
		return nil, errors.New("client: bootstrap.servers is required (host:port[,host:port...])")
	}
	p.BootstrapServers = s.seeds
	opts := []kgo.Opt{kgo.SeedBrokers(s.seeds...)}
	add := func(o ...kgo.Opt) { opts = append(opts, o...) }

	addSet(add, s.clientID, kgo.ClientID)
	if s.retryBackoff != nil || s.retryBackoffMax != nil {
		base, maxB := 100*time.Millisecond, time.Second // Kafka's defaults (KIP-580)
		if s.retryBackoff != nil {
			base = *s.retryBackoff
		}
		if s.retryBackoffMax != nil {
			maxB = *s.retryBackoffMax
		}
		maxB = max(maxB, base)
		add(kgo.RetryBackoffFn(exponentialBackoff(base, maxB)))
	}
	addSet(add, s.metadataMaxAge, kgo.MetadataMaxAge)
	addSet(add, s.connIdle, kgo.ConnIdleTimeout)
	addSet(add, s.dialTimeout, kgo.DialTimeout)
	if s.metricsPush != nil && !*s.metricsPush {
		add(kgo.DisableClientMetrics())
	}
	if s.apiTimeout != nil {
		p.APITimeout = *s.apiTimeout
	}
	security, err := s.securityOpts()
	if err != nil {
		return nil, err
	}
	add(security...)

	if len(s.interceptors) > 0 {
		for _, name := range s.interceptors {
			if !interceptorRegistered(s.role, name) {
				return nil, fmt.Errorf("client: property interceptor.classes: no %s interceptor named %q is registered (registered: %s)",
					s.role, name, strings.Join(registeredInterceptors(s.role), ", "))
			}
		}
		p.Interceptors = s.interceptors
	}

	switch s.role {
	case RoleProducer:
		o, err := s.producerOpts()
		if err != nil {
			return nil, err
		}
		add(o...)
	case RoleConsumer:
		o, err := s.consumerOpts(p)
		if err != nil {
			return nil, err
		}
		add(o...)
	case RoleAdmin:
		addSet(add, s.requestTimeout, kgo.RequestTimeoutOverhead)
		addSet(add, s.retries, kgo.RequestRetries)
	}
	p.Opts = opts
	return p, nil
}

// exponentialBackoff doubles from base up to maxB with ±20% jitter, as KIP-580 specifies.
func exponentialBackoff(base, maxB time.Duration) func(int) time.Duration {
	return func(tries int) time.Duration {
		d := base
		for i := 1; i < tries && d < maxB; i++ {
			d *= 2
		}
		d = min(d, maxB)
		if d <= 0 {
			return 0
		}
		jitter := 0.8 + 0.4*rand.Float64()
		return time.Duration(float64(d) * jitter)
	}
}

// For returns the properties that apply to a client of the given role: its own, those common
// to every client, and unknown ones (so that Parse still reports a typo). It drops the
// properties of other client kinds, so one property set (a tool's --consumer-property list, an
// app's config) can build several kinds of client without "ignored" warnings.
func (p Properties) For(role Role) Properties {
	out := make(Properties, len(p))
	for k, v := range p {
		spec, known := propertyTable[k]
		if strings.HasPrefix(k, InterceptorPropertyPrefix) && k != "interceptor.classes" {
			known, spec.roles = true, RoleProducer|RoleConsumer
		}
		if !known || spec.roles&role != 0 {
			out[k] = v
		}
	}
	return out
}
