package main

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/rivulet-io/rivulet/client"
	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
)

func init() { rootCmd.AddCommand(newTransactionsCmd()) }

// txnCmdOpts are the flags of `rivulet transactions` and its subcommands.
type txnCmdOpts struct {
	conn connFlags

	txnID          string
	states         []string
	durationFilter int64
	topic          string
	partition      int32
	brokerID       int32
	maxTimeoutMin  int64
	startOffset    int64
	producerID     int64
	producerEpoch  int32
	coordEpoch     int32
}

func newTransactionsCmd() *cobra.Command {
	o := &txnCmdOpts{}
	cmd := &cobra.Command{
		Use:   "transactions",
		Short: "List, describe and abort transactions (like kafka-transactions.sh)",
		Long: `transactions inspects and repairs transactions with the subcommands of Kafka's
kafka-transactions.sh: list, describe, describe-producers, find-hanging and abort.

A hanging transaction is one a partition still holds open (it blocks the partition's last
stable offset, so read_committed consumers stop there) while its coordinator no longer
knows it. find-hanging lists them; abort ends one by writing an abort marker.

--bootstrap-server defaults to ` + defaultBootstrap + `. Exit codes: 0 ok, 1 failure, 2 bad flags.`,
		Example: `  rivulet transactions --bootstrap-server 127.0.0.1:9092 list
  rivulet transactions describe --transactional-id orders-app-0
  rivulet transactions describe-producers --topic orders --partition 0
  rivulet transactions find-hanging --broker-id 0
  rivulet transactions abort --topic orders --partition 0 --start-offset 1234`,
		Args: noArgs,
	}
	// The connection flags go before or after the subcommand, as with kafka-transactions.sh.
	holder := &cobra.Command{}
	o.conn.registerAdmin(holder)
	cmd.PersistentFlags().AddFlagSet(holder.Flags())

	list := &cobra.Command{
		Use:   "list",
		Short: "List the transactional ids the coordinator knows, with their producer id and state",
		Example: `  rivulet transactions list
  rivulet transactions list --state Ongoing --duration-filter 60000`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			for i, st := range o.states {
				name, ok := txnStateName(st)
				if !ok {
					return usageErrorf(cmd, "--state %q: not a transaction state (%s)", st, strings.Join(txnStates, ", "))
				}
				o.states[i] = name
			}
			return o.conn.withAdminTimeout(cmd, func(ctx context.Context, adm *client.Admin, out io.Writer) error { return txnList(ctx, adm, out, o) })
		},
	}
	list.Flags().StringArrayVar(&o.states, "state", nil, "only transactions in this state ("+strings.Join(txnStates, ", ")+"; any case); repeatable")
	list.Flags().Int64Var(&o.durationFilter, "duration-filter", 0, "only transactions running for longer than this many milliseconds")

	describe := &cobra.Command{
		Use:     "describe",
		Short:   "Describe one transactional id: producer, state, timeout, start time and partitions",
		Example: `  rivulet transactions describe --transactional-id orders-app-0`,
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.txnID == "" {
				return usageErrorf(cmd, "--transactional-id is required")
			}
			return o.conn.withAdminTimeout(cmd, func(ctx context.Context, adm *client.Admin, out io.Writer) error {
				return txnDescribe(ctx, adm, out, o.txnID)
			})
		},
	}
	describe.Flags().StringVar(&o.txnID, "transactional-id", "", "the transactional id to describe")

	producers := &cobra.Command{
		Use:     "describe-producers",
		Short:   "Show the producers a partition keeps state for, with their open transaction's first offset",
		Example: `  rivulet transactions describe-producers --topic orders --partition 0`,
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.topic == "" || o.partition < 0 {
				return usageErrorf(cmd, "--topic and --partition are required")
			}
			return o.conn.withAdminTimeout(cmd, func(ctx context.Context, adm *client.Admin, out io.Writer) error {
				return txnDescribeProducers(ctx, adm, out, o.topic, o.partition)
			})
		},
	}
	producers.Flags().StringVar(&o.topic, "topic", "", "the topic")
	producers.Flags().Int32Var(&o.partition, "partition", -1, "the partition")

	hanging := &cobra.Command{
		Use:   "find-hanging",
		Short: "Find open transactions that have outlived the transaction timeout and that no coordinator tracks",
		Example: `  rivulet transactions find-hanging --broker-id 0
  rivulet transactions find-hanging --topic orders --max-transaction-timeout 5`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if (o.brokerID < 0) == (o.topic == "") {
				return usageErrorf(cmd, "give --broker-id or --topic (with an optional --partition)")
			}
			if o.maxTimeoutMin <= 0 {
				return usageErrorf(cmd, "--max-transaction-timeout must be positive")
			}
			return o.conn.withAdminTimeout(cmd, func(ctx context.Context, adm *client.Admin, out io.Writer) error {
				return txnFindHanging(ctx, adm, out, o)
			})
		},
	}
	hanging.Flags().Int32Var(&o.brokerID, "broker-id", -1, "look at every partition this broker leads")
	hanging.Flags().StringVar(&o.topic, "topic", "", "look at this topic's partitions")
	hanging.Flags().Int32Var(&o.partition, "partition", -1, "with --topic: only this partition")
	hanging.Flags().Int64Var(&o.maxTimeoutMin, "max-transaction-timeout", 15, "transactions open longer than this many minutes are candidates (transaction.max.timeout.ms)")

	abort := &cobra.Command{
		Use:   "abort",
		Short: "Abort a hanging transaction in one partition by writing an abort marker",
		Long: `abort ends a hanging transaction in one partition. Name it by the first offset of the
transaction (--start-offset, as find-hanging prints it), or by its producer: --producer-id,
--producer-epoch and --coordinator-epoch.`,
		Example: `  rivulet transactions abort --topic orders --partition 0 --start-offset 1234
  rivulet transactions abort --topic orders --partition 0 --producer-id 1001 --producer-epoch 3 --coordinator-epoch 0`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.topic == "" || o.partition < 0 {
				return usageErrorf(cmd, "--topic and --partition are required")
			}
			byOffset := o.startOffset >= 0
			byProducer := o.producerID >= 0 || o.producerEpoch >= 0 || o.coordEpoch >= 0
			if byOffset == byProducer {
				return usageErrorf(cmd, "give --start-offset, or --producer-id with --producer-epoch and --coordinator-epoch")
			}
			if byProducer && (o.producerID < 0 || o.producerEpoch < 0 || o.producerEpoch > 32767 || o.coordEpoch < 0) {
				return usageErrorf(cmd, "--producer-id, --producer-epoch and --coordinator-epoch are all required")
			}
			return o.conn.withAdminTimeout(cmd, func(ctx context.Context, adm *client.Admin, out io.Writer) error { return txnAbort(ctx, adm, out, o) })
		},
	}
	abort.Flags().StringVar(&o.topic, "topic", "", "the topic")
	abort.Flags().Int32Var(&o.partition, "partition", -1, "the partition")
	abort.Flags().Int64Var(&o.startOffset, "start-offset", -1, "the first offset of the transaction to abort")
	abort.Flags().Int64Var(&o.producerID, "producer-id", -1, "the producer id of the transaction")
	abort.Flags().Int32Var(&o.producerEpoch, "producer-epoch", -1, "the producer epoch of the transaction")
	abort.Flags().Int32Var(&o.coordEpoch, "coordinator-epoch", -1, "the coordinator epoch of the transaction")

	cmd.AddCommand(list, describe, producers, hanging, abort)
	return cmd
}

