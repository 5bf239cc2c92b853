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
