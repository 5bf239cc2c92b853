package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"

	"github.com/rivulet-io/rivulet/client"
	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

func init() { rootCmd.AddCommand(newProduceCmd()) }

// maxLineBytes bounds one input line, so a stream without newlines fails that line clearly
// instead of filling memory. Kafka brokers refuse records over ~1 MiB by default anyway.
const maxLineBytes = 16 << 20

type produceOpts struct {
	conn connFlags

	topic       string
	file        string
	readerProps []string
	acks        string
	compression string
	sync        bool
}

func newProduceCmd() *cobra.Command {
	o := &produceOpts{}
	cmd, f := toolCmd(&cobra.Command{
		Use:   "produce",
		Short: "Send one record per input line to a topic (like kafka-console-producer.sh)",
		Long: `produce reads lines from stdin (or --file) and sends each as one record to --topic, with the
flags and properties of Kafka's kafka-console-producer.sh.

Line format (--property, as Kafka's LineMessageReader):
  parse.key=true          split each line into key and value at key.separator (default tab)
  key.separator=:         the key separator (\t, \n and \\ are understood)
  parse.headers=true      lines start with headers, h1:v1,h2:v2, then headers.delimiter (tab)
  headers.delimiter, headers.separator (,), headers.key.separator (:)
  null.marker=NULL        a key, value or header value equal to this is sent as null
  ignore.error=true       a line without the separator becomes a value with a null key

Each failed record is printed to stderr as it fails. At end of input the producer flushes
and reports how many records were sent; the exit code is 1 if any record failed. Ctrl-C
stops reading, flushes what was read, and reports; a second Ctrl-C aborts.

Producer settings: --producer-property key=value or --producer.config FILE, with Kafka's names
(linger.ms, batch.size, enable.idempotence, ...). --acks (alias --request-required-acks)
and --compression (alias --compression-codec) win over them. delivery.timeout.ms defaults
to Kafka's 120000 here, so a lost broker fails records instead of hanging.

--bootstrap-server defaults to ` + defaultBootstrap + `. Exit codes: 0 ok, 1 failure, 2 bad flags.`,
		Example: `  rivulet produce --bootstrap-server 127.0.0.1:9092 --topic first
  printf 'a:1\nb:2\n' | rivulet produce --topic first --property parse.key=true --property key.separator=:
  rivulet produce --topic first --file lines.txt --acks 1 --compression zstd
  rivulet produce --topic first --producer-property linger.ms=20 --producer-property batch.size=65536`,
	}, o.conn.registerProducer, func(cmd *cobra.Command) error { return runProduce(cmd, o) })
	f.StringVar(&o.topic, "topic", "", "the topic to send to (required)")
	f.StringVar(&o.file, "file", "", "read lines from this file instead of stdin")
	f.StringArrayVar(&o.readerProps, "property", nil, "a line-format property as key=value (repeatable): parse.key, key.separator, parse.headers, null.marker, ...")
	f.StringVar(&o.acks, "acks", "", "acknowledgements to wait for: all (-1), 1 or 0 (default: all)")
	f.StringVar(&o.acks, "request-required-acks", "", "alias of --acks, as kafka-console-producer.sh spells it")
	f.StringVar(&o.compression, "compression", "", "compression codec: none, gzip, snappy, lz4 or zstd")
	f.StringVar(&o.compression, "compression-codec", "", "alias of --compression, as kafka-console-producer.sh spells it")
	f.BoolVar(&o.sync, "sync", false, "wait for each record's acknowledgement before reading the next line")
	return cmd
}

// produceStats is shared by the read loop and the promises.
type produceStats struct {
	read, acked, failed atomic.Int64
	mu                  sync.Mutex // serialises failure lines on stderr
}

