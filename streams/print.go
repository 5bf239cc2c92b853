package streams

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
)

// prefixPrinter names Print nodes, as Kafka Streams does.
const prefixPrinter = "KSTREAM-PRINTER-"

// Printed configures Print (Kafka Streams' Printed): where the lines go
// (standard output, a file or a writer), their label and how a record is
// rendered.
type Printed[K, V any] struct {
	w      io.Writer
	path   string
	label  string
	mapper func(key K, value V) string
}

// PrintedToSysOut prints to standard output.
func PrintedToSysOut[K, V any]() Printed[K, V] { return Printed[K, V]{w: os.Stdout} }

// PrintedToFile prints to the file at path, created (or truncated) when
// the first task that prints starts, and closed when the last one closes.
func PrintedToFile[K, V any](path string) Printed[K, V] { return Printed[K, V]{path: path} }

// PrintedTo prints to w; writes from different tasks are serialized.
func PrintedTo[K, V any](w io.Writer) Printed[K, V] { return Printed[K, V]{w: w} }

// WithLabel sets the label every line starts with (default: the node's
// name).
func (p Printed[K, V]) WithLabel(label string) Printed[K, V] { p.label = label; return p }

// WithKeyValueMapper sets how a record is rendered (default: "key, value",
// with "null" for a null key or value). The mapper is not called for
// tombstones, which print their key and "null".
func (p Printed[K, V]) WithKeyValueMapper(fn func(key K, value V) string) Printed[K, V] {
	p.mapper = fn
	return p
}

// Print writes a line "[label]: key, value" for every record, as Kafka
// Streams' KStream.print; it ends the stream. Meant for debugging.
func (s *Stream[K, V]) Print(printed Printed[K, V], named ...Named) {
	if printed.w == nil && printed.path == "" {
		s.b.fail(errors.New("streams: print: no destination (use PrintedToSysOut, PrintedToFile or PrintedTo)"))
		return
	}
	name := s.b.nameOr(nameOr(named), prefixPrinter)
	label := printed.label
	if label == "" {
		label = name
	}
	sink := &printSink{w: printed.w, path: printed.path}
	AddProcessor(s.b, name, func() Processor[K, V, K, V] {
		return &printProc[K, V]{sink: sink, label: label, mapper: printed.mapper}
	}, s.node)
}

// printSink is the destination shared by the tasks of one Print node.
type printSink struct {
	mu     sync.Mutex
	w      io.Writer
	path   string
	f      *os.File
	refs   int
	opened bool // the file was created once; later opens append
}

func (s *printSink) acquire() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.path != "" && s.refs == 0 {
		flag := os.O_CREATE | os.O_WRONLY | os.O_TRUNC
		if s.opened {
			flag = os.O_CREATE | os.O_WRONLY | os.O_APPEND
		}
		f, err := os.OpenFile(s.path, flag, 0o644)
		if err != nil {
			return fmt.Errorf("streams: print: %w", err)
		}
		s.f, s.w, s.opened = f, f, true
	}
	s.refs++
	return nil
}

func (s *printSink) release() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refs--
	if s.refs > 0 || s.f == nil {
		return nil
	}
	err := s.f.Close()
	s.f, s.w = nil, nil
	if err != nil {
		return fmt.Errorf("streams: print: %w", err)
	}
	return nil
}

func (s *printSink) println(line string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := io.WriteString(s.w, line+"\n"); err != nil {
		return fmt.Errorf("streams: print: %w", err)
	}
	return nil
}

type printProc[K, V any] struct {
	sink   *printSink
	label  string
	mapper func(K, V) string
	held   bool
}

func (p *printProc[K, V]) Init(ProcessorContext[K, V]) error {
	if err := p.sink.acquire(); err != nil {
		return err
	}
	p.held = true
	return nil
}

func (p *printProc[K, V]) Process(r Record[K, V]) error {
	var text string
	switch {
	case r.ValueIsNull():
		text = nullOr(r.KeyIsNull(), r.Key) + ", null"
	case p.mapper != nil:
		text = p.mapper(r.Key, r.Value)
	default:
		text = nullOr(r.KeyIsNull(), r.Key) + ", " + fmt.Sprint(r.Value)
	}
	return p.sink.println("[" + p.label + "]: " + text)
}

func (p *printProc[K, V]) Close() error {
	if !p.held {
		return nil
	}
	p.held = false
	return p.sink.release()
}

func nullOr[T any](null bool, v T) string {
	if null {
		return "null"
	}
	return fmt.Sprint(v)
}
