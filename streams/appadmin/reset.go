package appadmin

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/rivulet-io/rivulet/topology"
)

// Resetting an application so it reprocesses its input, as Kafka's
// kafka-streams-application-reset does: with every instance stopped, the
// group's committed offsets on the input topics move (to the start by
// default), those on intermediate topics (user topics the app writes and
// reads back) move to the end, and the app's internal topics
// (<application.id>-...-repartition and -changelog, and the foreign-key
// join topics) are deleted, so they are recreated empty. Each instance's
// local state is removed with streams.App.CleanUp before it starts again.

// ResetTarget says where the input topics' offsets go.
type ResetTarget struct {
	// Kind is what the target is. The default value is ResetToEarliest.
	Kind ResetKind
	// Offset is the offset of ResetToOffset.
	Offset int64
	// Time is the time of ResetToTime: each partition goes to its first
	// offset with a timestamp at or after it (the end when there is none).
	Time time.Time
}

// ResetKind is a kind of ResetTarget.
type ResetKind uint8

// The reset targets of kafka-streams-application-reset.
const (
	ResetToEarliest ResetKind = iota
	ResetToLatest
	ResetToOffset
	ResetToTime
)

// ResetOptions says what to reset.
type ResetOptions struct {
	// ApplicationID is the application's application.id (its group and
	// the prefix of its internal topics). Required.
	ApplicationID string
	// InputTopics are the topics the application reads; their committed
	// offsets move to Target.
	InputTopics []string
	// IntermediateTopics are user topics the application writes and reads
	// back; their committed offsets move to the end.
	IntermediateTopics []string
	// Target is where the input topics' offsets go.
	Target ResetTarget
	// DryRun computes and returns the plan, changing nothing.
	DryRun bool
}

// ResetOffset is one partition's committed offset before and after.
type ResetOffset struct {
	Topic     string
	Partition int32
	// From is the committed offset before the reset (-1: none).
	From int64
	// To is the offset committed by the reset.
	To int64
}

// ResetResult is what a reset did (or, in a dry run, would do).
type ResetResult struct {
	Inputs        []ResetOffset
	Intermediates []ResetOffset
	// InternalTopics are the internal topics deleted.
	InternalTopics []string
}

// ActiveMembersError is returned when the application's group still has
// members: every instance must be stopped before a reset.
type ActiveMembersError struct {
	ApplicationID string
	State         string
	Members       []string // client ids and hosts
}

func (e *ActiveMembersError) Error() string {
	return fmt.Sprintf("streams: reset: the consumer group %s of the application is still active (state %s, %d members: %s); stop every instance of the application, wait for the group to be empty (session.timeout.ms at most) and retry",
		e.ApplicationID, e.State, len(e.Members), strings.Join(e.Members, ", "))
}

// IsInternalTopic reports whether topic is one of application appID's
// internal topics, by Kafka Streams' naming.
func IsInternalTopic(appID, topic string) bool {
	if !strings.HasPrefix(topic, appID+"-") {
		return false
	}
	for _, suffix := range []string{"-repartition", "-changelog", "-subscription-registration-topic", "-subscription-response-topic"} {
		if strings.HasSuffix(topic, suffix) && len(topic) > len(appID)+1+len(suffix) {
			return true
		}
	}
	return false
}

