package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/rivulet-io/rivulet/streams/appadmin"
)

func init() { rootCmd.AddCommand(newStreamsCmd()) }

func newStreamsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "streams",
		Short: "Reset or describe a stream application (like kafka-streams-application-reset.sh)",
		Long: `streams works on a stream application through the brokers, with no instance running:

  reset     make the application reprocess its input from the start (or a time or offset)
  describe  its group members (stream threads), partitions, tasks and lag`,
		Example: `  rivulet streams describe --application-id wordcount
  rivulet streams reset --application-id wordcount --input-topics wordcount-input --dry-run`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newStreamsResetCmd(), newStreamsDescribeCmd())
	return cmd
}

type streamsResetOpts struct {
	conn          connFlags
	appID         string
	inputs        []string
	intermediates []string
	toEarliest    bool
	toLatest      bool
	toOffset      int64
	toDatetime    string
	byDuration    string
	dryRun        bool
}

func newStreamsResetCmd() *cobra.Command {
	o := &streamsResetOpts{}
	cmd := &cobra.Command{
		Use:   "reset",
		Short: "Reset a stream application so it reprocesses its input",
		Long: `reset does what Kafka's kafka-streams-application-reset.sh does, for an application
whose instances are all stopped (it refuses while the group has members):

  - the group's committed offsets on --input-topics move to the start (or --to-latest,
    --to-offset, --to-datetime, --by-duration);
  - those on --intermediate-topics (user topics the application writes and reads back)
    move to the end;
  - the application's internal topics (<application.id>-...-repartition and -changelog)
    are deleted; the application recreates them on its next start.

Local state is not touched: remove it on each instance before restarting, with
App.CleanUp() or by deleting <state.dir>/<application.id>.
With --dry-run nothing changes; the plan is printed.`,
		Example: `  rivulet streams reset --application-id wordcount --input-topics wordcount-input --dry-run
  rivulet streams reset --application-id wordcount --input-topics wordcount-input
  rivulet streams reset --application-id orders --input-topics orders --intermediate-topics orders-by-customer \
      --to-datetime 2026-01-01T00:00:00.000Z`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runStreamsReset(cmd, o) },
	}
	o.conn.register(cmd, "config-file", "command-property", "an admin client property")
	f := cmd.Flags()
	f.StringVar(&o.appID, "application-id", "", "the application's application.id (its group and internal topic prefix; required)")
	f.StringSliceVar(&o.inputs, "input-topics", nil, "the application's input topics, comma-separated")
	f.StringSliceVar(&o.intermediates, "intermediate-topics", nil, "user topics the application writes and reads back, comma-separated (their offsets go to the end)")
	f.BoolVar(&o.toEarliest, "to-earliest", false, "input offsets to each partition's start (the default)")
	f.BoolVar(&o.toLatest, "to-latest", false, "input offsets to each partition's end")
	f.Int64Var(&o.toOffset, "to-offset", 0, "input offsets to this offset (kept within each partition)")
	f.StringVar(&o.toDatetime, "to-datetime", "", "input offsets to the first record at or after YYYY-MM-DDTHH:mm:SS.sss[Z|+hh:mm]")
	f.StringVar(&o.byDuration, "by-duration", "", "input offsets to the first record at or after now minus this ISO-8601 duration, PnDTnHnMnS")
	f.BoolVar(&o.dryRun, "dry-run", false, "print what would change, change nothing")
	return cmd
}

