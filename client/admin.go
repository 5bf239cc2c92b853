package client

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Admin is a kadm admin client built from Kafka admin properties. Close it when done.
type Admin struct {
	*kadm.Client
	// Parsed is what the admin properties resolved to (APITimeout bounds calls without a
	// deadline of their own).
	Parsed *Parsed

	cl *kgo.Client
}

// Kgo returns the franz-go client under the admin client.
func (a *Admin) Kgo() *kgo.Client { return a.cl }

// Ping checks that the cluster answers within ctx; see the package function [Ping].
func (a *Admin) Ping(ctx context.Context) error { return Ping(ctx, a.cl, a.Parsed.BootstrapServers) }

// NewAdmin builds an admin client from Kafka admin properties (bootstrap.servers,
// client.id, security settings, request.timeout.ms, retries, default.api.timeout.ms). It does
// not connect; use [Ping] to fail fast on an unreachable cluster.
func NewAdmin(props Properties, opts ...Option) (*Admin, error) {
	o, parsed, err := setup(RoleAdmin, props, opts)
	if err != nil {
		return nil, err
	}
	kopts := append(append([]kgo.Opt{}, parsed.Opts...), o.kgoOpts...)
	cl, err := kgo.NewClient(kopts...)
	if err != nil {
		return nil, fmt.Errorf("client: new admin: %w", err)
	}
	adm := kadm.NewClient(cl)
	adm.SetTimeoutMillis(int32(min(parsed.APITimeout, time.Duration(1<<31-1)*time.Millisecond) / time.Millisecond))
	return &Admin{Client: adm, Parsed: parsed, cl: cl}, nil
}

// UnreachableError says that no broker of a bootstrap list answered.
type UnreachableError struct {
	// Addrs are the bootstrap addresses tried.
	Addrs []string
	// Err is the last failure (a dial error, a timeout, a protocol error).
	Err error
}

// Error names the addresses and the cause.
func (e *UnreachableError) Error() string {
	return fmt.Sprintf("client: cannot reach a Kafka broker at %s: %v", strings.Join(e.Addrs, ","), e.Err)
}

// Unwrap returns the cause.
func (e *UnreachableError) Unwrap() error { return e.Err }

// Ping checks that the cluster behind seeds answers within ctx: it first dials each seed (so a
// refused or unroutable address fails at once with the dialer's error, rather than after
// franz-go's retries), then sends one request through cl. On failure it returns an
// *UnreachableError naming the seeds.
func Ping(ctx context.Context, cl *kgo.Client, seeds []string) error {
	var lastErr error
	reached := false
	var d net.Dialer
	for _, addr := range seeds {
		conn, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			lastErr = err
			if ctx.Err() != nil {
				break
			}
			continue
		}
		conn.Close()
		reached = true
		break
	}
	if !reached {
		if lastErr == nil {
			lastErr = errors.New("no bootstrap address")
		}
		return &UnreachableError{Addrs: seeds, Err: lastErr}
	}
	if err := cl.Ping(ctx); err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			err = fmt.Errorf("no Kafka answer in time (is this a Kafka listener, and does security.protocol match it?): %w", err)
		}
		return &UnreachableError{Addrs: seeds, Err: err}
	}
	return nil
}
