package console

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// ClusterView is the answer of /api/cluster.
type ClusterView struct {
	ClusterID string       `json:"cluster_id"`
	Brokers   []BrokerView `json:"brokers"`
	Topics    []TopicView  `json:"topics"`
}

// BrokerView is one broker.
type BrokerView struct {
	NodeID int32  `json:"node_id"`
	Host   string `json:"host"`
	Port   int32  `json:"port"`
}

// TopicView is one topic.
type TopicView struct {
	Name       string          `json:"name"`
	Internal   bool            `json:"internal,omitempty"`
	Partitions []PartitionView `json:"partitions"`
	// Messages is the sum over partitions of end minus start offsets.
	Messages int64 `json:"messages"`
	Size     int64 `json:"size"`
}

// PartitionView is one partition.
type PartitionView struct {
	Partition int32 `json:"partition"`
	Leader    int32 `json:"leader"`
	Start     int64 `json:"start"`
	End       int64 `json:"end"`
	// Size is the bytes of its segments (-1 when unknown).
	Size int64 `json:"size"`
}

// badGateway answers 502 Bad Gateway when a call to the cluster failed (err != nil) and
// reports whether it did; what names the call.
func badGateway(w http.ResponseWriter, err error, what string) bool {
	if err == nil {
		return false
	}
	writeError(w, http.StatusBadGateway, fmt.Errorf("console: %s: %w", what, err))
	return true
}

func (s *Server) serveCluster(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := s.ctx(r)
	defer cancel()
	md, err := s.adm.BrokerMetadata(ctx)
	if badGateway(w, err, "cluster metadata") {
		return
	}
	v := ClusterView{ClusterID: md.Cluster, Brokers: []BrokerView{}, Topics: []TopicView{}}
	for _, b := range md.Brokers {
		v.Brokers = append(v.Brokers, BrokerView{NodeID: b.NodeID, Host: b.Host, Port: b.Port})
	}
	topics, err := s.adm.ListTopicsWithInternal(ctx)
	if badGateway(w, err, "list topics") {
		return
	}
	names := topics.Names()
	var starts, ends kadm.ListedOffsets
	if len(names) > 0 {
		if starts, err = s.adm.ListStartOffsets(ctx, names...); badGateway(w, err, "start offsets") {
			return
		}
		if ends, err = s.adm.ListEndOffsets(ctx, names...); badGateway(w, err, "end offsets") {
			return
		}
	}
	sizes := map[string]map[int32]int64{}
	if dirs, err := s.adm.DescribeAllLogDirs(ctx, nil); err == nil {
		dirs.Each(func(d kadm.DescribedLogDir) {
			d.Topics.Each(func(p kadm.DescribedLogDirPartition) {
				if sizes[p.Topic] == nil {
					sizes[p.Topic] = map[int32]int64{}
				}
				sizes[p.Topic][p.Partition] += p.Size
			})
		})
	}
	sort.Strings(names)
	for _, name := range names {
		td := topics[name]
		tv := TopicView{Name: name, Internal: td.IsInternal, Partitions: []PartitionView{}}
		for _, p := range td.Partitions.Sorted() {
			pv := PartitionView{Partition: p.Partition, Leader: p.Leader, Start: -1, End: -1, Size: -1}
			if o, ok := starts.Lookup(name, p.Partition); ok && o.Err == nil {
				pv.Start = o.Offset
			}
			if o, ok := ends.Lookup(name, p.Partition); ok && o.Err == nil {
				pv.End = o.Offset
			}
			if sz, ok := sizes[name][p.Partition]; ok {
				pv.Size = sz
				tv.Size += sz
			}
			if pv.Start >= 0 && pv.End >= pv.Start {
				tv.Messages += pv.End - pv.Start
			}
			tv.Partitions = append(tv.Partitions, pv)
		}
		v.Topics = append(v.Topics, tv)
	}
	writeJSON(w, http.StatusOK, v)
}