func txnList(ctx context.Context, adm *client.Admin, out io.Writer, o *txnCmdOpts) error {
	ls, err := adm.ListTransactions(ctx, nil, o.states)
	if err != nil {
		return failuref("listing transactions: %v", err)
	}
	var keep map[string]bool
	if o.durationFilter > 0 && len(ls) > 0 {
		// The duration is known from the description (ListTransactions v1 filters on the
		// broker; kadm's form sends v0).
		ids := make([]string, 0, len(ls))
		for id := range ls {
			ids = append(ids, id)
		}
		ds, err := adm.DescribeTransactions(ctx, ids...)
		if err != nil {
			return failuref("describing transactions: %v", err)
		}
		keep = map[string]bool{}
		now := time.Now().UnixMilli()
		for id, d := range ds {
			if d.StartTimestamp >= 0 && now-d.StartTimestamp >= o.durationFilter {
				keep[id] = true
			}
		}
	}
	var rows [][]string
	for _, l := range ls.Sorted() {
		if keep != nil && !keep[l.TxnID] {
			continue
		}
		rows = append(rows, []string{l.TxnID, itoa32(l.Coordinator), strconv.FormatInt(l.ProducerID, 10), l.State})
	}
	writeTable(out, []string{"TransactionalId", "Coordinator", "ProducerId", "TransactionState"}, rows)
	return nil
}

