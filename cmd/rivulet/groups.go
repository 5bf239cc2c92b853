package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/rivulet-io/rivulet/client"
	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
)

func init() { rootCmd.AddCommand(newGroupsCmd()) }

type groupsOpts struct {
	conn connFlags

	list, describe, reset, del, deleteOffsets bool

	groups    []string
	allGroups bool

	members, state, offsets, verbose bool

	topics    []string
	allTopics bool

	toEarliest, toLatest, toCurrent bool
	toOffset                        int64
	toDatetime                      string
	shiftBy                         int64
	byDuration                      string
	dryRun, execute                 bool
}

func newGroupsCmd() *cobra.Command {
	o := &groupsOpts{}
	cmd, f := toolCmd(&cobra.Command{
		Use:   "groups",
		Short: "List, describe, reset and delete consumer groups (like kafka-consumer-groups.sh)",
		Long: `groups manages consumer groups with the flags of Kafka's kafka-consumer-groups.sh. Give exactly
one action: --list, --describe, --reset-offsets, --delete or --delete-offsets.

--describe --group G prints, per partition, the committed offset, the log end offset, the lag
and the member that owns it:
  GROUP TOPIC PARTITION CURRENT-OFFSET LOG-END-OFFSET LAG CONSUMER-ID HOST CLIENT-ID
--members lists members instead (--verbose adds their assignments); --state the group's state.

--reset-offsets moves a group's committed offsets. The group must have no active members.
Pick the partitions with --topic T (all partitions), --topic T:0,2 (some), or --all-topics
(those the group has offsets for), and one target: --to-earliest, --to-latest, --to-current,
--to-offset N, --shift-by N (negative moves back), --to-datetime YYYY-MM-DDTHH:mm:SS.sss
(with an optional Z or +hh:mm zone; local time without one), or --by-duration PnDTnHnMnS.
Targets are kept within each partition's log start and end offsets. Without --execute it
only prints the plan (--dry-run).

--bootstrap-server defaults to ` + defaultBootstrap + `. Exit codes: 0 ok, 1 failure, 2 bad flags.`,
		Example: `  rivulet groups --bootstrap-server 127.0.0.1:9092 --list
  rivulet groups --describe --group readers
  rivulet groups --describe --group readers --members --verbose
  rivulet groups --reset-offsets --group readers --topic first --to-earliest --execute
  rivulet groups --reset-offsets --group readers --topic first:0,1 --shift-by -10 --dry-run
  rivulet groups --reset-offsets --group readers --all-topics --to-datetime 2026-01-01T00:00:00.000Z --execute
  rivulet groups --delete --group readers`,
	}, o.conn.registerAdmin, func(cmd *cobra.Command) error { return runGroups(cmd, o) })
	f.BoolVar(&o.list, "list", false, "list consumer groups")
	f.BoolVar(&o.describe, "describe", false, "describe groups: offsets and lag per partition (default), --members or --state")
	f.BoolVar(&o.reset, "reset-offsets", false, "reset a group's committed offsets (with a target and --dry-run or --execute)")
	f.BoolVar(&o.del, "delete", false, "delete groups (they must have no active members)")
	f.BoolVar(&o.deleteOffsets, "delete-offsets", false, "delete a group's committed offsets for --topic")
	f.StringArrayVar(&o.groups, "group", nil, "the consumer group (repeatable)")
	f.BoolVar(&o.allGroups, "all-groups", false, "with --describe, --reset-offsets or --delete: every group")
	f.BoolVar(&o.members, "members", false, "with --describe: list members")
	f.BoolVar(&o.state, "state", false, "with --describe: the group's state; with --list: each group's state")
	f.BoolVar(&o.offsets, "offsets", false, "with --describe: offsets and lag per partition (the default)")
	f.BoolVar(&o.verbose, "verbose", false, "with --describe --members: each member's assignment")
	f.StringArrayVar(&o.topics, "topic", nil, "with --reset-offsets or --delete-offsets: a topic, or topic:0,1,2 for some partitions (repeatable)")
	f.BoolVar(&o.allTopics, "all-topics", false, "with --reset-offsets: every topic the group has offsets for")
	f.BoolVar(&o.toEarliest, "to-earliest", false, "reset to each partition's log start offset")
	f.BoolVar(&o.toLatest, "to-latest", false, "reset to each partition's log end offset")
	f.BoolVar(&o.toCurrent, "to-current", false, "reset to the current committed offset")
	f.Int64Var(&o.toOffset, "to-offset", 0, "reset to this offset")
	f.Int64Var(&o.shiftBy, "shift-by", 0, "move the committed offset by this many records (negative: back)")
	f.StringVar(&o.toDatetime, "to-datetime", "", "reset to the first offset at or after this time, YYYY-MM-DDTHH:mm:SS.sss[Z|+hh:mm]")
	f.StringVar(&o.byDuration, "by-duration", "", "reset to the first offset at or after now minus this ISO-8601 duration, PnDTnHnMnS")
	f.BoolVar(&o.dryRun, "dry-run", false, "with --reset-offsets: print the new offsets, change nothing (the default)")
	f.BoolVar(&o.execute, "execute", false, "with --reset-offsets: commit the new offsets")
	return cmd
}

