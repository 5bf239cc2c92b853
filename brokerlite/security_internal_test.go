package brokerlite

import (
	"context"
	"net"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// A connection whose SASL exchange failed is closed at its next request, also when it has
// no listener (requests handled directly, as the frame fuzzer does).
func TestRequestAfterFailedSASLWithoutListener(t *testing.T) {
	b := &Broker{}
	info := &ConnInfo{Remote: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1}}
	info.sec.authFailed = true
	called := false
	fn := func(context.Context, *Broker, *ConnInfo, kmsg.Request) (kmsg.Response, error) {
		called = true
		return nil, nil
	}
	if _, err := b.callSecured(context.Background(), fn, info, kmsg.NewPtrMetadataRequest()); err == nil || called {
		t.Fatalf("callSecured after a failed authentication: err %v, handler called %v", err, called)
	}
}

// Client addresses are spelled for ACL hosts as Kafka spells them (Java's
// getHostAddress), so an ACL written for Kafka matches the same clients.
func TestACLHostIsJavaSpelling(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.0.1":                    "127.0.0.1",
		"2001:db8::9":                  "2001:db8:0:0:0:0:0:9",
		"::1":                          "0:0:0:0:0:0:0:1",
		"fe80::1%eth0":                 "fe80:0:0:0:0:0:0:1%eth0",
		"::ffff:10.0.0.1":              "10.0.0.1",
		"2001:DB8:0:0:8:800:200C:417A": "2001:db8:0:0:8:800:200c:417a",
		"not-an-address":               "not-an-address",
	} {
		if got := aclHost(in); got != want {
			t.Errorf("aclHost(%q) = %q, want %q", in, got, want)
		}
	}
}