// ConfigView is one config of a topic.
type ConfigView struct {
	Name      string `json:"name"`
	Value     string `json:"value"`
	Source    string `json:"source"`
	Sensitive bool   `json:"sensitive,omitempty"`
}

func (s *Server) serveTopicConfigs(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := s.ctx(r)
	defer cancel()
	topic := r.PathValue("topic")
	rcs, err := s.adm.DescribeTopicConfigs(ctx, topic)
	if badGateway(w, err, "configs of "+topic) {
		return
	}
	out := []ConfigView{}
	for _, rc := range rcs {
		if rc.Err != nil {
			writeError(w, http.StatusNotFound, fmt.Errorf("console: configs of %s: %w", topic, rc.Err))
			return
		}
		for _, c := range rc.Configs {
			cv := ConfigView{Name: c.Key, Source: c.Source.String(), Sensitive: c.Sensitive}
			if c.Value != nil && !c.Sensitive {
				cv.Value = *c.Value
			}
			out = append(out, cv)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	writeJSON(w, http.StatusOK, map[string]any{"topic": topic, "configs": out})
}

// MessageView is one record of the message browser.
type MessageView struct {
	Partition int32        `json:"partition"`
	Offset    int64        `json:"offset"`
	Timestamp string       `json:"timestamp"`
	Key       *string      `json:"key"`
	Value     *string      `json:"value"`
	Headers   []HeaderView `json:"headers"`
}

// HeaderView is one header, its value decoded as a string.
type HeaderView struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// decode turns bytes into text as kafka-console-consumer's deserializers
// do: string (StringDeserializer, the default; bytes that are not UTF-8
// are shown as \xNN), int64 (LongDeserializer: 8 bytes big-endian), hex,
// base64. nil stays nil (printed as null).
func decode(b []byte, format string) (*string, error) {
	if b == nil {
		return nil, nil
	}
	var s string
	switch format {
	case "", "string":
		s = escapeBytes(b)
	case "int64", "long":
		if len(b) != 8 {
			return nil, fmt.Errorf("console: %d bytes is not an int64 (8 bytes)", len(b))
		}
		s = strconv.FormatInt(int64(binary.BigEndian.Uint64(b)), 10)
	case "hex":
		s = hex.EncodeToString(b)
	case "base64":
		s = base64.StdEncoding.EncodeToString(b)
	default:
		return nil, fmt.Errorf("console: format %q: want string, int64, hex or base64", format)
	}
	return &s, nil
}

// escapeBytes is b as UTF-8 text with each invalid byte as \xNN.
func escapeBytes(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	var sb strings.Builder
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		if r == utf8.RuneError && n == 1 {
			fmt.Fprintf(&sb, `\x%02x`, b[0])
		} else {
			sb.Write(b[:n])
		}
		b = b[n:]
	}
	return sb.String()
}

// serveMessages reads up to limit records of one partition from offset
// (default: the last limit records).
func (s *Server) serveMessages(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	topic := r.PathValue("topic")
	intParam := func(name string, def, lo, hi int64) (int64, error) {
		v := q.Get(name)
		if v == "" {
			return def, nil
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < lo || n > hi {
			return 0, fmt.Errorf("console: %s=%q: want an integer in [%d, %d]", name, v, lo, hi)
		}
		return n, nil
	}
	part, err := intParam("partition", 0, 0, 1<<31-1)
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	limit, err := intParam("limit", 20, 1, 500)
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	keyFmt, valFmt := q.Get("key"), q.Get("value")
	for _, f := range []string{keyFmt, valFmt} {
		switch f {
		case "", "string", "int64", "long", "hex", "base64":
		default:
			writeError(w, http.StatusBadRequest, fmt.Errorf("console: format %q: want string, int64, hex or base64", f))
			return
		}
	}
	ctx, cancel := s.ctx(r)
	defer cancel()
	p := int32(part)
	starts, err := s.adm.ListStartOffsets(ctx, topic)
	if badGateway(w, err, "offsets of "+topic) {
		return
	}
	ends, err := s.adm.ListEndOffsets(ctx, topic)
	if badGateway(w, err, "offsets of "+topic) {
		return
	}
	so, sok := starts.Lookup(topic, p)
	eo, eok := ends.Lookup(topic, p)
	if !sok || !eok || so.Err != nil || eo.Err != nil {
		writeError(w, http.StatusNotFound, fmt.Errorf("console: no partition %s-%d", topic, p))
		return
	}
	from, err := intParam("offset", max(eo.Offset-limit, so.Offset), 0, 1<<62)
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	from = max(from, so.Offset)
	out := []MessageView{}
	if from < eo.Offset {
		cl, err := s.newConsumer(kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {p: kgo.NewOffset().At(from)}}),
			kgo.FetchMaxWait(500*time.Millisecond))
		if err != nil {
			writeError(w, http.StatusInternalServerError, err)
			return
		}
		defer cl.Close()
		for int64(len(out)) < limit && ctx.Err() == nil {
			fs := cl.PollRecords(ctx, int(limit)-len(out))
			if errs := fs.Errors(); len(errs) > 0 && !errors.Is(errs[0].Err, context.DeadlineExceeded) && !errors.Is(errs[0].Err, context.Canceled) {
				writeError(w, http.StatusBadGateway, fmt.Errorf("console: read %s-%d: %w", topic, p, errs[0].Err))
				return
			}
			last := int64(-1)
			for _, rec := range fs.Records() {
				m := MessageView{Partition: rec.Partition, Offset: rec.Offset, Timestamp: rec.Timestamp.UTC().Format("2006-01-02T15:04:05.000Z"), Headers: []HeaderView{}}
				if m.Key, err = decode(rec.Key, keyFmt); err != nil {
					m.Key = ptr("(" + err.Error() + ")")
				}
				if m.Value, err = decode(rec.Value, valFmt); err != nil {
					m.Value = ptr("(" + err.Error() + ")")
				}
				for _, h := range rec.Headers {
					m.Headers = append(m.Headers, HeaderView{Key: h.Key, Value: escapeBytes(h.Value)})
				}
				out = append(out, m)
				last = rec.Offset
			}
			if last+1 >= eo.Offset {
				break // read up to the end seen when the request came
			}
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"topic": topic, "partition": p, "start": so.Offset, "end": eo.Offset, "messages": out})
}

