package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"

	"github.com/rivulet-io/rivulet/client"
	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { rootCmd.AddCommand(newTopicsCmd()) }

type topicsOpts struct {
	conn connFlags

	create, list, describe, alter, del bool

	topic             string
	partitions        int32
	replicationFactor int32
	configs           []string

	ifNotExists, ifExists, excludeInternal bool
	underReplicated, unavailable           bool
	withOverrides                          bool
}

func newTopicsCmd() *cobra.Command {
	o := &topicsOpts{}
	cmd, f := toolCmd(&cobra.Command{
		Use:   "topics",
		Short: "Create, list, describe, alter and delete topics (like kafka-topics.sh)",
		Long: `topics manages topics with the flags of Kafka's kafka-topics.sh. Give exactly one action:
--create, --list, --describe, --alter or --delete.

--topic takes a topic name; for --list, --describe, --alter and --delete it is a regular
expression that must match whole names (escape dots: "my\.topic"), as in Kafka.

--describe prints, per topic, its id, partition count, replication factor and the configs
that differ from the broker's defaults, then one line per partition with its leader,
replicas, in-sync replicas, and log start and end offsets.

--bootstrap-server defaults to ` + defaultBootstrap + ` (where 'rivulet broker' listens). Works against
any Kafka cluster. Exit codes: 0 ok, 1 failure (unreachable broker, unknown topic, ...),
2 bad flags.`,
		Example: `  rivulet topics --bootstrap-server 127.0.0.1:9092 --create --topic first --partitions 3 --replication-factor 1
  rivulet topics --create --topic events --partitions 6 --config retention.ms=86400000 --config cleanup.policy=delete --if-not-exists
  rivulet topics --list
  rivulet topics --describe --topic first
  rivulet topics --alter --topic first --partitions 6
  rivulet topics --delete --topic first`,
	}, o.conn.registerAdmin, func(cmd *cobra.Command) error { return runTopics(cmd, o) })
	f.BoolVar(&o.create, "create", false, "create a topic")
	f.BoolVar(&o.list, "list", false, "list topic names")
	f.BoolVar(&o.describe, "describe", false, "describe topics (all, or those --topic matches)")
	f.BoolVar(&o.alter, "alter", false, "raise the partition count of a topic (with --partitions)")
	f.BoolVar(&o.del, "delete", false, "delete a topic")
	f.StringVar(&o.topic, "topic", "", "the topic (a whole-name regular expression except with --create)")
	f.Int32Var(&o.partitions, "partitions", -1, "partition count: for --create (default: the broker's num.partitions) or the new count for --alter")
	f.Int32Var(&o.replicationFactor, "replication-factor", -1, "replicas per partition for --create (default: the broker's default.replication.factor)")
	f.StringArrayVar(&o.configs, "config", nil, "a topic config for --create as key=value (repeatable), e.g. cleanup.policy=compact")
	f.BoolVar(&o.ifNotExists, "if-not-exists", false, "with --create: do nothing if the topic exists")
	f.BoolVar(&o.ifExists, "if-exists", false, "with --alter, --describe or --delete: do nothing if no topic matches")
	f.BoolVar(&o.excludeInternal, "exclude-internal", false, "with --list or --describe: leave out internal topics such as __consumer_offsets")
	f.BoolVar(&o.underReplicated, "under-replicated-partitions", false, "with --describe: only partitions whose ISR is smaller than their replica set")
	f.BoolVar(&o.unavailable, "unavailable-partitions", false, "with --describe: only partitions without a leader")
	f.BoolVar(&o.withOverrides, "topics-with-overrides", false, "with --describe: only topics with non-default configs, without partition lines")
	return cmd
}

