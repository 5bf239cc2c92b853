package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/rivulet-io/rivulet/client"
	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kgo"
)

func init() { rootCmd.AddCommand(newConsumeCmd()) }

type consumeOpts struct {
	conn connFlags

	topic          string
	group          string
	fromBeginning  bool
	partition      int32
	offset         string
	maxMessages    int
	timeoutMs      int
	props          []string
	keyDeser       string
	valueDeser     string
	skipOnError    bool
	skipCorrupt    bool
	isolationLevel string
}

func newConsumeCmd() *cobra.Command {
	o := &consumeOpts{}
	cmd, f := toolCmd(&cobra.Command{
		Use:   "consume",
		Short: "Print records from a topic (like kafka-console-consumer.sh)",
		Long: `consume prints the records of --topic to stdout, one per line, with the flags and properties of
Kafka's kafka-console-consumer.sh.

Where to start: new records only by default; --from-beginning for everything;
--partition P --offset N|earliest|latest for one partition. With --group G the consumer
joins group G, shares the topic's partitions with the group's other members, starts from
the group's committed offsets, and commits each printed record (on its way out too).

When to stop: --max-messages N, --timeout-ms T (no record for T milliseconds), or Ctrl-C;
each ends cleanly (leaving the group and committing) and prints the count to stderr.

Output (--property, as Kafka's DefaultMessageFormatter): print.key, print.timestamp,
print.partition, print.offset, print.headers, print.value (true), key.separator (tab),
line.separator, headers.separator, headers.key.separator, null.literal (null).
--key-deserializer and --value-deserializer: ` + deserializerNames + `,
or Kafka's class names. A record that does not deserialize stops the tool with exit
code 1 (before being committed) unless --skip-message-on-error. A corrupt record batch on
the broker stops the tool with exit code 1 and one error naming the topic, partition and
offset, unless --skip-corrupt (which skips its records with a warning).

Consumer settings: --consumer-property key=value or --consumer.config FILE, with Kafka's names.
--bootstrap-server defaults to ` + defaultBootstrap + `. Exit codes: 0 ok, 1 failure, 2 bad flags.`,
		Example: `  rivulet consume --bootstrap-server 127.0.0.1:9092 --topic first --from-beginning
  rivulet consume --topic first --group readers --property print.key=true --property key.separator=:
  rivulet consume --topic first --partition 0 --offset 42 --max-messages 10
  rivulet consume --topic counts --from-beginning --value-deserializer int64 --property print.key=true --timeout-ms 5000
  rivulet consume --topic orders --from-beginning --isolation-level read_committed`,
	}, o.conn.registerConsumer, func(cmd *cobra.Command) error { return runConsume(cmd, o) })
	f.StringVar(&o.topic, "topic", "", "the topic to read (required)")
	f.StringVar(&o.group, "group", "", "consume as a member of this consumer group (commits what it prints)")
	f.BoolVar(&o.fromBeginning, "from-beginning", false, "start at the earliest offset when there is no committed offset (auto.offset.reset=earliest)")
	f.Int32Var(&o.partition, "partition", -1, "read only this partition (not with --group)")
	f.StringVar(&o.offset, "offset", "", "with --partition: the offset to start at, a number, earliest or latest (default latest)")
	f.IntVar(&o.maxMessages, "max-messages", 0, "exit after printing this many records (0: no limit)")
	f.IntVar(&o.timeoutMs, "timeout-ms", 0, "exit when no record arrives for this many milliseconds (0: wait forever)")
	f.StringArrayVar(&o.props, "property", nil, "an output property as key=value (repeatable): print.key=true, print.timestamp=true, key.separator=:, ...")
	f.StringVar(&o.keyDeser, "key-deserializer", "string", "how to print keys: "+deserializerNames)
	f.StringVar(&o.valueDeser, "value-deserializer", "string", "how to print values: "+deserializerNames)
	f.BoolVar(&o.skipOnError, "skip-message-on-error", false, "print an error for a record that does not deserialize and go on")
	f.BoolVar(&o.skipCorrupt, "skip-corrupt", false, "skip records of a corrupt batch with a warning instead of stopping")
	f.StringVar(&o.isolationLevel, "isolation-level", "", "read_uncommitted (default) or read_committed")
	return cmd
}

