package harness

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rivulet-io/rivulet/internal/term"
)

// Progress shows how far a long phase has come, on stderr. On a terminal it
// redraws one bar in place ("\r") four times a second; otherwise (a pipe, a
// CI log) it prints a plain line every PlainInterval, so logs stay readable.
//
// The project writes its own (about 100 lines) instead of importing a
// progress-bar module: it needs the plain-line mode for logs, a rate and an
// ETA in the bench's units, and one owner goroutine per phase that Done
// stops and waits for; the widespread modules draw for terminals first.
//
// A nil *Progress is valid and shows nothing.
type Progress struct {
	w     io.Writer
	tty   bool
	plain time.Duration
	mu    sync.Mutex // serializes writes to w
}

// NewProgress returns a Progress writing to w, as a redrawn bar when tty is
// true and as plain periodic lines otherwise (see IsTerminal).
func NewProgress(w io.Writer, tty bool) *Progress {
	return &Progress{w: w, tty: tty, plain: 5 * time.Second}
}

// SetPlainInterval sets how often plain (non-terminal) mode prints a line.
// The default value is 5s.
func (p *Progress) SetPlainInterval(d time.Duration) {
	if p != nil && d > 0 {
		p.plain = d
	}
}

// IsTerminal reports whether w is a character device (a terminal), the
// usual test for whether to draw in place.
func IsTerminal(w io.Writer) bool { return term.IsTerminal(w) }

// Bar is one phase in progress. Set or Add its count from any goroutine;
// Done stops its drawing goroutine and prints the final line.
type Bar struct {
	p     *Progress
	title string
	unit  string
	total int64
	n     atomic.Int64
	start time.Time
	stop  chan struct{}
	wg    sync.WaitGroup
	once  sync.Once
}

// Start begins a phase of total units (0 if unknown) and draws it until Done.
func (p *Progress) Start(title string, total int64, unit string) *Bar {
	b := &Bar{p: p, title: title, unit: unit, total: total, start: time.Now(), stop: make(chan struct{})}
	if p == nil {
		return b
	}
	every := p.plain
	if p.tty {
		every = 250 * time.Millisecond
	}
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-b.stop:
				return
			case <-t.C:
				b.draw(false)
			}
		}
	}()
	return b
}

// Set sets the count done so far.
func (b *Bar) Set(n int64) { b.n.Store(n) }

// Add adds n to the count done so far.
func (b *Bar) Add(n int64) { b.n.Add(n) }

// Done stops the bar and prints its last line. It is safe to call twice.
func (b *Bar) Done() {
	b.once.Do(func() {
		close(b.stop)
		b.wg.Wait()
		if b.p != nil {
			b.draw(true)
		}
	})
}

const barWidth = 24

func (b *Bar) draw(final bool) {
	n := b.n.Load()
	el := time.Since(b.start)
	rate := float64(n) / el.Seconds()
	var s strings.Builder
	s.WriteString(b.title)
	if b.total > 0 {
		frac := min(float64(n)/float64(b.total), 1)
		fill := int(frac * barWidth)
		fmt.Fprintf(&s, " [%s%s] %3.0f%% %s/%s %s", strings.Repeat("=", fill), strings.Repeat(" ", barWidth-fill),
			frac*100, Human(float64(n)), Human(float64(b.total)), b.unit)
	} else {
		fmt.Fprintf(&s, " %s %s", Human(float64(n)), b.unit)
	}
	fmt.Fprintf(&s, " %s/s %s", Human(rate), el.Round(100*time.Millisecond))
	if !final && b.total > 0 && n > 0 && n < b.total {
		eta := time.Duration(float64(b.total-n) / rate * float64(time.Second))
		fmt.Fprintf(&s, " eta %s", eta.Round(time.Second))
	}
	b.p.mu.Lock()
	defer b.p.mu.Unlock()
	switch {
	case b.p.tty && final:
		fmt.Fprintf(b.p.w, "\r\033[K%s\n", s.String())
	case b.p.tty:
		fmt.Fprintf(b.p.w, "\r\033[K%s", s.String())
	default:
		fmt.Fprintln(b.p.w, s.String())
	}
}

// Human formats v with a k/M/G suffix and three significant digits.
func Human(v float64) string {
	switch {
	case v >= 1e9:
		return fmt.Sprintf("%.3gG", v/1e9)
	case v >= 1e6:
		return fmt.Sprintf("%.3gM", v/1e6)
	case v >= 999.5: // %.3g would round 999.5-999.9 to "1e+03"
		return fmt.Sprintf("%.3gk", v/1e3)
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	default:
		return fmt.Sprintf("%.3g", v)
	}
}
