package client

import (
	"log/slog"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

func init() {
	// Errors are impossible here: the names are fixed and registered once.
	_ = RegisterProducerInterceptor(TimestampHeaderName, func() ProducerInterceptor { return &TimestampHeaderInterceptor{} })
	_ = RegisterProducerInterceptor(CountingName, func() ProducerInterceptor { return &CountingInterceptor{} })
}

// Names of the example interceptors in the interceptor.classes registry.
const (
	TimestampHeaderName = "timestamp-header"
	CountingName        = "counting"
)

// TimestampHeaderProperty names the header TimestampHeaderInterceptor writes
// (default "rivulet-sent-at").
const TimestampHeaderProperty = "interceptor.timestamp.header"

// TimestampHeaderInterceptor is an example producer interceptor: OnSend adds a header holding
// the send time in Unix milliseconds (decimal ASCII), so a consumer can measure end-to-end
// latency. Registered as "timestamp-header".
type TimestampHeaderInterceptor struct {
	// Header is the header key; Configure sets it from interceptor.timestamp.header, and it
	// defaults to "rivulet-sent-at".
	Header string
	// Now is the clock; nil means time.Now. Tests inject a fixed clock.
	Now func() time.Time
}

// Configure reads interceptor.timestamp.header.
func (t *TimestampHeaderInterceptor) Configure(props Properties) error {
	if h, ok := props[TimestampHeaderProperty]; ok && h != "" {
		t.Header = h
	}
	if t.Header == "" {
		t.Header = "rivulet-sent-at"
	}
	return nil
}

// OnSend appends the header to r and returns it.
func (t *TimestampHeaderInterceptor) OnSend(r *kgo.Record) (*kgo.Record, error) {
	now := time.Now
	if t.Now != nil {
		now = t.Now
	}
	r.Headers = append(r.Headers, kgo.RecordHeader{
		Key:   t.Header,
		Value: strconv.AppendInt(nil, now().UnixMilli(), 10),
	})
	return r, nil
}

// OnAcknowledgement does nothing.
func (t *TimestampHeaderInterceptor) OnAcknowledgement(RecordMetadata, error) {}

// Close does nothing.
func (t *TimestampHeaderInterceptor) Close() error { return nil }

// CountingInterceptor is an example producer interceptor: it counts acknowledged and failed
// sends with atomics (cheap enough for the promise goroutine) and reports the totals when the
// producer closes, to Report if set, else as one slog line. Registered as "counting".
type CountingInterceptor struct {
	// Logger receives the report on Close when Report is nil; nil means slog.Default().
	Logger *slog.Logger
	// Report, if set, receives the totals on Close instead of the log line.
	Report func(succeeded, failed int64)

	sent, succeeded, failed atomic.Int64
}

// Configure does nothing; the interceptor has no settings.
func (c *CountingInterceptor) Configure(Properties) error { return nil }

// OnSend counts the record as sent and leaves it unchanged.
func (c *CountingInterceptor) OnSend(r *kgo.Record) (*kgo.Record, error) {
	c.sent.Add(1)
	return r, nil
}

// OnAcknowledgement counts a success or a failure.
func (c *CountingInterceptor) OnAcknowledgement(_ RecordMetadata, err error) {
	if err != nil {
		c.failed.Add(1)
	} else {
		c.succeeded.Add(1)
	}
}

// Counts returns the records sent, acknowledged and failed so far.
func (c *CountingInterceptor) Counts() (sent, succeeded, failed int64) {
	return c.sent.Load(), c.succeeded.Load(), c.failed.Load()
}

// Close reports the totals.
func (c *CountingInterceptor) Close() error {
	sent, ok, failed := c.Counts()
	if c.Report != nil {
		c.Report(ok, failed)
		return nil
	}
	l := c.Logger
	if l == nil {
		l = slog.Default()
	}
	l.Info("client: producer acknowledgements", "sent", sent, "succeeded", ok, "failed", failed)
	return nil
}