func runGroups(cmd *cobra.Command, o *groupsOpts) error {
	if countSet(o.list, o.describe, o.reset, o.del, o.deleteOffsets) != 1 {
		return usageErrorf(cmd, "give exactly one action: --list, --describe, --reset-offsets, --delete or --delete-offsets")
	}
	needGroup := o.describe || o.reset || o.del || o.deleteOffsets
	if needGroup && len(o.groups) == 0 && !o.allGroups {
		return usageErrorf(cmd, "--group G (or --all-groups) is required")
	}
	if o.list && (len(o.groups) > 0 || o.allGroups) {
		return usageErrorf(cmd, "--list takes no --group")
	}
	if o.deleteOffsets && (o.allGroups || len(o.groups) != 1) {
		return usageErrorf(cmd, "--delete-offsets takes exactly one --group")
	}
	if len(o.groups) > 0 && o.allGroups {
		return usageErrorf(cmd, "give --group or --all-groups, not both")
	}
	if countSet(o.members, o.state, o.offsets) > 1 {
		return usageErrorf(cmd, "give at most one of --members, --state and --offsets")
	}
	if (o.members || o.offsets) && !o.describe {
		return usageErrorf(cmd, "--members and --offsets apply only to --describe")
	}
	if o.state && !(o.describe || o.list) {
		return usageErrorf(cmd, "--state applies only to --describe and --list")
	}
	if o.verbose && !(o.describe && o.members) {
		return usageErrorf(cmd, "--verbose applies only to --describe --members")
	}
	if (len(o.topics) > 0 || o.allTopics) && !(o.reset || o.deleteOffsets) {
		return usageErrorf(cmd, "--topic and --all-topics apply only to --reset-offsets and --delete-offsets")
	}
	var spec resetSpec
	if o.reset {
		var err error
		if spec, err = o.resetSpec(cmd); err != nil {
			return err
		}
	} else if o.dryRun || o.execute || o.resetTargetGiven(cmd) {
		return usageErrorf(cmd, "reset targets, --dry-run and --execute apply only to --reset-offsets")
	}
	if o.deleteOffsets && (len(o.topics) == 0 || o.allTopics) {
		return usageErrorf(cmd, "--delete-offsets needs --topic T (repeatable)")
	}
	topicSel, err := parseTopicPartitions(o.topics)
	if err != nil {
		return usageErrorf(cmd, "%v", err)
	}

	return o.conn.withAdminTimeout(cmd, func(ctx context.Context, adm *client.Admin, out io.Writer) error {
		if o.list {
			return listGroups(ctx, adm, out, o.state)
		}
		groups := o.groups
		if o.allGroups {
			listed, err := adm.ListGroups(ctx)
			if err != nil {
				return failuref("listing groups: %v", err)
			}
			groups = listed.Groups()
			sort.Strings(groups)
			if len(groups) == 0 {
				return nil
			}
		}
		switch {
		case o.describe:
			return describeGroups(ctx, adm, out, o, groups)
		case o.reset:
			return resetOffsets(ctx, adm, cmd, o, spec, groups, topicSel)
		case o.del:
			return deleteGroups(ctx, adm, out, groups)
		default:
			return deleteGroupOffsets(ctx, adm, out, groups[0], topicSel)
		}
	})
}

