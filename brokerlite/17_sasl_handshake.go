package brokerlite

// SaslHandshake (key 17), versions 0-1.
//
// The client names its mechanism; on a SASL listener that enables it the answer lists the
// listener's mechanisms and the exchange goes on with SaslAuthenticate (KIP-152). Version
// 0 is advertised (librdkafka requires it in ApiVersions) but a v0 handshake, after which
// Kafka would read raw SASL tokens outside the Kafka framing, is answered
// UNSUPPORTED_VERSION: every client that sees SaslAuthenticate in ApiVersions (all current
// ones) sends version 1. A listener
// without SASL, or a second handshake, answers ILLEGAL_SASL_STATE; an unknown mechanism
// UNSUPPORTED_SASL_MECHANISM with the enabled ones.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { registerHandler(kmsg.SASLHandshake, 0, 1, handleSASLHandshake) }

func handleSASLHandshake(_ context.Context, _ *Broker, info *ConnInfo, kreq kmsg.Request) (kmsg.Response, error) {
	req := kreq.(*kmsg.SASLHandshakeRequest)
	resp := req.ResponseKind().(*kmsg.SASLHandshakeResponse)
	l := info.sec.listener
	if l == nil || !l.SASLEnabled() {
		resp.ErrorCode = kerr.IllegalSaslState.Code
		resp.SupportedMechanisms = []string{}
		return resp, nil
	}
	resp.SupportedMechanisms = append([]string(nil), l.SASLMechanisms...)
	if req.Version == 0 {
		resp.ErrorCode = kerr.UnsupportedVersion.Code
		info.sec.authFailed = true
		return resp, nil
	}
	if info.sec.authenticated || info.sec.mechanism != "" {
		resp.ErrorCode = kerr.IllegalSaslState.Code
		return resp, nil
	}
	for _, m := range l.SASLMechanisms {
		if m == req.Mechanism {
			info.sec.mechanism = m
			return resp, nil
		}
	}
	resp.ErrorCode = kerr.UnsupportedSaslMechanism.Code
	return resp, nil
}
