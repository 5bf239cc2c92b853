package appadmin

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rivulet-io/rivulet/streams"
	"github.com/rivulet-io/rivulet/streams/internal/assignor"
)

// ApplicationDescription is what the brokers know of an application: its
// group's members with their partitions and tasks, and the lag of every
// partition it committed offsets for. It needs no running instance.
type ApplicationDescription struct {
	ApplicationID string
	// State is the group's state (Empty, Stable, ...; "" when the group does
	// not exist).
	State   string
	Members []MemberDescription
	// Hosts are the instances with an application.server and their tasks,
	// from the latest assignment.
	Hosts []HostTasks
	// Lags are the committed offsets and lags, by topic and partition.
	Lags []PartitionLag
}

// HostTasks are the tasks of one instance, by its application.server.
type HostTasks struct {
	Endpoint string
	Active   []streams.TaskID
	Standby  []streams.TaskID
}

// hostTasksOf turns the host metadata of an assignment into HostTasks.
func hostTasksOf(in []assignor.HostTasks) []HostTasks {
	if in == nil {
		return nil
	}
	out := make([]HostTasks, len(in))
	for i, h := range in {
		out[i] = HostTasks{Endpoint: h.Endpoint, Active: h.Active, Standby: h.Standby}
	}
	return out
}

// MemberDescription is one member (a stream thread) of the group.
type MemberDescription struct {
	MemberID   string
	InstanceID string
	ClientID   string
	ClientHost string
	// Partitions are its assigned partitions.
	Partitions []streams.TopicPartition
	// Standby are its standby and warm-up tasks.
	Standby []streams.TaskID
}

// PartitionLag is a partition's committed offset and lag.
type PartitionLag struct {
	streams.TopicPartition
	Committed int64
	End       int64
	Lag       int64
}

// DescribeApplication describes application appID from the brokers
// (kafka-consumer-groups --describe for a stream app, with its tasks).
func DescribeApplication(ctx context.Context, adm *kadm.Client, appID string) (*ApplicationDescription, error) {
	d := &ApplicationDescription{ApplicationID: appID}
	groups, err := adm.DescribeGroups(ctx, appID)
	if err != nil {
		return nil, fmt.Errorf("streams: describe %s: %w", appID, err)
	}
	if g, ok := groups[appID]; ok {
		switch {
		case g.Err == nil:
			d.State = g.State
		case errors.Is(g.Err, kerr.GroupIDNotFound):
		default:
			return nil, fmt.Errorf("streams: describe %s: %w", appID, g.Err)
		}
		hostsSeen := false
		for _, m := range g.Members {
			md := MemberDescription{MemberID: m.MemberID, ClientID: m.ClientID, ClientHost: m.ClientHost}
			if m.InstanceID != nil {
				md.InstanceID = *m.InstanceID
			}
			if ca, ok := m.Assigned.AsConsumer(); ok && ca != nil {
				for _, t := range ca.Topics {
					for _, p := range t.Partitions {
						md.Partitions = append(md.Partitions, streams.TopicPartition{Topic: t.Topic, Partition: p})
					}
				}
				if info, err := assignor.DecodeAssignmentInfo(ca.UserData); err == nil {
					md.Standby = info.Standbys
					if !hostsSeen && len(info.Hosts) > 0 {
						d.Hosts, hostsSeen = hostTasksOf(info.Hosts), true
					}
				}
			} else if raw, ok := m.Assigned.Raw(); ok && len(raw) > 0 {
				var a kmsg.ConsumerMemberAssignment
				if a.ReadFrom(raw) == nil {
					for _, t := range a.Topics {
						for _, p := range t.Partitions {
							md.Partitions = append(md.Partitions, streams.TopicPartition{Topic: t.Topic, Partition: p})
						}
					}
				}
			}
			sort.Slice(md.Partitions, func(i, j int) bool { return tpLess(md.Partitions[i], md.Partitions[j]) })
			d.Members = append(d.Members, md)
		}
		sort.Slice(d.Members, func(i, j int) bool {
			return d.Members[i].ClientID+d.Members[i].MemberID < d.Members[j].ClientID+d.Members[j].MemberID
		})
	}
	committed, err := adm.FetchOffsets(ctx, appID)
	if err != nil {
		return nil, fmt.Errorf("streams: describe %s: committed offsets: %w", appID, err)
	}
	var topics []string
	for t := range committed {
		topics = append(topics, t)
	}
	sort.Strings(topics)
	if len(topics) > 0 {
		ends, err := adm.ListEndOffsets(ctx, topics...)
		if err != nil {
			return nil, fmt.Errorf("streams: describe %s: end offsets: %w", appID, err)
		}
		committed.Each(func(o kadm.OffsetResponse) {
			if o.Err != nil {
				return
			}
			pl := PartitionLag{TopicPartition: streams.TopicPartition{Topic: o.Topic, Partition: o.Partition}, Committed: o.At, End: -1, Lag: -1}
			if e, ok := ends.Lookup(o.Topic, o.Partition); ok && e.Err == nil {
				pl.End, pl.Lag = e.Offset, max(e.Offset-o.At, 0)
			}
			d.Lags = append(d.Lags, pl)
		})
		sort.Slice(d.Lags, func(i, j int) bool { return tpLess(d.Lags[i].TopicPartition, d.Lags[j].TopicPartition) })
	}
	return d, nil
}