func listGroups(ctx context.Context, adm *client.Admin, out io.Writer, withState bool) error {
	listed, err := adm.ListGroups(ctx)
	if err != nil {
		return failuref("listing groups: %v", err)
	}
	names := listed.Groups()
	sort.Strings(names)
	if !withState {
		for _, g := range names {
			fmt.Fprintln(out, g)
		}
		return nil
	}
	var rows [][]string
	for _, g := range names {
		rows = append(rows, []string{g, listed[g].State})
	}
	writeTable(out, []string{"GROUP", "STATE"}, rows)
	return nil
}

func describeGroups(ctx context.Context, adm *client.Admin, out io.Writer, o *groupsOpts, groups []string) error {
	var missing []string
	if o.members || o.state {
		described, err := adm.DescribeGroups(ctx, groups...)
		if err != nil {
			return failuref("describing groups: %v", err)
		}
		status := func(d kadm.DescribedGroup) (string, string, error) {
			if d.Err == nil {
				return d.State, "", nil
			}
			return d.State, kafkaError(d.Err, d.ErrMessage), d.Err
		}
		err = eachExistingGroup(out, groups, described, status, &missing, func(g string, d kadm.DescribedGroup) {
			if o.state {
				writeTable(out, []string{"GROUP", "COORDINATOR (ID)", "ASSIGNMENT-STRATEGY", "STATE", "#MEMBERS"}, [][]string{{
					g, fmt.Sprintf("%s:%d (%d)", d.Coordinator.Host, d.Coordinator.Port, d.Coordinator.NodeID), d.Protocol, d.State, strconv.Itoa(len(d.Members)),
				}})
				return
			}
			if len(d.Members) == 0 {
				fmt.Fprintf(out, "Consumer group '%s' has no active members.\n", g)
				return
			}
			writeMembers(out, g, d.Members, o.verbose)
		})
		if err != nil {
			return err
		}
	} else {
		lags, err := adm.Lag(ctx, groups...)
		if err != nil {
			return failuref("describing groups: %v", err)
		}
		status := func(l kadm.DescribedGroupLag) (string, string, error) {
			return l.State, fmt.Sprint(l.Error()), l.Error()
		}
		err = eachExistingGroup(out, groups, lags, status, &missing, func(g string, l kadm.DescribedGroupLag) {
			switch l.State {
			case "Empty":
				fmt.Fprintf(out, "Consumer group '%s' has no active members.\n\n", g)
			case "PreparingRebalance", "CompletingRebalance":
				fmt.Fprintf(out, "Warning: Consumer group '%s' is rebalancing.\n\n", g)
			}
			writeTable(out, []string{"GROUP", "TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG", "CONSUMER-ID", "HOST", "CLIENT-ID"}, lagRows(g, l))
		})
		if err != nil {
			return err
		}
	}
	if len(missing) > 0 {
		if len(missing) == 1 {
			return failuref("consumer group %s does not exist (see 'rivulet groups --list')", quoteList(missing))
		}
		return failuref("consumer groups %s do not exist (see 'rivulet groups --list')", quoteList(missing))
	}
	return nil
}

