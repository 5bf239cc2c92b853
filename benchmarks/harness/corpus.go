package harness

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync/atomic"

	"github.com/twmb/franz-go/pkg/kgo"
)

// CorpusConfig describes the word-count input: a seeded text whose words
// follow a Zipf law over a vocabulary, so a few words are very frequent (and
// their partitions hot) and most are rare, as in natural text.
type CorpusConfig struct {
	// Words is the number of words in the text. The default value is 3e6.
	Words int64
	// Vocabulary is the number of distinct words. The default value is
	// 50000.
	Vocabulary int
	// ZipfS is the Zipf exponent (> 1); the word of rank k has probability
	// proportional to 1/k^s. The default value is 1.1 (the most frequent
	// word is then about 14% of the text).
	ZipfS float64
	// WordsPerLine is the mean number of words per line (lines hold 1 to
	// 2*WordsPerLine-1 words). The default value is 10.
	WordsPerLine int
	// Seed makes the text reproducible. The default value is 1.
	Seed uint64
}

func (c *CorpusConfig) ensureDefaults() {
	orDefault(&c.Words, 3_000_000)
	orDefault(&c.Vocabulary, 50_000)
	orDefault(&c.ZipfS, 1.1)
	orDefault(&c.WordsPerLine, 10)
	orDefault(&c.Seed, 1)
}

func (c *CorpusConfig) validate() error {
	switch {
	case c.Words < 1:
		return fmt.Errorf("harness: corpus: words %d, want >= 1", c.Words)
	case c.Vocabulary < 1:
		return fmt.Errorf("harness: corpus: vocabulary %d, want >= 1", c.Vocabulary)
	case !(c.ZipfS > 1):
		return fmt.Errorf("harness: corpus: zipf exponent %v, want > 1", c.ZipfS)
	case c.WordsPerLine < 1:
		return fmt.Errorf("harness: corpus: words per line %d, want >= 1", c.WordsPerLine)
	}
	return nil
}

// Corpus is a generated text. Its lines are made on demand (the same lines
// every time for a seed), so a 10M-word corpus does not sit in memory.
type Corpus struct {
	cfg   CorpusConfig
	vocab []string
}

// NewCorpus builds the vocabulary of cfg.
func NewCorpus(cfg CorpusConfig) (*Corpus, error) {
	cfg.ensureDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x5eed))
	seen := make(map[string]bool, cfg.Vocabulary)
	vocab := make([]string, 0, cfg.Vocabulary)
	const letters = "etaoinshrdlcumwfgypbvkjxqz" // English letter frequency order
	for len(vocab) < cfg.Vocabulary {
		// Frequent words are short, as in natural text: rank 0-99 has 1-4
		// letters, then 3-10.
		n := 1 + rng.IntN(4)
		if len(vocab) >= 100 {
			n = 3 + rng.IntN(8)
		}
		var b strings.Builder
		for range n {
			// Squaring skews toward the frequent letters.
			f := rng.Float64()
			b.WriteByte(letters[int(f*f*float64(len(letters)))])
		}
		if w := b.String(); !seen[w] {
			seen[w] = true
			vocab = append(vocab, w)
		}
	}
	return &Corpus{cfg: cfg, vocab: vocab}, nil
}

// Config returns the corpus's configuration with defaults filled in.
func (c *Corpus) Config() CorpusConfig { return c.cfg }

// Words returns the number of words in the text.
func (c *Corpus) Words() int64 { return c.cfg.Words }

// Each calls fn for every line of the text, in order, with the vocabulary
// ranks of its words. Lines are lower-case words separated by one space,
// ending with a full stop, so the word count's splitting rule finds exactly
// the generated words. line is reused after fn returns.
func (c *Corpus) Each(fn func(line []byte, ranks []int) error) error {
	rng := rand.New(rand.NewPCG(c.cfg.Seed, 0x7e47))
	zipf := rand.NewZipf(rng, c.cfg.ZipfS, 1, uint64(len(c.vocab)-1))
	var line []byte
	var ranks []int
	for left := c.cfg.Words; left > 0; {
		n := min(int64(1+rng.IntN(2*c.cfg.WordsPerLine-1)), left)
		line, ranks = line[:0], ranks[:0]
		for i := range n {
			r := int(zipf.Uint64())
			if i > 0 {
				line = append(line, ' ')
			}
			line = append(line, c.vocab[r]...)
			ranks = append(ranks, r)
		}
		line = append(line, '.')
		if err := fn(line, ranks); err != nil {
			return err
		}
		left -= n
	}
	return nil
}

// Counts returns how often each word occurs in the text.
func (c *Corpus) Counts() map[string]int64 {
	byRank := make([]int64, len(c.vocab))
	_ = c.Each(func(_ []byte, ranks []int) error {
		for _, r := range ranks {
			byRank[r]++
		}
		return nil
	})
	out := make(map[string]int64)
	for r, n := range byRank {
		if n > 0 {
			out[c.vocab[r]] = n
		}
	}
	return out
}

// Produce writes the text to topic, one line per record with a null key,
// spread round-robin over the partitions, and returns the number of lines.
// progress, if not nil, receives the number of words written so far.
func (c *Corpus) Produce(ctx context.Context, addr, topic string, progress *Bar) (int64, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.DefaultProduceTopic(topic),
		kgo.RecordPartitioner(kgo.RoundRobinPartitioner()), kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite())
	if err != nil {
		return 0, fmt.Errorf("harness: corpus producer: %w", err)
	}
	defer cl.Close()
	p := &pipeline{cl: cl}
	var (
		lines int64
		words atomic.Int64
	)
	err = c.Each(func(line []byte, ranks []int) error {
		if err := p.failure(); err != nil {
			return err
		}
		n := int64(len(ranks))
		lines++
		p.send(ctx, &kgo.Record{Value: append([]byte(nil), line...)}, func() {
			if progress != nil {
				progress.Set(words.Add(n))
			}
		})
		return ctx.Err()
	})
	if werr := p.wait(); err == nil {
		err = werr
	}
	if err != nil {
		return lines, fmt.Errorf("harness: producing the corpus to %s: %w", topic, err)
	}
	return lines, nil
}
