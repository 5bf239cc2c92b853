package client

import (
	"errors"
	"fmt"
	"sort"

	"github.com/twmb/franz-go/pkg/kgo"
)

// The options of each kind of client: what the producer and consumer properties become in
// kgo options once parsed into settings.

func (s *settings) producerOpts() ([]kgo.Opt, error) {
	var opts []kgo.Opt
	add := func(o ...kgo.Opt) { opts = append(opts, o...) }

	// enable.idempotence as Kafka 3.x resolves it: explicitly true with a conflicting setting is
	// an error; left unset, a conflicting setting turns idempotence off.
	conflict := ""
	switch {
	case s.acks != nil && *s.acks != -1:
		conflict = "acks must be all"
	case s.retries != nil && *s.retries == 0:
		conflict = "retries must be above 0"
	case s.maxInFlight != nil && *s.maxInFlight > 5:
		conflict = "max.in.flight.requests.per.connection must be 5 or less"
	}
	idempotent := true
	if s.idempotence != nil {
		idempotent = *s.idempotence
		if idempotent && conflict != "" {
			return nil, fmt.Errorf("client: enable.idempotence=true: %s", conflict)
		}
	} else if conflict != "" {
		idempotent = false
	}
	if s.txnID != nil {
		if !idempotent {
			return nil, errors.New("client: transactional.id needs idempotence (acks=all, retries above 0, max.in.flight.requests.per.connection 5 or less)")
		}
		add(kgo.TransactionalID(*s.txnID))
	}
	addSet(add, s.txnTimeout, kgo.TransactionTimeout)
	if !idempotent {
		add(kgo.DisableIdempotentWrite())
		addSet(add, s.maxInFlight, kgo.MaxProduceRequestsInflightPerBroker)
	}
	if s.acks != nil {
		switch *s.acks {
		case -1:
			add(kgo.RequiredAcks(kgo.AllISRAcks()))
		case 1:
			add(kgo.RequiredAcks(kgo.LeaderAck()))
		case 0:
			add(kgo.RequiredAcks(kgo.NoAck()))
		}
	}
	addSet(add, s.retries, kgo.RecordRetries)
	addSet(add, s.deliveryTimeout, kgo.RecordDeliveryTimeout)
	addSet(add, s.requestTimeout, kgo.ProduceRequestTimeout)
	addSet(add, s.linger, kgo.ProducerLinger)
	if s.batchSize != nil {
		if s.maxRequestSize != nil && *s.batchSize > *s.maxRequestSize {
			return nil, fmt.Errorf("client: batch.size %d is above max.request.size %d", *s.batchSize, *s.maxRequestSize)
		}
		add(kgo.ProducerBatchMaxBytes(int32(*s.batchSize)))
	}
	if s.maxRequestSize != nil {
		add(kgo.BrokerMaxWriteBytes(int32(*s.maxRequestSize)))
		if s.batchSize == nil && *s.maxRequestSize < 1<<20 {
			// franz-go's default batch cap is 1 MiB; a request must still fit one batch.
			add(kgo.ProducerBatchMaxBytes(int32(*s.maxRequestSize)))
		}
	}
	addSet(add, s.bufferMemory, kgo.MaxBufferedBytes)
	if len(s.compression) > 0 {
		var codecs []kgo.CompressionCodec
		for _, name := range s.compression {
			var level *int
			switch name {
			case "gzip":
				level = s.gzipLevel
			case "lz4":
				level = s.lz4Level
			case "zstd":
				level = s.zstdLevel
			}
			lv := 0
			if level != nil {
				lv = *level
			}
			c, err := codecFor(name, lv, level != nil)
			if err != nil {
				return nil, fmt.Errorf("client: compression.type: %w", err)
			}
			codecs = append(codecs, c)
		}
		add(kgo.ProducerBatchCompression(codecs...))
	}
	switch {
	case s.partitioner == "roundrobin":
		add(kgo.RecordPartitioner(kgo.RoundRobinPartitioner()))
	case s.ignoreKeys:
		add(kgo.RecordPartitioner(kgo.StickyPartitioner()))
	}
	// A Kafka producer always asks the broker to create a missing topic (the broker decides,
	// with auto.create.topics.enable); franz-go only does when told to.
	if s.allowAutoCreate == nil || *s.allowAutoCreate {
		add(kgo.AllowAutoTopicCreation())
	}
	return opts, nil
}