// eachExistingGroup shows, in the order asked, each of groups that the broker's answer
// describes (after a blank line). A group that does not exist (GROUP_ID_NOT_FOUND, or
// Dead) is added to missing instead; a group missing from the answer or with another error
// fails. status gives a group's state, the wording of its error, and the error.
func eachExistingGroup[G any](out io.Writer, groups []string, answer map[string]G, status func(G) (string, string, error), missing *[]string, show func(string, G)) error {
	for _, g := range groups {
		d, ok := answer[g]
		if !ok {
			return failuref("group %s: not in the broker's answer", g)
		}
		state, wording, err := status(d)
		if errors.Is(err, kerr.GroupIDNotFound) || state == "Dead" {
			*missing = append(*missing, g)
			continue
		}
		if err != nil {
			return failuref("describing group %s: %s", g, wording)
		}
		fmt.Fprintln(out)
		show(g, d)
	}
	return nil
}

// lagRows are the --describe rows of one group: a row per partition with a commit or an
// owner, then a row per member that owns nothing, as kafka-consumer-groups.sh prints.
func lagRows(group string, l kadm.DescribedGroupLag) [][]string {
	var rows [][]string
	owning := map[string]bool{}
	for _, ml := range l.Lag.Sorted() {
		if ml.Commit.At < 0 && ml.Member == nil {
			continue // neither committed nor owned: kafka-consumer-groups.sh shows no row
		}
		current, lag := "-", "-"
		if ml.Commit.At >= 0 {
			current = strconv.FormatInt(ml.Commit.At, 10)
			if ml.Lag >= 0 {
				lag = strconv.FormatInt(ml.Lag, 10)
			}
		}
		end := "-"
		if ml.End.Err == nil && ml.End.Offset >= 0 {
			end = strconv.FormatInt(ml.End.Offset, 10)
		}
		member, host, clientID := "-", "-", "-"
		if ml.Member != nil {
			member, host, clientID = ml.Member.MemberID, ml.Member.ClientHost, ml.Member.ClientID
			owning[ml.Member.MemberID] = true
		}
		rows = append(rows, []string{group, ml.Topic, strconv.Itoa(int(ml.Partition)), current, end, lag, member, host, clientID})
	}
	for _, m := range l.Members {
		if !owning[m.MemberID] {
			rows = append(rows, []string{group, "-", "-", "-", "-", "-", m.MemberID, m.ClientHost, m.ClientID})
		}
	}
	return rows
}

func writeMembers(out io.Writer, group string, members []kadm.DescribedGroupMember, verbose bool) {
	header := []string{"GROUP", "CONSUMER-ID", "HOST", "CLIENT-ID", "#PARTITIONS"}
	if verbose {
		header = append(header, "ASSIGNMENT")
	}
	var rows [][]string
	for _, m := range members {
		n := 0
		var parts []string
		if c, ok := m.Assigned.AsConsumer(); ok {
			topics := append(c.Topics[:0:0], c.Topics...)
			sort.Slice(topics, func(i, j int) bool { return topics[i].Topic < topics[j].Topic })
			for _, t := range topics {
				n += len(t.Partitions)
				ps := append([]int32{}, t.Partitions...)
				sort.Slice(ps, func(i, j int) bool { return ps[i] < ps[j] })
				parts = append(parts, fmt.Sprintf("%s(%s)", t.Topic, joinInt32s(ps)))
			}
		}
		row := []string{group, m.MemberID, m.ClientHost, m.ClientID, strconv.Itoa(n)}
		if verbose {
			a := strings.Join(parts, ",")
			if a == "" {
				a = "-"
			}
			row = append(row, a)
		}
		rows = append(rows, row)
	}
	writeTable(out, header, rows)
}

func quoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = "'" + n + "'"
	}
	return strings.Join(q, ", ")
}