// String formats the description as kafka-consumer-groups --describe does,
// one section per part.
func (d *ApplicationDescription) String() string {
	var b strings.Builder
	state := d.State
	if state == "" {
		state = "(no group)"
	}
	fmt.Fprintf(&b, "application %s: group state %s, %d members\n", d.ApplicationID, state, len(d.Members))
	if len(d.Members) > 0 {
		fmt.Fprintf(&b, "\n%-40s %-24s %-20s %s\n", "MEMBER", "CLIENT-ID", "HOST", "PARTITIONS / STANDBY TASKS")
		for _, m := range d.Members {
			var ps []string
			for _, p := range m.Partitions {
				ps = append(ps, p.String())
			}
			line := strings.Join(ps, ",")
			if len(m.Standby) > 0 {
				var ss []string
				for _, t := range m.Standby {
					ss = append(ss, t.String())
				}
				line += " / standby " + strings.Join(ss, ",")
			}
			fmt.Fprintf(&b, "%-40s %-24s %-20s %s\n", m.MemberID, m.ClientID, m.ClientHost, line)
		}
	}
	if len(d.Hosts) > 0 {
		fmt.Fprintf(&b, "\n%-24s %-30s %s\n", "APPLICATION.SERVER", "ACTIVE TASKS", "STANDBY TASKS")
		for _, h := range d.Hosts {
			fmt.Fprintf(&b, "%-24s %-30s %s\n", h.Endpoint, taskList(h.Active), taskList(h.Standby))
		}
	}
	if len(d.Lags) > 0 {
		fmt.Fprintf(&b, "\n%-40s %-10s %-16s %-16s %s\n", "TOPIC", "PARTITION", "COMMITTED-OFFSET", "LOG-END-OFFSET", "LAG")
		for _, l := range d.Lags {
			fmt.Fprintf(&b, "%-40s %-10d %-16d %-16d %d\n", l.Topic, l.Partition, l.Committed, l.End, l.Lag)
		}
	}
	return b.String()
}

func taskList(ts []streams.TaskID) string {
	if len(ts) == 0 {
		return "-"
	}
	var out []string
	for _, t := range ts {
		out = append(out, t.String())
	}
	return strings.Join(out, ",")
}

func tpLess(a, b streams.TopicPartition) bool {
	if a.Topic != b.Topic {
		return a.Topic < b.Topic
	}
	return a.Partition < b.Partition
}