func runStreamsReset(cmd *cobra.Command, o *streamsResetOpts) error {
	if o.appID == "" {
		return usageErrorf(cmd, "--application-id is required")
	}
	target := appadmin.ResetTarget{Kind: appadmin.ResetToEarliest}
	n := 0
	if o.toEarliest {
		n++
	}
	if o.toLatest {
		n++
		target.Kind = appadmin.ResetToLatest
	}
	if cmd.Flags().Changed("to-offset") {
		n++
		if o.toOffset < 0 {
			return usageErrorf(cmd, "--to-offset must be 0 or more")
		}
		target = appadmin.ResetTarget{Kind: appadmin.ResetToOffset, Offset: o.toOffset}
	}
	if o.toDatetime != "" {
		n++
		t, err := parseKafkaDatetime(o.toDatetime, time.Local)
		if err != nil {
			return usageErrorf(cmd, "--to-datetime: %v", err)
		}
		target = appadmin.ResetTarget{Kind: appadmin.ResetToTime, Time: t}
	}
	if o.byDuration != "" {
		n++
		d, err := parseISODuration(o.byDuration)
		if err != nil {
			return usageErrorf(cmd, "--by-duration: %v", err)
		}
		target = appadmin.ResetTarget{Kind: appadmin.ResetToTime, Time: time.Now().Add(-d)}
	}
	if n > 1 {
		return usageErrorf(cmd, "give at most one of --to-earliest, --to-latest, --to-offset, --to-datetime and --by-duration")
	}
	ctx := cmd.Context()
	adm, err := o.conn.openAdmin(ctx, cmd)
	if err != nil {
		return err
	}
	defer adm.Close()
	res, err := appadmin.ResetApplication(ctx, adm.Client, appadmin.ResetOptions{
		ApplicationID: o.appID, InputTopics: o.inputs, IntermediateTopics: o.intermediates, Target: target, DryRun: o.dryRun,
	})
	if err != nil {
		return failuref("%v", err)
	}
	out := cmd.OutOrStdout()
	verb := "Reset"
	if o.dryRun {
		verb = "Would reset (dry run)"
	}
	show := func(what string, offs []appadmin.ResetOffset) {
		if len(offs) == 0 {
			return
		}
		fmt.Fprintf(out, "%s %s offsets of group %s:\n", verb, what, o.appID)
		fmt.Fprintf(out, "  %-40s %-10s %-12s %s\n", "TOPIC", "PARTITION", "FROM", "TO")
		for _, r := range offs {
			from := "-"
			if r.From >= 0 {
				from = fmt.Sprint(r.From)
			}
			fmt.Fprintf(out, "  %-40s %-10d %-12s %d\n", r.Topic, r.Partition, from, r.To)
		}
	}
	show("input topic", res.Inputs)
	show("intermediate topic", res.Intermediates)
	if len(res.InternalTopics) > 0 {
		del := "Deleted"
		if o.dryRun {
			del = "Would delete (dry run)"
		}
		fmt.Fprintf(out, "%s internal topics: %s\n", del, strings.Join(res.InternalTopics, ", "))
	} else {
		fmt.Fprintln(out, "No internal topics found.")
	}
	if !o.dryRun {
		fmt.Fprintln(out, "Done. Remove each instance's local state (App.CleanUp, or <state.dir>/"+o.appID+") before restarting it.")
	}
	return nil
}

type streamsDescribeOpts struct {
	conn  connFlags
	appID string
}

func newStreamsDescribeCmd() *cobra.Command {
	o := &streamsDescribeOpts{}
	cmd := &cobra.Command{
		Use:   "describe",
		Short: "Show a stream application's members, partitions, tasks and lag",
		Long: `describe reads a stream application's group from the brokers: its members (one per
stream thread) with their partitions and standby tasks, the instances with an
application.server and their tasks, and the committed offset and lag of each partition.
No instance needs to answer; for live task states, use an instance's /status.`,
		Example: `  rivulet streams describe --application-id wordcount
  rivulet streams describe --application-id wordcount --bootstrap-server broker1:9092`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.appID == "" {
				return usageErrorf(cmd, "--application-id is required")
			}
			ctx := cmd.Context()
			adm, err := o.conn.openAdmin(ctx, cmd)
			if err != nil {
				return err
			}
			defer adm.Close()
			d, err := appadmin.DescribeApplication(ctx, adm.Client, o.appID)
			if err != nil {
				return failuref("%v", err)
			}
			fmt.Fprint(cmd.OutOrStdout(), d.String())
			return nil
		},
	}
	o.conn.register(cmd, "config-file", "command-property", "an admin client property")
	cmd.Flags().StringVar(&o.appID, "application-id", "", "the application's application.id (required)")
	return cmd
}