func deleteGroups(ctx context.Context, adm *client.Admin, out io.Writer, groups []string) error {
	resps, err := adm.DeleteGroups(ctx, groups...)
	if err != nil {
		return failuref("deleting groups: %v", err)
	}
	var ok, failed []string
	for _, g := range groups {
		r, found := resps[g]
		switch {
		case !found:
			failed = append(failed, fmt.Sprintf("* Group '%s' could not be deleted: not in the broker's answer", g))
		case errors.Is(r.Err, kerr.NonEmptyGroup):
			failed = append(failed, fmt.Sprintf("* Group '%s' could not be deleted: it has active members (stop them first)", g))
		case errors.Is(r.Err, kerr.GroupIDNotFound):
			failed = append(failed, fmt.Sprintf("* Group '%s' could not be deleted: it does not exist", g))
		case r.Err != nil:
			failed = append(failed, fmt.Sprintf("* Group '%s' could not be deleted due to: %s", g, kafkaError(r.Err, r.ErrMessage)))
		default:
			ok = append(ok, g)
		}
	}
	if len(failed) == 0 {
		fmt.Fprintf(out, "Deletion of requested consumer groups (%s) was successful.\n", quoteList(ok))
		return nil
	}
	if len(ok) > 0 {
		fmt.Fprintf(out, "These consumer groups were deleted successfully: %s\n", quoteList(ok))
	}
	return failuref("deletion of some consumer groups failed:\n%s", strings.Join(failed, "\n"))
}

// topicSelection maps a topic to the partitions named for it (nil: all of them).
type topicSelection map[string][]int32

var topicPartRE = regexp.MustCompile(`^([^:]+)(?::([0-9]+(?:,[0-9]+)*))?$`)

// parseTopicPartitions reads --topic values: "T" or "T:0,1,2".
func parseTopicPartitions(values []string) (topicSelection, error) {
	sel := topicSelection{}
	for _, v := range values {
		m := topicPartRE.FindStringSubmatch(strings.TrimSpace(v))
		if m == nil {
			return nil, fmt.Errorf("--topic %q: want TOPIC or TOPIC:PARTITION[,PARTITION...]", v)
		}
		topic := m[1]
		if m[2] == "" {
			sel[topic] = nil
			continue
		}
		if prev, ok := sel[topic]; ok && prev == nil {
			continue // the whole topic already
		}
		for _, p := range strings.Split(m[2], ",") {
			n, err := strconv.ParseInt(p, 10, 32)
			if err != nil {
				return nil, fmt.Errorf("--topic %q: bad partition %q", v, p)
			}
			sel[topic] = append(sel[topic], int32(n))
		}
	}
	return sel, nil
}

// resetKind is the --reset-offsets target.
type resetKind int

const (
	resetEarliest resetKind = iota
	resetLatest
	resetCurrent
	resetToOffset
	resetShiftBy
	resetToTime
)

type resetSpec struct {
	kind   resetKind
	offset int64 // resetToOffset
	shift  int64 // resetShiftBy
	millis int64 // resetToTime
}

func (o *groupsOpts) resetTargetGiven(cmd *cobra.Command) bool {
	fl := cmd.Flags()
	return o.toEarliest || o.toLatest || o.toCurrent || fl.Changed("to-offset") || fl.Changed("shift-by") || o.toDatetime != "" || o.byDuration != ""
}