// ResetApplication resets application opts.ApplicationID through adm (see
// the top of this file). It refuses with an *ActiveMembersError while the
// group has members, and changes nothing when a topic is missing.
func ResetApplication(ctx context.Context, adm *kadm.Client, opts ResetOptions) (*ResetResult, error) {
	app := opts.ApplicationID
	if app == "" || !topology.ValidApplicationID(app) {
		return nil, fmt.Errorf("streams: reset: application id %q: use letters, digits, '.', '_' and '-'", app)
	}
	groups, err := adm.DescribeGroups(ctx, app)
	if err != nil {
		return nil, fmt.Errorf("streams: reset: describe group %s: %w", app, err)
	}
	if g, ok := groups[app]; ok && g.Err == nil && len(g.Members) > 0 {
		e := &ActiveMembersError{ApplicationID: app, State: g.State}
		for _, m := range g.Members {
			e.Members = append(e.Members, m.ClientID+"@"+m.ClientHost)
		}
		return nil, e
	} else if ok && g.Err != nil && !errors.Is(g.Err, kerr.GroupIDNotFound) {
		return nil, fmt.Errorf("streams: reset: describe group %s: %w", app, g.Err)
	}
	all, err := adm.ListTopics(ctx)
	if err != nil {
		return nil, fmt.Errorf("streams: reset: list topics: %w", err)
	}
	var missing []string
	for _, t := range append(append([]string(nil), opts.InputTopics...), opts.IntermediateTopics...) {
		if d, ok := all[t]; !ok || d.Err != nil {
			missing = append(missing, t)
		}
		if IsInternalTopic(app, t) {
			return nil, fmt.Errorf("streams: reset: %s is an internal topic of %s; it is deleted and recreated, not reset (leave it out)", t, app)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("streams: reset: no such topics: %s", strings.Join(missing, ", "))
	}
	committed, err := adm.FetchOffsets(ctx, app)
	if err != nil {
		return nil, fmt.Errorf("streams: reset: committed offsets of %s: %w", app, err)
	}
	res := &ResetResult{}
	commit := kadm.Offsets{}
	plan := func(topics []string, target ResetTarget) ([]ResetOffset, error) {
		if len(topics) == 0 {
			return nil, nil
		}
		starts, err := adm.ListStartOffsets(ctx, topics...)
		if err != nil {
			return nil, fmt.Errorf("streams: reset: start offsets: %w", err)
		}
		ends, err := adm.ListEndOffsets(ctx, topics...)
		if err != nil {
			return nil, fmt.Errorf("streams: reset: end offsets: %w", err)
		}
		var atTime kadm.ListedOffsets
		if target.Kind == ResetToTime {
			if atTime, err = adm.ListOffsetsAfterMilli(ctx, target.Time.UnixMilli(), topics...); err != nil {
				return nil, fmt.Errorf("streams: reset: offsets at %s: %w", target.Time.Format(time.RFC3339), err)
			}
		}
		var out []ResetOffset
		for _, t := range topics {
			for _, p := range all[t].Partitions.Numbers() {
				s, sok := starts.Lookup(t, p)
				e, eok := ends.Lookup(t, p)
				if !sok || !eok || s.Err != nil || e.Err != nil {
					return nil, fmt.Errorf("streams: reset: offsets of %s-%d unknown", t, p)
				}
				var to int64
				switch target.Kind {
				case ResetToEarliest:
					to = s.Offset
				case ResetToLatest:
					to = e.Offset
				case ResetToOffset:
					to = min(max(target.Offset, s.Offset), e.Offset)
				case ResetToTime:
					to = e.Offset
					if a, ok := atTime.Lookup(t, p); ok && a.Err == nil && a.Offset >= 0 {
						to = min(max(a.Offset, s.Offset), e.Offset)
					}
				}
				from := int64(-1)
				if c, ok := committed.Lookup(t, p); ok && c.Err == nil {
					from = c.At
				}
				out = append(out, ResetOffset{Topic: t, Partition: p, From: from, To: to})
				commit.Add(kadm.Offset{Topic: t, Partition: p, At: to, LeaderEpoch: -1})
			}
		}
		return out, nil
	}
	if res.Inputs, err = plan(opts.InputTopics, opts.Target); err != nil {
		return nil, err
	}
	if res.Intermediates, err = plan(opts.IntermediateTopics, ResetTarget{Kind: ResetToLatest}); err != nil {
		return nil, err
	}
	for name := range all {
		if IsInternalTopic(app, name) {
			res.InternalTopics = append(res.InternalTopics, name)
		}
	}
	sort.Strings(res.InternalTopics)
	if opts.DryRun {
		return res, nil
	}
	if len(commit) > 0 {
		resp, err := adm.CommitOffsets(ctx, app, commit)
		if err == nil {
			err = resp.Error()
		}
		if err != nil {
			return nil, fmt.Errorf("streams: reset: commit offsets of %s: %w", app, err)
		}
	}
	if len(res.InternalTopics) > 0 {
		resp, err := adm.DeleteTopics(ctx, res.InternalTopics...)
		if err != nil {
			return nil, fmt.Errorf("streams: reset: delete internal topics: %w", err)
		}
		for _, r := range resp.Sorted() {
			if r.Err != nil && !errors.Is(r.Err, kerr.UnknownTopicOrPartition) {
				return nil, fmt.Errorf("streams: reset: delete internal topic %s: %w", r.Topic, r.Err)
			}
		}
	}
	return res, nil
}