func (s *settings) consumerOpts(p *Parsed) ([]kgo.Opt, error) {
	var opts []kgo.Opt
	add := func(o ...kgo.Opt) { opts = append(opts, o...) }
	if s.maxPollRecords != nil {
		p.MaxPollRecords = *s.maxPollRecords
	}
	switch s.offsetReset {
	case "earliest":
		add(kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	case "none":
		add(kgo.ConsumeResetOffset(kgo.NoResetOffset()))
	default: // Kafka's default is latest; franz-go's is earliest.
		add(kgo.ConsumeResetOffset(kgo.NewOffset().AtEnd()))
	}
	if s.fetchMin != nil {
		add(kgo.FetchMinBytes(int32(*s.fetchMin)))
	}
	if s.fetchMax != nil {
		add(kgo.FetchMaxBytes(int32(*s.fetchMax)))
	}
	addSet(add, s.fetchMaxWait, kgo.FetchMaxWait)
	if s.maxPartitionFetch != nil {
		add(kgo.FetchMaxPartitionBytes(int32(*s.maxPartitionFetch)))
	}
	if s.isolation == "read_committed" {
		add(kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	}
	if s.checkCRCs != nil && !*s.checkCRCs {
		add(kgo.DisableFetchCRCValidation())
	}
	if s.rack != "" {
		add(kgo.Rack(s.rack))
	}
	addSet(add, s.requestTimeout, kgo.RequestTimeoutOverhead)
	if s.allowAutoCreate != nil && *s.allowAutoCreate {
		add(kgo.AllowAutoTopicCreation())
	}

	groupOnly := map[string]bool{
		"group.instance.id":             s.instanceID != nil,
		"enable.auto.commit":            s.autoCommit != nil,
		"auto.commit.interval.ms":       s.autoCommitInterval != nil,
		"session.timeout.ms":            s.sessionTimeout != nil,
		"heartbeat.interval.ms":         s.heartbeat != nil,
		"max.poll.interval.ms":          s.rebalanceTimeout != nil,
		"partition.assignment.strategy": len(s.strategies) > 0,
		"group.protocol":                s.groupProtocol != "",
	}
	if s.groupID == "" {
		var set []string
		for k, isSet := range groupOnly {
			if isSet {
				set = append(set, k)
			}
		}
		sort.Strings(set)
		for _, k := range set {
			if k == "enable.auto.commit" && !*s.autoCommit {
				continue // Kafka's default without a group; nothing to say
			}
			s.warnings = append(s.warnings, fmt.Sprintf("%q is ignored: it needs group.id", k))
		}
		return opts, nil
	}

	p.GroupID = s.groupID
	add(kgo.ConsumerGroup(s.groupID))
	p.AutoCommit = s.autoCommit == nil || *s.autoCommit
	if !p.AutoCommit {
		add(kgo.DisableAutoCommit())
	} else if s.autoCommitInterval != nil {
		add(kgo.AutoCommitInterval(*s.autoCommitInterval))
	}
	addSet(add, s.instanceID, kgo.InstanceID)
	addSet(add, s.sessionTimeout, kgo.SessionTimeout)
	if s.heartbeat != nil {
		if s.sessionTimeout != nil && *s.heartbeat >= *s.sessionTimeout {
			return nil, errors.New("client: heartbeat.interval.ms must be lower than session.timeout.ms")
		}
		add(kgo.HeartbeatInterval(*s.heartbeat))
	}
	addSet(add, s.rebalanceTimeout, kgo.RebalanceTimeout)
	if len(s.strategies) > 0 {
		var bs []kgo.GroupBalancer
		for _, name := range s.strategies {
			bs = append(bs, balancerFor(name))
		}
		add(kgo.Balancers(bs...))
	}
	if s.groupProtocol == "consumer" {
		// KIP-848: franz-go runs it only with the range or sticky assignor.
		add(kgo.ServerSideBalancer())
	}
	return opts, nil
}