func (o *groupsOpts) resetSpec(cmd *cobra.Command) (resetSpec, error) {
	fl := cmd.Flags()
	var spec resetSpec
	n := 0
	if o.toEarliest {
		n++
		spec.kind = resetEarliest
	}
	if o.toLatest {
		n++
		spec.kind = resetLatest
	}
	if o.toCurrent {
		n++
		spec.kind = resetCurrent
	}
	if fl.Changed("to-offset") {
		n++
		if o.toOffset < 0 {
			return spec, usageErrorf(cmd, "--to-offset must be 0 or more")
		}
		spec.kind, spec.offset = resetToOffset, o.toOffset
	}
	if fl.Changed("shift-by") {
		n++
		spec.kind, spec.shift = resetShiftBy, o.shiftBy
	}
	if o.toDatetime != "" {
		n++
		t, err := parseKafkaDatetime(o.toDatetime, time.Local)
		if err != nil {
			return spec, usageErrorf(cmd, "--to-datetime: %v", err)
		}
		spec.kind, spec.millis = resetToTime, t.UnixMilli()
	}
	if o.byDuration != "" {
		n++
		d, err := parseISODuration(o.byDuration)
		if err != nil {
			return spec, usageErrorf(cmd, "--by-duration: %v", err)
		}
		spec.kind, spec.millis = resetToTime, time.Now().Add(-d).UnixMilli()
	}
	if n != 1 {
		return spec, usageErrorf(cmd, "--reset-offsets needs exactly one target: --to-earliest, --to-latest, --to-current, --to-offset, --shift-by, --to-datetime or --by-duration")
	}
	if o.dryRun && o.execute {
		return spec, usageErrorf(cmd, "give --dry-run or --execute, not both")
	}
	if len(o.topics) == 0 && !o.allTopics {
		return spec, usageErrorf(cmd, "--reset-offsets needs --topic T[:partitions] or --all-topics")
	}
	if len(o.topics) > 0 && o.allTopics {
		return spec, usageErrorf(cmd, "give --topic or --all-topics, not both")
	}
	return spec, nil
}

