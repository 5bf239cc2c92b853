package harness

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// Row is one line of the result table: one measure of Rivulet's side
// (brokerlite, or Rivulet's streams runtime) against a peer in the same run.
type Row struct {
	Bench string // what was measured, e.g. "produce 100 B, acks=1"
	Unit  string // e.g. "records/s", "ms"
	Ours  string // Rivulet's side, e.g. "brokerlite"
	Peer  string // the peer, e.g. "kfake"

	OursValue, PeerValue float64
	// LowerIsBetter is true for latencies: the ratio is then peer/ours.
	LowerIsBetter bool
	// Goal is the ratio the project aims at (0: none).
	Goal float64
}

// Ratio is how many times better Rivulet's side did: ours/peer for
// throughputs, peer/ours for latencies; above 1 means Rivulet's side won.
func (r Row) Ratio() float64 {
	if r.LowerIsBetter {
		if r.OursValue == 0 {
			return 0
		}
		return r.PeerValue / r.OursValue
	}
	if r.PeerValue == 0 {
		return 0
	}
	return r.OursValue / r.PeerValue
}

// Verdict words the ratio against the goal: "met", "NOT MET" or "".
func (r Row) Verdict() string {
	switch {
	case r.Goal == 0:
		return ""
	case r.Ratio() >= r.Goal:
		return "met"
	default:
		return "NOT MET"
	}
}

func formatValue(v float64, unit string) string {
	if strings.HasSuffix(unit, "/s") {
		return Human(v)
	}
	return fmt.Sprintf("%.3g", v)
}

func goalText(r Row) string {
	if r.Goal == 0 {
		return "-"
	}
	return fmt.Sprintf(">= %.1fx (%s)", r.Goal, r.Verdict())
}

// PrintTable writes rows as an aligned text table.
func PrintTable(w io.Writer, rows []Row) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "benchmark\tunit\trivulet side\tpeer\tratio\tgoal")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s %s\t%s %s\t%.2fx\t%s\n", r.Bench, r.Unit,
			r.Ours, formatValue(r.OursValue, r.Unit), r.Peer, formatValue(r.PeerValue, r.Unit), r.Ratio(), goalText(r))
	}
	tw.Flush()
}

// MarkdownTable returns rows as a Markdown table.
func MarkdownTable(rows []Row) string {
	var b strings.Builder
	b.WriteString("| benchmark | unit | rivulet side | peer | ratio (>1: rivulet side better) | goal |\n")
	b.WriteString("|---|---|---|---|---|---|\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "| %s | %s | %s %s | %s %s | %.2fx | %s |\n", r.Bench, r.Unit,
			r.Ours, formatValue(r.OursValue, r.Unit), r.Peer, formatValue(r.PeerValue, r.Unit), r.Ratio(), goalText(r))
	}
	return b.String()
}