func runTopics(cmd *cobra.Command, o *topicsOpts) error {
	if countSet(o.create, o.list, o.describe, o.alter, o.del) != 1 {
		return usageErrorf(cmd, "give exactly one action: --create, --list, --describe, --alter or --delete")
	}
	fl := cmd.Flags()
	needTopic := o.create || o.alter || o.del
	if needTopic && o.topic == "" {
		return usageErrorf(cmd, "--topic is required with --create, --alter and --delete")
	}
	if o.create {
		if o.ifExists {
			return usageErrorf(cmd, "--if-exists does not apply to --create (did you mean --if-not-exists?)")
		}
		if fl.Changed("partitions") && o.partitions < 1 {
			return usageErrorf(cmd, "--partitions must be at least 1")
		}
		if fl.Changed("replication-factor") && (o.replicationFactor < 1 || o.replicationFactor > 32767) {
			return usageErrorf(cmd, "--replication-factor must be between 1 and 32767")
		}
	} else {
		if len(o.configs) > 0 {
			return usageErrorf(cmd, "--config applies only to --create (change configs of an existing topic with kafka-configs.sh or an admin client)")
		}
		if o.ifNotExists {
			return usageErrorf(cmd, "--if-not-exists applies only to --create")
		}
		if fl.Changed("replication-factor") {
			return usageErrorf(cmd, "--replication-factor applies only to --create")
		}
	}
	if o.alter && !fl.Changed("partitions") {
		return usageErrorf(cmd, "--alter needs --partitions N (the new, larger partition count)")
	}
	if o.alter && o.partitions < 1 {
		return usageErrorf(cmd, "--partitions must be at least 1")
	}
	if !o.alter && !o.create && fl.Changed("partitions") {
		return usageErrorf(cmd, "--partitions applies only to --create and --alter")
	}
	if (o.underReplicated || o.unavailable || o.withOverrides) && !o.describe {
		return usageErrorf(cmd, "--under-replicated-partitions, --unavailable-partitions and --topics-with-overrides apply only to --describe")
	}
	if o.excludeInternal && !(o.list || o.describe) {
		return usageErrorf(cmd, "--exclude-internal applies only to --list and --describe")
	}
	configs, err := client.ParseKeyValues(o.configs)
	if err != nil {
		return usageErrorf(cmd, "--config: %v", err)
	}
	var match *regexp.Regexp
	if o.topic != "" && !o.create {
		if match, err = regexp.Compile("^(?:" + o.topic + ")$"); err != nil {
			return usageErrorf(cmd, "--topic %q is not a valid regular expression: %v", o.topic, err)
		}
	}

	return o.conn.withAdminTimeout(cmd, func(ctx context.Context, adm *client.Admin, out io.Writer) error {
		switch {
		case o.create:
			return createTopic(ctx, adm, out, o, configs)
		case o.list:
			names, err := matchingTopics(ctx, adm, match, o.excludeInternal)
			if err != nil {
				return err
			}
			for _, n := range names {
				fmt.Fprintln(out, n)
			}
			return nil
		case o.describe:
			return describeTopics(ctx, adm, out, o, match)
		case o.alter:
			return alterTopics(ctx, adm, o, match)
		default:
			return deleteTopics(ctx, adm, o, match)
		}
	})
}

func createTopic(ctx context.Context, adm *client.Admin, out io.Writer, o *topicsOpts, configs client.Properties) error {
	cfg := make(map[string]*string, len(configs))
	for k, v := range configs {
		cfg[k] = &v
	}
	resps, err := adm.CreateTopics(ctx, o.partitions, int16(o.replicationFactor), cfg, o.topic)
	if err != nil {
		return failuref("creating topic %s: %v", o.topic, err)
	}
	resp, ok := resps[o.topic]
	if !ok {
		return failuref("creating topic %s: not in the broker's answer", o.topic)
	}
	if resp.Err != nil {
		if errors.Is(resp.Err, kerr.TopicAlreadyExists) {
			if o.ifNotExists {
				return nil
			}
			return failuref("topic '%s' already exists (add --if-not-exists to accept that)", o.topic)
		}
		return failuref("creating topic %s: %s", o.topic, kafkaError(resp.Err, resp.ErrMessage))
	}
	fmt.Fprintf(out, "Created topic %s.\n", o.topic)
	return nil
}

// matchingTopics lists topic names (sorted) that match (all when match is nil).
func matchingTopics(ctx context.Context, adm *client.Admin, match *regexp.Regexp, excludeInternal bool) ([]string, error) {
	details, err := adm.ListTopicsWithInternal(ctx)
	if err != nil {
		return nil, failuref("listing topics: %v", err)
	}
	var names []string
	for _, td := range details {
		if td.Err != nil {
			continue
		}
		if excludeInternal && td.IsInternal {
			continue
		}
		if match != nil && !match.MatchString(td.Topic) {
			continue
		}
		names = append(names, td.Topic)
	}
	sort.Strings(names)
	return names, nil
}

// resolveTopics returns the topics --topic matches, or an error when none do (unless
// --if-exists, where it returns none).
func resolveTopics(ctx context.Context, adm *client.Admin, o *topicsOpts, match *regexp.Regexp) ([]string, error) {
	names, err := matchingTopics(ctx, adm, match, o.excludeInternal)
	if err != nil {
		return nil, err
	}
	if len(names) == 0 && match != nil && !o.ifExists {
		return nil, failuref("topic '%s' does not exist (see 'rivulet topics --list'; add --if-exists to accept that)", o.topic)
	}
	return names, nil
}