func ptr[T any](v T) *T { return &v }

// GroupView is one consumer group.
type GroupView struct {
	Group        string             `json:"group"`
	State        string             `json:"state"`
	ProtocolType string             `json:"protocol_type"`
	Protocol     string             `json:"protocol"`
	Members      []MemberView       `json:"members"`
	Lag          []PartitionLagView `json:"lag"`
	TotalLag     int64              `json:"total_lag"`
	Error        string             `json:"error,omitempty"`
}

// MemberView is one member of a group with its assigned partitions.
type MemberView struct {
	MemberID   string   `json:"member_id"`
	ClientID   string   `json:"client_id"`
	ClientHost string   `json:"client_host"`
	InstanceID string   `json:"instance_id,omitempty"`
	Assigned   []string `json:"assigned"`
}

// PartitionLagView is a group's committed offset and lag on a partition.
type PartitionLagView struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	Committed int64  `json:"committed"`
	End       int64  `json:"end"`
	Lag       int64  `json:"lag"`
	Member    string `json:"member,omitempty"`
}

func (s *Server) serveGroups(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := s.ctx(r)
	defer cancel()
	listed, err := s.adm.ListGroups(ctx)
	if badGateway(w, err, "list groups") {
		return
	}
	out := []GroupView{}
	names := listed.Groups()
	if len(names) > 0 {
		lags, err := s.adm.Lag(ctx, names...)
		if badGateway(w, err, "group lag") {
			return
		}
		for _, name := range names {
			l := lags[name]
			gv := GroupView{Group: name, State: l.State, ProtocolType: l.ProtocolType, Protocol: l.Protocol, Members: []MemberView{}, Lag: []PartitionLagView{}}
			if err := l.Error(); err != nil {
				gv.Error = err.Error()
			}
			for _, m := range l.Members {
				mv := MemberView{MemberID: m.MemberID, ClientID: m.ClientID, ClientHost: m.ClientHost, Assigned: []string{}}
				if m.InstanceID != nil {
					mv.InstanceID = *m.InstanceID
				}
				if ca, ok := m.Assigned.AsConsumer(); ok && ca != nil {
					for _, t := range ca.Topics {
						for _, p := range t.Partitions {
							mv.Assigned = append(mv.Assigned, t.Topic+"-"+strconv.Itoa(int(p)))
						}
					}
				}
				sort.Strings(mv.Assigned)
				gv.Members = append(gv.Members, mv)
			}
			for _, ml := range l.Lag.Sorted() {
				if ml.Commit.At < 0 && ml.Member == nil {
					continue
				}
				pl := PartitionLagView{Topic: ml.Topic, Partition: ml.Partition, Committed: ml.Commit.At, End: ml.End.Offset, Lag: ml.Lag}
				if ml.Member != nil {
					pl.Member = ml.Member.ClientID
				}
				if pl.Lag > 0 {
					gv.TotalLag += pl.Lag
				}
				gv.Lag = append(gv.Lag, pl)
			}
			out = append(out, gv)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Group < out[j].Group })
	writeJSON(w, http.StatusOK, map[string]any{"groups": out})
}

