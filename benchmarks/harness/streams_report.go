package harness

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// streamsSystems is the column order of the streams tables.
var streamsSystems = []string{SystemRivulet, SystemFranz, SystemGoka}

// tableRows returns the per-case table of a streams run, a row of cells per
// case: records/s and MB/s of each system, and Rivulet's ratio to each
// peer.
func (r *StreamsResult) tableRows() [][]string {
	var rows [][]string
	seen := map[string]bool{}
	for _, run := range r.Runs {
		if seen[run.Case] {
			continue
		}
		seen[run.Case] = true
		row := []string{run.Case}
		riv, hasRiv := r.Run(run.Case, SystemRivulet)
		for _, sys := range streamsSystems {
			x, ok := r.Run(run.Case, sys)
			if !ok {
				row = append(row, r.missingCell(run.Case, sys))
				continue
			}
			row = append(row, fmt.Sprintf("%s (%.1f MB/s)", Human(x.RecordsPerSecond()), x.MBPerSecond()))
		}
		for _, peer := range []string{SystemFranz, SystemGoka} {
			x, ok := r.Run(run.Case, peer)
			if !ok || !hasRiv {
				row = append(row, "-")
				continue
			}
			row = append(row, fmt.Sprintf("%.2fx", riv.RecordsPerSecond()/x.RecordsPerSecond()))
		}
		if r.hasEOS() {
			x, ok := r.Run(run.Case, SystemRivuletEOS)
			if !ok {
				row = append(row, r.missingCell(run.Case, SystemRivuletEOS), "-")
			} else {
				row = append(row, fmt.Sprintf("%s (%.1f MB/s)", Human(x.RecordsPerSecond()), x.MBPerSecond()), "-")
				if hasRiv {
					row[len(row)-1] = fmt.Sprintf("%.2fx", x.RecordsPerSecond()/riv.RecordsPerSecond())
				}
			}
		}
		rows = append(rows, row)
	}
	return rows
}

// missingCell is the cell of a run with no figures: "failed" when it
// failed, "-" when it did not run.
func (r *StreamsResult) missingCell(c, system string) string {
	if r.failed(c, system) {
		return "failed"
	}
	return "-"
}

var streamsTableHeader = []string{"case", "rivulet records/s", "franz-go records/s", "goka records/s", "rivulet / franz-go", "rivulet / goka"}

// hasEOS reports whether Rivulet also ran under exactly_once_v2.
func (r *StreamsResult) hasEOS() bool {
	for _, run := range r.Runs {
		if run.System == SystemRivuletEOS {
			return true
		}
	}
	return false
}

// tableHeader is the header of tableRows: with exactly-once runs, two more
// columns (their records/s, and their ratio to the at-least-once run).
func (r *StreamsResult) tableHeader() []string {
	h := slices.Clone(streamsTableHeader)
	if r.hasEOS() {
		h = append(h, "rivulet exactly_once_v2 records/s", "exactly_once_v2 / at_least_once")
	}
	return h
}

// PrintStreams writes the per-case table of a streams run as aligned text.
func PrintStreams(w io.Writer, r *StreamsResult) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(r.tableHeader(), "\t"))
	for _, row := range r.tableRows() {
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	tw.Flush()
	for _, run := range r.Runs {
		if run.Warning != "" {
			fmt.Fprintf(w, "warning (%s on %s): %s\n", run.Case, run.System, oneLine(run.Warning))
		}
		if run.Failed != "" {
			fmt.Fprintf(w, "FAILED (%s on %s): %s\n", run.Case, run.System, oneLine(run.Failed))
		}
	}
}

// StreamsMarkdown returns the streams suite's section of RESULTS.md.
func (r *Result) StreamsMarkdown(command, plot string) string {
	var b strings.Builder
	s := r.Streams
	r.header(&b, StreamsResultsHeading, command, plot, s.Rows)
	c := r.StreamsSettings
	header := s.tableHeader()
	b.WriteString("| " + strings.Join(header, " | ") + " |\n|" + strings.Repeat("---|", len(header)) + "\n")
	for _, row := range s.tableRows() {
		b.WriteString("| " + strings.Join(row, " | ") + " |\n")
	}
	b.WriteString("\nElapsed per run: ")
	var parts []string
	for _, run := range s.Runs {
		if run.Failed != "" {
			parts = append(parts, fmt.Sprintf("%s/%s failed", run.Case, run.System))
			continue
		}
		parts = append(parts, fmt.Sprintf("%s/%s %s", run.Case, run.System, run.Elapsed.Round(10*time.Millisecond)))
	}
	b.WriteString(strings.Join(parts, ", ") + ".\n")
	for _, run := range s.Runs {
		if run.Warning != "" {
			fmt.Fprintf(&b, "\nWarning (%s on %s): %s\n", run.Case, run.System, oneLine(run.Warning))
		}
		if run.Failed != "" {
			fmt.Fprintf(&b, "\nFailed (%s on %s): %s\n", run.Case, run.System, oneLine(run.Failed))
		}
	}
	fmt.Fprintf(&b, "\nInput, written once to one brokerlite (%d partitions per topic) and read by every run: %d records with keys "+
		"Zipf-distributed (s=%.2f) over %d keys and %d-byte values, one millisecond of event time apart; for the two-sided joins a second "+
		"stream of %d records over the same keys; for the stream-table join a table of every other key; for the many-keys count "+
		"%d distinct user ids, one record in ten repeating an earlier id. Seed %d.\n\n",
		c.Partitions, c.Records, c.ZipfS, c.Keys, c.ValueSize, c.Records/4, c.DistinctKeys, c.Seed)
	b.WriteString("Cases:\n\n")
	for _, name := range c.Cases {
		fmt.Fprintf(&b, "- %s: %s\n", name, StreamsCaseDescriptions[name])
	}
	fmt.Fprintf(&b, "\nEach run is timed from the system's start until its output is complete and equal to the output computed from the "+
		"input alone (counts, windowed counts, store writes, join results); a wrong or extra result fails the run. Records/s and MB/s "+
		"count the input records (keys and values) a case reads.\n\n")
	fmt.Fprintf(&b, "- Rivulet: the streams DSL (the Processor API for the key-value store case), num.stream.threads=%d, "+
		"commit.interval.ms=%d, at-least-once, producer acks=1, everything else the runtime's defaults (record cache, Badger stores with changelogs).\n",
		c.Threads, c.CommitInterval.Milliseconds())
	if s.hasEOS() {
		fmt.Fprintf(&b, "- Rivulet exactly_once_v2: the same application under processing.guarantee=exactly_once_v2 (transactions, "+
			"idempotent producer with acks=all, the same commit.interval.ms=%d), run right after the at-least-once run of each case; "+
			"the harness reads its output read_committed.\n", c.CommitInterval.Milliseconds())
	}
	fmt.Fprintf(&b, "- franz-go: a hand-written program per case: one consumer group member, %d worker goroutines owning partitions, "+
		"state in Go maps, changed counts and table joins written every %s, offsets committed every %s; no changelog (the practical bound).\n",
		c.Threads, c.CommitInterval, c.CommitInterval)
	b.WriteString("- goka v1.1.14: one processor per case where goka can do the same work (no windows, no stream-stream or table-table joins); " +
		"`goka.DefaultConfig()` with streams read from the oldest offset, LevelDB storage, counts in its group table (which is its output), " +
		"the stream-table join through `goka.Join`.\n\n")
	return b.String()
}