func txnDescribe(ctx context.Context, adm *client.Admin, out io.Writer, id string) error {
	ds, err := adm.DescribeTransactions(ctx, id)
	if err != nil {
		return failuref("describing transaction %s: %v", id, err)
	}
	d, ok := ds[id]
	if !ok {
		return failuref("transactional id %s: not in the broker's answer", id)
	}
	if d.Err != nil {
		return failuref("transactional id %s: %v", id, d.Err)
	}
	start, duration := "None", "None"
	if d.StartTimestamp >= 0 {
		start = strconv.FormatInt(d.StartTimestamp, 10)
		duration = strconv.FormatInt(time.Now().UnixMilli()-d.StartTimestamp, 10)
	}
	var parts []string
	for _, tp := range d.Topics.Sorted() {
		for _, p := range tp.Partitions {
			parts = append(parts, fmt.Sprintf("%s-%d", tp.Topic, p))
		}
	}
	writeTable(out, []string{"CoordinatorId", "TransactionalId", "ProducerId", "ProducerEpoch", "TransactionState",
		"TransactionTimeoutMs", "CurrentTransactionStartTimeMs", "TransactionDurationMs", "TopicPartitions"},
		[][]string{{itoa32(d.Coordinator), d.TxnID, strconv.FormatInt(d.ProducerID, 10), strconv.Itoa(int(d.ProducerEpoch)), d.State,
			itoa32(d.TimeoutMillis), start, duration, strings.Join(parts, ",")}})
	return nil
}