// AppView is one stream application as its endpoint reports it.
type AppView struct {
	URL      string          `json:"url"`
	Error    string          `json:"error,omitempty"`
	Status   json.RawMessage `json:"status,omitempty"`
	Topology json.RawMessage `json:"topology,omitempty"`
}

func (s *Server) serveApps(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := s.ctx(r)
	defer cancel()
	out := make([]AppView, len(s.apps))
	done := make(chan struct{}, len(s.apps))
	for i := range s.apps {
		go func(i int) {
			defer func() { done <- struct{}{} }()
			v := AppView{URL: s.apps[i]}
			var errs []string
			for _, part := range []struct {
				path string
				dst  *json.RawMessage
			}{{"/status", &v.Status}, {"/topology?format=json", &v.Topology}} {
				b, code, err := s.appGet(ctx, i, part.path)
				switch {
				case err != nil:
					errs = append(errs, fmt.Sprintf("%s: %v", part.path, err))
				case code != http.StatusOK:
					errs = append(errs, fmt.Sprintf("%s: HTTP %d: %s", part.path, code, strings.TrimSpace(string(b))))
				case !json.Valid(b):
					errs = append(errs, fmt.Sprintf("%s: not JSON", part.path))
				default:
					*part.dst = b
				}
			}
			v.Error = strings.Join(errs, "; ")
			out[i] = v
		}(i)
	}
	for range s.apps {
		<-done
	}
	writeJSON(w, http.StatusOK, map[string]any{"apps": out})
}

func (s *Server) serveAppSVG(w http.ResponseWriter, r *http.Request) {
	i, err := strconv.Atoi(r.PathValue("i"))
	if err != nil || i < 0 || i >= len(s.apps) {
		writeError(w, http.StatusNotFound, fmt.Errorf("console: no app %q", r.PathValue("i")))
		return
	}
	ctx, cancel := s.ctx(r)
	defer cancel()
	b, code, err := s.appGet(ctx, i, "/topology?format=svg")
	if badGateway(w, err, "topology of "+s.apps[i]) {
		return
	}
	if code != http.StatusOK {
		writeError(w, http.StatusBadGateway, fmt.Errorf("console: topology of %s: HTTP %d", s.apps[i], code))
		return
	}
	w.Header().Set("Content-Type", "image/svg+xml")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(b)
}
