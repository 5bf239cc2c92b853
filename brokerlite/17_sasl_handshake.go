package brokerlite

// SaslHandshake (key 17), version 1 only.
//
// The client names its mechanism; on a SASL listener that enables it the answer lists the
// listener's mechanisms and the exchange goes on with SaslAuthenticate (KIP-152). Version
// 0, after which Kafka reads raw SASL tokens outside the Kafka framing, is not supported:
// every client that sends ApiVersions first (all current ones) uses version 1. A listener
// without SASL, or a second handshake, answers ILLEGAL_SASL_STATE; an unknown mechanism
// UNSUPPORTED_SASL_MECHANISM with the enabled ones.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { registerHandler(kmsg.SASLHandshake, 1, 1, handleSASLHandshake) }

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
