package wordcount

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/rivulet-io/rivulet/streams"
)

// Default topic and store names, as in Kafka's WordCountDemo (whose topics are
// streams-plaintext-input and streams-wordcount-output; Rivulet names them
// wordcount-input and wordcount-output).
const (
	DefaultInputTopic  = "wordcount-input"
	DefaultOutputTopic = "wordcount-output"
	// DefaultStoreName names the count store. Its changelog topic is
	// "<application.id>-counts-changelog" and, because grouping by word
	// changes the key, its repartition topic is
	// "<application.id>-counts-repartition".
	DefaultStoreName = "counts"
)

// Options names the topics and the store of the word count. Every field has
// a default, so the zero value is the canonical topology.
type Options struct {
	// InputTopic holds text lines (the key is ignored). The default value
	// is "wordcount-input".
	InputTopic string
	// OutputTopic receives word -> count. The default value is
	// "wordcount-output".
	OutputTopic string
	// StoreName names the key-value store of counts, which interactive
	// queries read. The default value is "counts".
	StoreName string
}

func (o *Options) ensureDefaults() {
	if o.InputTopic == "" {
		o.InputTopic = DefaultInputTopic
	}
	if o.OutputTopic == "" {
		o.OutputTopic = DefaultOutputTopic
	}
	if o.StoreName == "" {
		o.StoreName = DefaultStoreName
	}
}

// Topology builds the word count:
//
//	lines (key ignored, value a UTF-8 text line)
//	  -> flatMapValues(Words)        lower-case, split on non-letters
//	  -> groupBy(word)               repartition by word
//	  -> count()                     store "counts"
//	  -> toStream().to(output)       word -> int64 count
//
// It is the same shape as Kafka's WordCountDemo, so Kafka Streams users find
// the same sub-topologies and internal topics.
func Topology(opts Options) (*streams.Topology, error) {
	opts.ensureDefaults()
	if opts.InputTopic == opts.OutputTopic {
		return nil, errors.New("wordcount: the input and output topics must differ")
	}
	b := streams.NewBuilder()
	lines := streams.NewStream(b, opts.InputTopic,
		streams.ConsumedWith(streams.BytesSerde(), streams.StringSerde()))
	words := streams.FlatMapValues(lines, func(_ []byte, line string) []string { return Words(line) })
	counts := streams.GroupBy(words, func(_ []byte, word string) string { return word },
		streams.GroupedWith(streams.StringSerde(), streams.StringSerde())).
		Count(streams.MaterializedAs[string, int64](opts.StoreName))
	counts.ToStream().To(opts.OutputTopic,
		streams.ProducedWith(streams.StringSerde(), streams.Int64Serde()))
	topo, err := b.Build()
	if err != nil {
		return nil, fmt.Errorf("wordcount: %w", err)
	}
	return topo, nil
}

// Words lower-cases line and splits it on every rune that is not a letter
// (unicode.IsLetter), dropping empty pieces: "Don't stop" gives
// ["don", "t", "stop"]. Kafka's demo splits on \W+, which keeps digits and
// '_' inside words; this splits on non-letters, so digits and '_' separate words.
// Invalid UTF-8 bytes are separators too.
func Words(line string) []string {
	// One allocation for a typical line (~1 word per 6 bytes) rather than
	// a slice grown word by word.
	words := make([]string, 0, min(len(line)/6+1, 64))
	start := -1 // byte offset where the current word starts, -1 outside a word
	ascii := true
	for i := 0; i < len(line); {
		c := line[i]
		size := 1
		var letter bool
		if c < utf8.RuneSelf {
			letter = ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')
			if 'A' <= c && c <= 'Z' {
				ascii = false // needs lower-casing
			}
		} else {
			r, n := utf8.DecodeRuneInString(line[i:])
			size = n
			letter = r != utf8.RuneError && unicode.IsLetter(r)
			ascii = false
		}
		switch {
		case letter && start < 0:
			start = i
		case !letter && start >= 0:
			words = appendWord(words, line[start:i], ascii)
			start, ascii = -1, true
		}
		if !letter {
			ascii = true
		}
		i += size
	}
	if start >= 0 {
		words = appendWord(words, line[start:], ascii)
	}
	if len(words) == 0 {
		return nil
	}
	return words
}

// appendWord appends w lower-cased. A word known to be lower-case ASCII is
// appended as is (a substring of the line: no allocation). Otherwise it is
// lower-cased and split again, because lower-casing may produce non-letters
// (U+0130 'İ' becomes "i" and a combining dot), and the rule is lower-case
// first, then split.
func appendWord(words []string, w string, lowerASCII bool) []string {
	if lowerASCII {
		return append(words, w)
	}
	return append(words, strings.FieldsFunc(strings.ToLower(w), notLetter)...)
}

func notLetter(r rune) bool { return !unicode.IsLetter(r) }