func runProduce(cmd *cobra.Command, o *produceOpts) error {
	if o.topic == "" {
		return usageErrorf(cmd, "--topic is required")
	}
	readerProps, err := client.ParseKeyValues(o.readerProps)
	if err != nil {
		return usageErrorf(cmd, "--property: %v", err)
	}
	lines, err := newLineReaderConfig(readerProps)
	if err != nil {
		return usageErrorf(cmd, "--property: %v", err)
	}
	props, err := o.conn.properties(cmd)
	if err != nil {
		return err
	}
	if o.acks != "" {
		props["acks"] = o.acks
	}
	if o.compression != "" {
		props["compression.type"] = o.compression
	}
	if _, ok := props["delivery.timeout.ms"]; !ok {
		props["delivery.timeout.ms"] = "120000"
	}

	var in io.Reader = cmd.InOrStdin()
	if o.file != "" {
		f, err := os.Open(o.file)
		if err != nil {
			return failuref("--file: %v", err)
		}
		defer f.Close()
		in = f
	}

	stderr := cmd.ErrOrStderr()
	p, err := client.NewProducer(props, client.WithLogger(cliLogger(stderr)))
	if err != nil {
		return propertyError(cmd, err)
	}
	ctx, stop := signalContext()
	defer stop()
	if err := o.conn.connect(ctx, p.Client(), p.Parsed().BootstrapServers); err != nil {
		_ = p.Close(context.Background()) // nothing is buffered yet; this closes the interceptors
		return err
	}

	stats := &produceStats{}
	failf := func(format string, args ...any) {
		stats.mu.Lock()
		defer stats.mu.Unlock()
		fmt.Fprintf(stderr, "rivulet: produce: "+format+"\n", args...)
	}

	// The read loop runs on its own goroutine so Ctrl-C is noticed while a read blocks on a
	// terminal; that goroutine ends at end of input, or with the process if a read never
	// returns after Ctrl-C (a stdin read cannot be interrupted portably).
	type line struct {
		b   []byte
		no  int
		err error
	}
	linesCh := make(chan line, 64)
	go func() {
		defer close(linesCh)
		br := bufio.NewReaderSize(in, 64<<10)
		for no := 1; ; no++ {
			b, err := readLine(br)
			if err == io.EOF {
				return
			}
			if err != nil && !errors.Is(err, errLineTooLong) {
				linesCh <- line{no: no, err: err}
				return
			}
			select {
			case linesCh <- line{b: b, no: no, err: err}:
			case <-ctx.Done():
				return
			}
		}
	}()

	interrupted := false
	var readErr error
loop:
	for {
		select {
		case <-ctx.Done():
			interrupted = true
			break loop
		case l, ok := <-linesCh:
			if !ok {
				break loop
			}
			if l.err != nil {
				if errors.Is(l.err, errLineTooLong) {
					stats.failed.Add(1)
					failf("line %d: %v; skipped", l.no, l.err)
					continue
				}
				readErr = l.err
				break loop
			}
			stats.read.Add(1)
			r, err := lines.parseLine(l.b, l.no)
			if err != nil {
				stats.failed.Add(1)
				failf("%v; skipped", err)
				continue
			}
			r.Topic = o.topic
			no := l.no
			var done chan struct{}
			if o.sync {
				done = make(chan struct{})
			}
			// The record's context is not the signal context: Ctrl-C stops reading, but
			// what was read is still delivered (or fails on its own delivery timeout).
			p.Produce(context.Background(), r, func(r *kgo.Record, err error) {
				if err != nil {
					stats.failed.Add(1)
					failf("line %d (key %s, value %d bytes): %s", no, keyForError(r.Key), len(r.Value), produceErrorText(err, o.topic))
				} else {
					stats.acked.Add(1)
				}
				if done != nil {
					close(done)
				}
			})
			if done != nil {
				select {
				case <-done:
				case <-ctx.Done():
					interrupted = true
					break loop
				}
			}
		}
	}
	// After the first Ctrl-C, restore the default signal handling, so a second one aborts
	// the flush.
	stop()

	flushErr := p.Flush(context.Background())
	closeErr := p.Close(context.Background())

	acked, failed := stats.acked.Load(), stats.failed.Load()
	how := "end of input"
	if interrupted {
		how = "interrupted"
	}
	fmt.Fprintf(stderr, "rivulet: produce: %d record(s) sent to topic %s, %d failed (%s)\n", acked, o.topic, failed, how)
	if readErr != nil {
		return failuref("produce: reading input: %v", readErr)
	}
	if err := errors.Join(flushErr, closeErr); err != nil {
		return failuref("produce: %v", err)
	}
	if failed > 0 {
		return &exitError{Code: exitFailure, Err: fmt.Errorf("produce: %d record(s) failed", failed)}
	}
	return nil
}

var errLineTooLong = fmt.Errorf("longer than %d bytes", maxLineBytes)

// readLine returns the next line without its "\n" or "\r\n". A line over maxLineBytes is
// consumed and reported with errLineTooLong. At end of input it returns io.EOF; a last line
// without a newline is still returned.
func readLine(br *bufio.Reader) ([]byte, error) {
	var buf []byte
	tooLong := false
	for {
		chunk, err := br.ReadSlice('\n')
		if !tooLong {
			if len(buf)+len(chunk) > maxLineBytes+2 {
				tooLong, buf = true, nil
			} else {
				buf = append(buf, chunk...)
			}
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err != nil && err != io.EOF {
			return nil, err
		}
		if err == io.EOF && len(buf) == 0 && !tooLong {
			return nil, io.EOF
		}
		if tooLong {
			return nil, errLineTooLong
		}
		buf = trimEOL(buf)
		if len(buf) > maxLineBytes {
			return nil, errLineTooLong
		}
		return buf, nil
	}
}

func trimEOL(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\n' {
		b = b[:n-1]
		if n := len(b); n > 0 && b[n-1] == '\r' {
			b = b[:n-1]
		}
	}
	return b
}

func keyForError(k []byte) string {
	if k == nil {
		return "null"
	}
	if len(k) > 32 {
		return fmt.Sprintf("%q...", k[:32])
	}
	return fmt.Sprintf("%q", k)
}

// produceErrorText words the common send failures.
func produceErrorText(err error, topic string) string {
	switch {
	case errors.Is(err, kerr.UnknownTopicOrPartition):
		return fmt.Sprintf("topic '%s' does not exist and the broker did not create it (create it with 'rivulet topics --create --topic %s')", topic, topic)
	case errors.Is(err, kerr.MessageTooLarge), errors.Is(err, kerr.RecordListTooLarge):
		return fmt.Sprintf("record too large for the broker or topic (max.message.bytes): %v", err)
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, kgo.ErrRecordTimeout):
		return fmt.Sprintf("not acknowledged within delivery.timeout.ms: %v", err)
	}
	return err.Error()
}
