package brokerlite

// SaslAuthenticate (key 36), versions 0-2.
//
// Carries the SASL tokens of the mechanism picked by SaslHandshake (KIP-152): PLAIN takes
// one message (RFC 4616) checked against the listener's user_<name> JAAS options; SCRAM-SHA-256
// and SCRAM-SHA-512 take two (RFC 5802, through github.com/xdg-go/scram) checked against the
// broker's credential store. Success makes the principal User:<name>. A failure answers
// SASL_AUTHENTICATION_FAILED with Kafka's message and the next request on the connection
// closes it. Sessions do not expire (session_lifetime_ms 0: no KIP-368 re-authentication).

import (
	"context"
	"errors"

	"github.com/rivulet-io/rivulet/brokerlite/auth"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { registerHandler(kmsg.SASLAuthenticate, 0, 2, handleSASLAuthenticate) }

func handleSASLAuthenticate(_ context.Context, b *Broker, info *ConnInfo, kreq kmsg.Request) (kmsg.Response, error) {
	req := kreq.(*kmsg.SASLAuthenticateRequest)
	resp := req.ResponseKind().(*kmsg.SASLAuthenticateResponse)
	resp.SASLAuthBytes = []byte{}
	sec := &info.sec
	var cause error // logged, never sent: the client learns only that it failed
	fail := func(code int16, msg string) (kmsg.Response, error) {
		resp.ErrorCode, resp.ErrorMessage = code, kmsg.StringPtr(msg)
		sec.authFailed = true
		b.logger.Info("SASL authentication failed", append(logAttrs(info), "listener", sec.listener.Name, "mechanism", sec.mechanism, "reason", msg, "cause", cause)...)
		return resp, nil
	}
	if sec.listener == nil || !sec.listener.SASLEnabled() || sec.mechanism == "" || sec.authenticated {
		resp.ErrorCode, resp.ErrorMessage = kerr.IllegalSaslState.Code, kmsg.StringPtr("Unexpected SaslAuthenticate: no SaslHandshake before it, or already authenticated")
		sec.authFailed = true
		return resp, nil
	}
	switch sec.mechanism {
	case "PLAIN":
		user, err := sec.listener.PlainUsers.VerifyPlain(req.SASLAuthBytes)
		if err != nil {
			cause = err
			return fail(kerr.SaslAuthenticationFailed.Code, "Authentication failed: Invalid username or password")
		}
		sec.principal, sec.authenticated = "User:"+user, true
	case auth.ScramSHA256, auth.ScramSHA512:
		if sec.scram == nil {
			conv, err := b.auth.creds.NewScramConversation(sec.mechanism)
			if err != nil {
				return fail(kerr.SaslAuthenticationFailed.Code, "Authentication failed: "+err.Error())
			}
			sec.scram = conv
		}
		out, done, user, err := sec.scram.Step(req.SASLAuthBytes)
		if err != nil {
			cause = err
			msg := "Authentication failed during authentication due to invalid credentials with SASL mechanism " + sec.mechanism
			if !errors.Is(err, auth.ErrAuthentication) {
				msg = "Authentication failed: " + err.Error()
			}
			return fail(kerr.SaslAuthenticationFailed.Code, msg)
		}
		resp.SASLAuthBytes = out
		if done {
			sec.principal, sec.authenticated, sec.scram = "User:"+user, true, nil
		}
	default:
		return fail(kerr.UnsupportedSaslMechanism.Code, "mechanism "+sec.mechanism+" is not supported")
	}
	if sec.authenticated {
		b.logger.Debug("SASL authentication succeeded", append(logAttrs(info), "principal", sec.principal, "mechanism", sec.mechanism)...)
	}
	return resp, nil
}