// parseKafkaDatetime reads kafka-consumer-groups.sh's --to-datetime format,
// YYYY-MM-DDTHH:mm:SS.sss, with the milliseconds optional and an optional zone (Z, +hh:mm,
// +hhmm); without a zone the time is in loc.
func parseKafkaDatetime(s string, loc *time.Location) (time.Time, error) {
	for _, layout := range []string{"2006-01-02T15:04:05.000Z07:00", "2006-01-02T15:04:05Z07:00", "2006-01-02T15:04:05.000Z0700", "2006-01-02T15:04:05Z0700"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	for _, layout := range []string{"2006-01-02T15:04:05.000", "2006-01-02T15:04:05"} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q: want YYYY-MM-DDTHH:mm:SS.sss, optionally followed by Z or +hh:mm", s)
}

var isoDurationRE = regexp.MustCompile(`^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$`)

// parseISODuration reads the PnDTnHnMnS durations of --by-duration.
func parseISODuration(s string) (time.Duration, error) {
	m := isoDurationRE.FindStringSubmatch(strings.ToUpper(s))
	if m == nil || s == "P" || strings.HasSuffix(strings.ToUpper(s), "T") {
		return 0, fmt.Errorf("%q: want an ISO-8601 duration such as P1DT2H30M or PT15M", s)
	}
	var d time.Duration
	units := []time.Duration{24 * time.Hour, time.Hour, time.Minute}
	for i, u := range units {
		if m[i+1] == "" {
			continue
		}
		n, err := strconv.ParseInt(m[i+1], 10, 64)
		if err != nil || n > int64(1<<62)/int64(u) {
			return 0, fmt.Errorf("%q: too long", s)
		}
		d += time.Duration(n) * u
	}
	if m[4] != "" {
		f, err := strconv.ParseFloat(m[4], 64)
		if err != nil || f > 1e9 {
			return 0, fmt.Errorf("%q: too long", s)
		}
		d += time.Duration(f * float64(time.Second))
	}
	return d, nil
}

// partitionState is what a reset target is computed from; -1 means unknown or none.
type partitionState struct {
	start, end, committed, atTime int64
}

// newOffset computes one partition's reset target, kept within [start, end] as Kafka does.
func (spec resetSpec) newOffset(ps partitionState) (int64, error) {
	var target int64
	switch spec.kind {
	case resetEarliest:
		target = ps.start
	case resetLatest:
		target = ps.end
	case resetCurrent:
		if ps.committed < 0 {
			return 0, errors.New("has no committed offset")
		}
		target = ps.committed
	case resetToOffset:
		target = spec.offset
	case resetShiftBy:
		if ps.committed < 0 {
			return 0, errors.New("has no committed offset to shift from")
		}
		target = ps.committed + spec.shift
		if spec.shift > 0 && target < ps.committed { // overflow
			target = ps.end
		}
	case resetToTime:
		target = ps.atTime
		if target < 0 {
			target = ps.end
		}
	}
	if ps.start >= 0 && target < ps.start {
		target = ps.start
	}
	if ps.end >= 0 && target > ps.end {
		target = ps.end
	}
	return target, nil
}

func resetOffsets(ctx context.Context, adm *client.Admin, cmd *cobra.Command, o *groupsOpts, spec resetSpec, groups []string, sel topicSelection) error {
	out := cmd.OutOrStdout()
	described, err := adm.DescribeGroups(ctx, groups...)
	if err != nil {
		return failuref("describing groups: %v", err)
	}
	for _, g := range groups {
		d := described[g]
		if errors.Is(d.Err, kerr.GroupIDNotFound) {
			continue // a group that does not exist yet can be given offsets
		}
		if d.Err != nil {
			return failuref("describing group %s: %s", g, kafkaError(d.Err, d.ErrMessage))
		}
		if d.State != "Empty" && d.State != "Dead" && d.State != "" {
			return failuref("offsets can only be reset when group '%s' has no active members, but its state is %s (stop its consumers first)", g, d.State)
		}
	}
	if !o.execute && !o.dryRun {
		fmt.Fprintln(cmd.ErrOrStderr(), "rivulet: warning: no --execute, so nothing changes: this is a dry run (add --dry-run to say so, or --execute to commit)")
	}
	var failed []string
	for _, g := range groups {
		committed, err := adm.FetchOffsets(ctx, g)
		if err != nil {
			return failuref("fetching offsets of group %s: %v", g, err)
		}
		groupSel := sel
		if o.allTopics {
			groupSel = topicSelection{}
			committed.Each(func(r kadm.OffsetResponse) { groupSel[r.Topic] = append(groupSel[r.Topic], r.Partition) })
			if len(groupSel) == 0 {
				fmt.Fprintf(cmd.ErrOrStderr(), "rivulet: group '%s' has no committed offsets; nothing to reset\n", g)
				continue
			}
		}
		plan, err := planReset(ctx, adm, spec, groupSel, committed)
		if err != nil {
			return err
		}
		var rows [][]string
		plan.Each(func(off kadm.Offset) {
			rows = append(rows, []string{g, off.Topic, strconv.Itoa(int(off.Partition)), strconv.FormatInt(off.At, 10)})
		})
		sortByTopicPartition(rows, 1)
		fmt.Fprintln(out)
		writeTable(out, []string{"GROUP", "TOPIC", "PARTITION", "NEW-OFFSET"}, rows)
		if !o.execute {
			continue
		}
		resps, err := adm.CommitOffsets(ctx, g, plan)
		if err != nil {
			return failuref("committing offsets of group %s: %v", g, err)
		}
		resps.EachError(func(r kadm.OffsetResponse) {
			failed = append(failed, fmt.Sprintf("group %s %s[%d]: %v", g, r.Topic, r.Partition, r.Err))
		})
	}
	if len(failed) > 0 {
		sort.Strings(failed)
		return failuref("resetting offsets failed:\n  %s", strings.Join(failed, "\n  "))
	}
	return nil
}

// planReset computes the new offsets of the selected partitions.
func planReset(ctx context.Context, adm *client.Admin, spec resetSpec, sel topicSelection, committed kadm.OffsetResponses) (kadm.Offsets, error) {
	topics := make([]string, 0, len(sel))
	for t := range sel {
		topics = append(topics, t)
	}
	sort.Strings(topics)
	details, err := adm.ListTopics(ctx, topics...)
	if err != nil {
		return nil, failuref("looking up topics: %v", err)
	}
	starts, err := adm.ListStartOffsets(ctx, topics...)
	if err != nil {
		return nil, failuref("listing log start offsets: %v", err)
	}
	ends, err := adm.ListEndOffsets(ctx, topics...)
	if err != nil {
		return nil, failuref("listing log end offsets: %v", err)
	}
	var atTime kadm.ListedOffsets
	if spec.kind == resetToTime {
		if atTime, err = adm.ListOffsetsAfterMilli(ctx, spec.millis, topics...); err != nil {
			return nil, failuref("listing offsets by time: %v", err)
		}
	}
	plan := kadm.Offsets{}
	for _, t := range topics {
		td, ok := details[t]
		if !ok || td.Err != nil {
			return nil, failuref("topic '%s' does not exist (see 'rivulet topics --list')", t)
		}
		parts := sel[t]
		if parts == nil {
			parts = td.Partitions.Numbers()
		}
		for _, p := range parts {
			if _, ok := td.Partitions[p]; !ok {
				return nil, failuref("topic '%s' has no partition %d", t, p)
			}
			ps := partitionState{start: -1, end: -1, committed: -1, atTime: -1}
			if lo, ok := starts.Lookup(t, p); ok && lo.Err == nil {
				ps.start = lo.Offset
			}
			if lo, ok := ends.Lookup(t, p); ok && lo.Err == nil {
				ps.end = lo.Offset
			}
			if c, ok := committed.Lookup(t, p); ok && c.Err == nil {
				ps.committed = c.At
			}
			if atTime != nil {
				if lo, ok := atTime.Lookup(t, p); ok && lo.Err == nil {
					ps.atTime = lo.Offset
				}
			}
			if ps.start < 0 || ps.end < 0 {
				return nil, failuref("cannot read the log start and end offsets of %s[%d]", t, p)
			}
			at, err := spec.newOffset(ps)
			if err != nil {
				return nil, failuref("%s[%d] %v", t, p, err)
			}
			plan.Add(kadm.Offset{Topic: t, Partition: p, At: at, LeaderEpoch: -1})
		}
	}
	return plan, nil
}

func deleteGroupOffsets(ctx context.Context, adm *client.Admin, out io.Writer, group string, sel topicSelection) error {
	set := kadm.TopicsSet{}
	var whole []string
	for t, ps := range sel {
		if ps == nil {
			whole = append(whole, t)
			continue
		}
		set.Add(t, ps...)
	}
	if len(whole) > 0 {
		details, err := adm.ListTopics(ctx, whole...)
		if err != nil {
			return failuref("looking up topics: %v", err)
		}
		for _, t := range whole {
			td, ok := details[t]
			if !ok || td.Err != nil {
				return failuref("topic '%s' does not exist (see 'rivulet topics --list')", t)
			}
			set.Add(t, td.Partitions.Numbers()...)
		}
	}
	resps, err := adm.DeleteOffsets(ctx, group, set)
	if err != nil {
		if errors.Is(err, kerr.GroupSubscribedToTopic) {
			return failuref("group '%s' is still consuming these topics; stop its consumers first", group)
		}
		return failuref("deleting offsets of group %s: %v", group, err)
	}
	var rows [][]string
	failures := 0
	set.Each(func(t string, p int32) {
		status := "Successful"
		if e, ok := resps.Lookup(t, p); ok && e != nil {
			status = "Error: " + e.Error()
			failures++
		}
		rows = append(rows, []string{t, strconv.Itoa(int(p)), status})
	})
	sortByTopicPartition(rows, 0)
	writeTable(out, []string{"TOPIC", "PARTITION", "STATUS"}, rows)
	if failures > 0 {
		return failuref("deleting offsets failed for %d partition(s)", failures)
	}
	return nil
}

// sortByTopicPartition sorts table rows by the topic in column topicCol, then by the
// partition number in the column after it.
func sortByTopicPartition(rows [][]string, topicCol int) {
	sort.Slice(rows, func(i, j int) bool {
		if rows[i][topicCol] != rows[j][topicCol] {
			return rows[i][topicCol] < rows[j][topicCol]
		}
		a, _ := strconv.Atoi(rows[i][topicCol+1])
		b, _ := strconv.Atoi(rows[j][topicCol+1])
		return a < b
	})
}