func describeTopics(ctx context.Context, adm *client.Admin, out io.Writer, o *topicsOpts, match *regexp.Regexp) error {
	names, err := resolveTopics(ctx, adm, o, match)
	if err != nil || len(names) == 0 {
		return err
	}
	details, err := adm.ListTopicsWithInternal(ctx, names...)
	if err != nil {
		return failuref("describing topics: %v", err)
	}
	configs, err := adm.DescribeTopicConfigs(ctx, names...)
	if err != nil {
		return failuref("describing topic configs: %v", err)
	}
	starts, err := adm.ListStartOffsets(ctx, names...)
	if err != nil {
		return failuref("listing log start offsets: %v", err)
	}
	ends, err := adm.ListEndOffsets(ctx, names...)
	if err != nil {
		return failuref("listing log end offsets: %v", err)
	}
	byName := map[string][]string{}
	for _, rc := range configs {
		if rc.Err == nil {
			byName[rc.Name] = nonDefaultConfigs(rc.Configs)
		}
	}
	for _, name := range names {
		td, ok := details[name]
		if !ok || td.Err != nil {
			reason := "not in the broker's answer"
			if ok {
				reason = td.Err.Error()
			}
			return failuref("describing topic %s: %s", name, reason)
		}
		v := topicViewOf(td, byName[name], starts, ends)
		if o.withOverrides {
			if len(v.Configs) == 0 {
				continue
			}
			v.Partitions = nil
		}
		if o.underReplicated || o.unavailable {
			v = v.filterPartitions(o.underReplicated, o.unavailable)
			if len(v.Partitions) == 0 {
				continue
			}
			v.PartitionsOnly = true
		}
		writeTopicDescription(out, v)
	}
	return nil
}

// nonDefaultConfigs returns "key=value" for configs not at the broker's built-in default, as
// kafka-topics.sh shows them; sensitive values are hidden.
func nonDefaultConfigs(cfgs []kadm.Config) []string {
	var out []string
	for _, c := range cfgs {
		if c.Source == kmsg.ConfigSourceDefaultConfig {
			continue
		}
		switch {
		case c.Sensitive:
			out = append(out, c.Key+"=<sensitive>")
		case c.Value != nil:
			out = append(out, c.Key+"="+*c.Value)
		default:
			out = append(out, c.Key+"=null")
		}
	}
	sort.Strings(out)
	return out
}

func topicViewOf(td kadm.TopicDetail, configs []string, starts, ends kadm.ListedOffsets) topicView {
	v := topicView{Name: td.Topic, ID: td.ID, Configs: configs}
	for _, pd := range td.Partitions.Sorted() {
		pv := partitionView{
			Partition: pd.Partition,
			Leader:    pd.Leader,
			Replicas:  pd.Replicas,
			ISR:       pd.ISR,
			Offline:   pd.OfflineReplicas,
			LogStart:  -1,
			LogEnd:    -1,
		}
		if lo, ok := starts.Lookup(td.Topic, pd.Partition); ok && lo.Err == nil {
			pv.LogStart = lo.Offset
		}
		if lo, ok := ends.Lookup(td.Topic, pd.Partition); ok && lo.Err == nil {
			pv.LogEnd = lo.Offset
		}
		v.Partitions = append(v.Partitions, pv)
	}
	if len(v.Partitions) > 0 {
		v.ReplicationFactor = len(v.Partitions[0].Replicas)
	}
	v.PartitionCount = len(v.Partitions)
	return v
}

func alterTopics(ctx context.Context, adm *client.Admin, o *topicsOpts, match *regexp.Regexp) error {
	names, err := resolveTopics(ctx, adm, o, match)
	if err != nil || len(names) == 0 {
		return err
	}
	resps, err := adm.UpdatePartitions(ctx, int(o.partitions), names...)
	return topicsResult("altering partitions", names, resps, err, func(r kadm.CreatePartitionsResponse) (string, error) { return r.ErrMessage, r.Err })
}

func deleteTopics(ctx context.Context, adm *client.Admin, o *topicsOpts, match *regexp.Regexp) error {
	details, err := adm.ListTopicsWithInternal(ctx)
	if err != nil {
		return failuref("listing topics: %v", err)
	}
	var names []string
	for _, td := range details {
		if td.Err == nil && match.MatchString(td.Topic) {
			if td.IsInternal {
				return failuref("topic %s is an internal topic and cannot be deleted", td.Topic)
			}
			names = append(names, td.Topic)
		}
	}
	sort.Strings(names)
	if len(names) == 0 {
		if o.ifExists {
			return nil
		}
		return failuref("topic '%s' does not exist (see 'rivulet topics --list'; add --if-exists to accept that)", o.topic)
	}
	resps, err := adm.DeleteTopics(ctx, names...)
	return topicsResult("deleting topics", names, resps, err, func(r kadm.DeleteTopicResponse) (string, error) { return r.ErrMessage, r.Err })
}