// partitionProducers describes the producers of the given partitions.
func partitionProducers(ctx context.Context, adm *client.Admin, set kadm.TopicsSet) ([]kadm.DescribedProducer, error) {
	ds, err := adm.DescribeProducers(ctx, set)
	if err != nil {
		return nil, failuref("describing producers: %v", err)
	}
	var out []kadm.DescribedProducer
	for _, t := range ds {
		for _, p := range t.Partitions {
			if p.Err != nil {
				return nil, failuref("describing producers of %s-%d: %v", p.Topic, p.Partition, p.Err)
			}
			for _, pr := range p.ActiveProducers {
				out = append(out, pr)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Topic != out[j].Topic {
			return out[i].Topic < out[j].Topic
		}
		if out[i].Partition != out[j].Partition {
			return out[i].Partition < out[j].Partition
		}
		return out[i].ProducerID < out[j].ProducerID
	})
	return out, nil
}

func txnDescribeProducers(ctx context.Context, adm *client.Admin, out io.Writer, topic string, partition int32) error {
	set := kadm.TopicsSet{}
	set.Add(topic, partition)
	ps, err := partitionProducers(ctx, adm, set)
	if err != nil {
		return err
	}
	var rows [][]string
	for _, p := range ps {
		start := "None"
		if p.CurrentTxnStartOffset >= 0 {
			start = strconv.FormatInt(p.CurrentTxnStartOffset, 10)
		}
		rows = append(rows, []string{strconv.FormatInt(p.ProducerID, 10), strconv.Itoa(int(p.ProducerEpoch)), itoa32(p.CoordinatorEpoch),
			itoa32(p.LastSequence), strconv.FormatInt(p.LastTimestamp, 10), start})
	}
	writeTable(out, []string{"ProducerId", "ProducerEpoch", "LatestCoordinatorEpoch", "LastSequence", "LastTimestamp", "CurrentTransactionStartOffset"}, rows)
	return nil
}

// txnFindHanging lists open transactions of the selected partitions that are older than
// the maximum transaction timeout and that the coordinator does not hold as ongoing with
// that partition, as kafka-transactions.sh find-hanging does.
func txnFindHanging(ctx context.Context, adm *client.Admin, out io.Writer, o *txnCmdOpts) error {
	md, err := adm.Metadata(ctx)
	if err != nil {
		return failuref("reading metadata: %v", err)
	}
	set := kadm.TopicsSet{}
	for _, t := range md.Topics.Sorted() {
		if o.topic != "" && t.Topic != o.topic {
			continue
		}
		for _, p := range t.Partitions.Sorted() {
			if (o.brokerID >= 0 && p.Leader != o.brokerID) || (o.partition >= 0 && p.Partition != o.partition) {
				continue
			}
			set.Add(t.Topic, p.Partition)
		}
	}
	if o.topic != "" && len(set) == 0 {
		return failuref("topic %s: no such topic or partition", o.topic)
	}
	ps, err := partitionProducers(ctx, adm, set)
	if err != nil {
		return err
	}
	now := time.Now().UnixMilli()
	maxMs := o.maxTimeoutMin * 60 * 1000
	var open []kadm.DescribedProducer
	var pids []int64
	for _, p := range ps {
		if p.CurrentTxnStartOffset >= 0 && now-p.LastTimestamp > maxMs {
			open = append(open, p)
			pids = append(pids, p.ProducerID)
		}
	}
	var rows [][]string
	if len(open) > 0 {
		ls, err := adm.ListTransactions(ctx, pids, nil)
		if err != nil {
			return failuref("listing transactions: %v", err)
		}
		var ids []string
		for id := range ls {
			ids = append(ids, id)
		}
		described := kadm.DescribedTransactions{}
		if len(ids) > 0 {
			if described, err = adm.DescribeTransactions(ctx, ids...); err != nil {
				return failuref("describing transactions: %v", err)
			}
		}
		for _, p := range open {
			if txnTracks(described, p) {
				continue
			}
			rows = append(rows, []string{p.Topic, itoa32(p.Partition), strconv.FormatInt(p.ProducerID, 10), strconv.Itoa(int(p.ProducerEpoch)),
				itoa32(p.CoordinatorEpoch), strconv.FormatInt(p.CurrentTxnStartOffset, 10), strconv.FormatInt(p.LastTimestamp, 10),
				strconv.FormatInt((now-p.LastTimestamp)/60000, 10)})
		}
	}
	writeTable(out, []string{"Topic", "Partition", "ProducerId", "ProducerEpoch", "CoordinatorEpoch", "StartOffset", "LastTimestamp", "Duration(min)"}, rows)
	return nil
}

// txnTracks reports whether the coordinator holds p's transaction as ongoing with p's
// partition (then it is not hanging: the coordinator will end it).
func txnTracks(ds kadm.DescribedTransactions, p kadm.DescribedProducer) bool {
	for _, d := range ds {
		if d.Err != nil || d.ProducerID != p.ProducerID || d.ProducerEpoch != p.ProducerEpoch {
			continue
		}
		if d.State != "Ongoing" && d.State != "PrepareCommit" && d.State != "PrepareAbort" {
			continue
		}
		if _, ok := d.Topics[p.Topic][p.Partition]; ok {
			return true
		}
	}
	return false
}

func txnAbort(ctx context.Context, adm *client.Admin, out io.Writer, o *txnCmdOpts) error {
	m := kadm.TxnMarkers{ProducerID: o.producerID, ProducerEpoch: int16(o.producerEpoch), CoordinatorEpoch: o.coordEpoch, Topics: kadm.TopicsSet{}}
	m.Topics.Add(o.topic, o.partition)
	if o.startOffset >= 0 {
		set := kadm.TopicsSet{}
		set.Add(o.topic, o.partition)
		ps, err := partitionProducers(ctx, adm, set)
		if err != nil {
			return err
		}
		found := false
		for _, p := range ps {
			if p.CurrentTxnStartOffset == o.startOffset {
				m.ProducerID, m.ProducerEpoch, m.CoordinatorEpoch, found = p.ProducerID, p.ProducerEpoch, p.CoordinatorEpoch, true
				break
			}
		}
		if !found {
			return failuref("%s-%d has no open transaction starting at offset %d (see describe-producers)", o.topic, o.partition, o.startOffset)
		}
		if m.CoordinatorEpoch < 0 {
			m.CoordinatorEpoch = 0
		}
	}
	res, err := adm.WriteTxnMarkers(ctx, m)
	if err != nil {
		return failuref("writing the abort marker: %v", err)
	}
	for _, r := range res {
		for _, t := range r.Topics {
			for _, p := range t.Partitions {
				if p.Err != nil {
					return failuref("aborting in %s-%d: %v", p.Topic, p.Partition, p.Err)
				}
			}
		}
	}
	fmt.Fprintf(out, "Aborted the transaction of producer %d (epoch %d) in %s-%d\n", m.ProducerID, m.ProducerEpoch, o.topic, o.partition)
	return nil
}

func itoa32(v int32) string { return strconv.FormatInt(int64(v), 10) }

// txnStates are the transaction states as Kafka names them; a ListTransactions state filter
// must spell them so.
var txnStates = []string{"Empty", "Ongoing", "PrepareCommit", "PrepareAbort", "CompleteCommit", "CompleteAbort", "PrepareEpochFence", "Dead"}

// txnStateName is Kafka's spelling of the state s names in any case.
func txnStateName(s string) (string, bool) {
	for _, name := range txnStates {
		if strings.EqualFold(s, name) {
			return name, true
		}
	}
	return "", false
}