func runConsume(cmd *cobra.Command, o *consumeOpts) error {
	fl := cmd.Flags()
	if o.topic == "" {
		return usageErrorf(cmd, "--topic is required")
	}
	if o.offset != "" && !fl.Changed("partition") {
		return usageErrorf(cmd, "--offset needs --partition (the partition the offset is in)")
	}
	if fl.Changed("partition") && o.partition < 0 {
		return usageErrorf(cmd, "--partition must be 0 or more")
	}
	if o.group != "" && fl.Changed("partition") {
		return usageErrorf(cmd, "--group and --partition cannot be used together: a group assigns partitions to its members")
	}
	if o.fromBeginning && o.offset != "" {
		return usageErrorf(cmd, "--from-beginning and --offset cannot be used together")
	}
	if o.maxMessages < 0 || o.timeoutMs < 0 {
		return usageErrorf(cmd, "--max-messages and --timeout-ms must be 0 or more")
	}
	var startAt kgo.Offset
	switch off := strings.ToLower(o.offset); {
	case off == "" && o.fromBeginning, off == "earliest":
		startAt = kgo.NewOffset().AtStart()
	case off == "", off == "latest":
		startAt = kgo.NewOffset().AtEnd()
	default:
		n, err := strconv.ParseInt(off, 10, 64)
		if err != nil || n < 0 {
			return usageErrorf(cmd, "--offset %q: want a number 0 or more, earliest or latest", o.offset)
		}
		startAt = kgo.NewOffset().At(n)
	}
	fmtProps, err := client.ParseKeyValues(o.props)
	if err != nil {
		return usageErrorf(cmd, "--property: %v", err)
	}
	formatter, err := newMessageFormatter(fmtProps, o.keyDeser, o.valueDeser)
	if err != nil {
		return usageErrorf(cmd, "%v", err)
	}

	props, err := o.conn.properties(cmd)
	if err != nil {
		return err
	}
	if o.group != "" {
		if g, ok := props["group.id"]; ok && g != o.group {
			return usageErrorf(cmd, "--group %q and group.id=%q disagree; give one", o.group, g)
		}
		props["group.id"] = o.group
	}
	if o.fromBeginning {
		if r, ok := props["auto.offset.reset"]; ok && !strings.EqualFold(r, "earliest") {
			return usageErrorf(cmd, "--from-beginning and auto.offset.reset=%s disagree", r)
		}
		props["auto.offset.reset"] = "earliest"
	}
	if o.isolationLevel != "" {
		props["isolation.level"] = o.isolationLevel
	}
	parsed, err := client.Parse(client.RoleConsumer, props)
	if err != nil {
		return propertyError(cmd, err)
	}

	ctx, stop := signalContext()
	defer stop()

	// Check the broker and the topic first, so a typo fails at once with a clear message
	// instead of a consumer that waits forever.
	adm, err := o.conn.openAdminWith(ctx, cmd, props.For(client.RoleAdmin))
	if err != nil {
		return err
	}
	mctx, cancel := context.WithTimeout(ctx, adm.Parsed.APITimeout)
	details, err := adm.ListTopics(mctx, o.topic)
	cancel()
	adm.Close()
	if err != nil {
		return failuref("consume: looking up topic %s: %v", o.topic, err)
	}
	td, ok := details[o.topic]
	if !ok || td.Err != nil {
		return failuref("topic '%s' does not exist (see 'rivulet topics --list')", o.topic)
	}
	if fl.Changed("partition") && int(o.partition) >= len(td.Partitions) {
		return failuref("topic '%s' has %d partition(s); there is no partition %d", o.topic, len(td.Partitions), o.partition)
	}

	stderr := cmd.ErrOrStderr()
	// Retriable fetch errors come back to the loop, so that a corrupt batch (CORRUPT_MESSAGE is
	// retriable) stops the tool instead of being retried forever.
	copts := []client.Option{client.WithLogger(cliLogger(stderr)), client.WithKgoOpts(kgo.KeepRetryableFetchErrors())}
	positions := newConsumePositions(o.topic, parsed.GroupID, startAt)
	switch {
	case parsed.GroupID != "":
		copts = append(copts, client.WithTopics(o.topic))
		if parsed.AutoCommit {
			// Commit exactly what was printed: nothing read but unprinted (after
			// --max-messages, or on Ctrl-C) counts as consumed.
			copts = append(copts, client.WithAutoCommitMarks())
		}
	case fl.Changed("partition"):
		copts = append(copts, client.WithKgoOpts(kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{o.topic: {o.partition: startAt}})))
	default:
		copts = append(copts, client.WithKgoOpts(kgo.ConsumeTopics(o.topic), kgo.ConsumeResetOffset(startAt)))
	}
	cons, err := client.NewConsumer(props, copts...)
	if err != nil {
		return propertyError(cmd, err)
	}

	out := bufio.NewWriterSize(cmd.OutOrStdout(), 64<<10)
	processed := 0
	var failure error
	var buf []byte
	marks := parsed.GroupID != "" && parsed.AutoCommit
poll:
	for o.maxMessages == 0 || processed < o.maxMessages {
		pctx, cancel := ctx, context.CancelFunc(func() {})
		if o.timeoutMs > 0 {
			pctx, cancel = context.WithTimeout(ctx, time.Duration(o.timeoutMs)*time.Millisecond)
		}
		records, err := cons.Poll(pctx)
		cancel()
		for _, r := range records {
			positions.polled(r)
		}
		var pe *client.PollError
		switch {
		case err == nil:
		case errors.As(err, &pe):
			if failure = positions.handleFetchErrors(ctx, cons.Client(), pe.Errors, o.skipCorrupt, stderr); failure != nil {
				break poll
			}
		case ctx.Err() != nil:
			break poll // Ctrl-C
		case errors.Is(err, context.DeadlineExceeded):
			break poll // --timeout-ms passed with no record
		default:
			failure = fmt.Errorf("consume: %w", err)
			break poll
		}
		var printed []*kgo.Record
		for _, r := range records {
			if o.maxMessages > 0 && processed >= o.maxMessages {
				break
			}
			var ferr error
			buf, ferr = formatter.format(buf[:0], r)
			if ferr != nil {
				if !o.skipOnError {
					failure = fmt.Errorf("consume: %w (use --skip-message-on-error to go on, or another --key-deserializer/--value-deserializer)", ferr)
					break
				}
				fmt.Fprintf(stderr, "rivulet: consume: %v; skipped\n", ferr)
				printed = append(printed, r)
				continue
			}
			if _, werr := out.Write(buf); werr != nil {
				failure = fmt.Errorf("consume: writing output: %w", werr)
				break
			}
			printed = append(printed, r)
			processed++
		}
		if werr := out.Flush(); werr != nil && failure == nil {
			failure = fmt.Errorf("consume: writing output: %w", werr)
			printed = nil
		}
		if marks && len(printed) > 0 {
			cons.MarkCommitRecords(printed...)
		}
		if failure != nil {
			break
		}
	}
	stop()
	cons.Close() // leaves the group, committing what was marked
	fmt.Fprintf(stderr, "Processed a total of %d messages\n", processed)
	if failure != nil {
		return &exitError{Code: exitFailure, Err: failure}
	}
	return nil
}
