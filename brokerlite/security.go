package brokerlite

// The broker's side of security: the credential store and the authorizer (package auth),
// the gate every request passes before its handler (SASL first on SASL listeners, then the
// ACL checks of authz.go), and the authorize helper handlers call.

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/rivulet-io/rivulet/brokerlite/auth"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Files in the first log dir.
const (
	scramCredentialsFile = "scram-credentials.json"
	aclsFile             = "acls.json"
)

// brokerAuth holds the broker's security state.
type brokerAuth struct {
	creds      *auth.Credentials
	authorizer *auth.Authorizer // nil when authorizer.class.name is unset
}

func openBrokerAuth(b *Broker) (*brokerAuth, error) {
	ba := &brokerAuth{}
	var err error
	if ba.creds, err = auth.OpenCredentials(filepath.Join(b.metaDir, scramCredentialsFile)); err != nil {
		return nil, fmt.Errorf("brokerlite: %w", err)
	}
	sec := b.settings.Security
	if sec.AuthorizerEnabled {
		ba.authorizer, err = auth.NewAuthorizer(auth.AuthorizerConfig{
			SuperUsers: sec.SuperUsers, AllowEveryoneIfNoACLFound: sec.AllowEveryoneIfNoACLFound,
			Path: filepath.Join(b.metaDir, aclsFile),
		})
		if err != nil {
			return nil, fmt.Errorf("brokerlite: %w", err)
		}
	}
	return ba, nil
}

// listenerSummary is the listeners for the start-up log line: NAME(PROTOCOL)=addr.
func (b *Broker) listenerSummary() string {
	parts := make([]string, 0, len(b.listeners))
	for _, l := range b.listeners {
		parts = append(parts, fmt.Sprintf("%s(%s)=%s", l.Name, l.Protocol, l.ln.Addr()))
	}
	return strings.Join(parts, ",")
}

// authorize reports whether the connection's principal may perform op on the resource:
// always true without an authorizer (authorizer.class.name unset) and for the broker's own
// requests. Handlers of every API call it (directly or through authz.go) with the
// operation and resource Kafka documents for the API, and answer the API's
// *_AUTHORIZATION_FAILED code when it is false. For example, InitProducerId with a
// transactional id checks
//
//	b.authorize(info, auth.OpWrite, auth.ResourceTransactionalID, txnID)
func (b *Broker) authorize(info *ConnInfo, op auth.Operation, rt auth.ResourceType, name string) bool {
	if b.auth == nil || b.auth.authorizer == nil || info == nil || info.internal {
		return true
	}
	return b.auth.authorizer.Authorize(info.Principal(), info.sec.host, op, rt, name)
}

// authorizeCluster is authorize on the cluster resource.
func (b *Broker) authorizeCluster(info *ConnInfo, op auth.Operation) bool {
	return b.authorize(info, op, auth.ResourceCluster, clusterResourceName)
}

// authorizeAny reports whether the principal may perform op on some resource of the type
// (Kafka's check for idempotent producers: WRITE on any topic).
func (b *Broker) authorizeAny(info *ConnInfo, op auth.Operation, rt auth.ResourceType) bool {
	if b.auth == nil || b.auth.authorizer == nil || info == nil || info.internal {
		return true
	}
	return b.auth.authorizer.AuthorizeAny(info.Principal(), info.sec.host, op, rt)
}

// clusterResourceName is the one cluster resource's name in ACLs.
const clusterResourceName = "kafka-cluster"

// callSecured runs a request through the connection's security before its handler: on a
// SASL listener nothing but ApiVersions, SaslHandshake and SaslAuthenticate runs before
// authentication succeeds (anything else closes the connection, as Kafka does), and with
// an authorizer the request is checked by authorizeRequest (authz.go).
func (b *Broker) callSecured(ctx context.Context, fn handlerFunc, info *ConnInfo, req kmsg.Request) (kmsg.Response, error) {
	key := kmsg.Key(req.Key())
	if l := info.sec.listener; l != nil && l.SASLEnabled() && !info.sec.authenticated {
		switch key {
		case kmsg.ApiVersions, kmsg.SASLHandshake, kmsg.SASLAuthenticate:
		default:
			return nil, fmt.Errorf("brokerlite: %s request before SASL authentication on listener %s (principal %s): closing the connection",
				kmsg.NameForKey(req.Key()), l.Name, info.Principal())
		}
	}
	if info.sec.authFailed {
		name := "(none)" // a SASL request on a connection without a listener (tests) fails too
		if l := info.sec.listener; l != nil {
			name = l.Name
		}
		return nil, fmt.Errorf("brokerlite: request after failed SASL authentication on listener %s: closing the connection", name)
	}
	if b.auth == nil || b.auth.authorizer == nil || info.internal {
		resp, err := b.callHandler(ctx, fn, info, req)
		if err == nil && resp != nil {
			// Without an authorizer every operation is allowed, and Kafka says so.
			fillAuthorizedOps(b, info, req, resp)
		}
		return resp, err
	}
	if !aclChecked[key] && !b.authorizeCluster(info, auth.OpClusterAction) {
		return nil, fmt.Errorf("brokerlite: %s has no ACL check of its own and %s lacks CLUSTER_ACTION on the cluster: closing the connection",
			kmsg.NameForKey(req.Key()), info.Principal())
	}
	// An acks=0 produce gets no answer to carry a refusal: as in Kafka, the allowed topics
	// are appended and the connection is then closed, so the producer notices.
	silent, asked := (*kmsg.ProduceRequest)(nil), 0
	if pr, ok := req.(*kmsg.ProduceRequest); ok && pr.Acks == 0 {
		silent, asked = pr, len(pr.Topics)
	}
	denied, after := authorizeRequest(b, info, req)
	if silent != nil && (denied != nil || len(silent.Topics) < asked) {
		if denied == nil {
			if _, err := b.callHandler(ctx, fn, info, req); err != nil {
				return nil, err
			}
		}
		return nil, fmt.Errorf("brokerlite: acks=0 produce refused by the ACLs for %s: closing the connection so the producer notices, as Kafka does", info.Principal())
	}
	if denied != nil {
		denied.SetVersion(req.GetVersion())
		return denied, nil
	}
	resp, err := b.callHandler(ctx, fn, info, req)
	if err != nil || resp == nil {
		return resp, err
	}
	switch key {
	case kmsg.Metadata, kmsg.DescribeGroups, kmsg.DescribeCluster:
		next := after
		after = func(r kmsg.Response) {
			if next != nil {
				next(r)
			}
			fillAuthorizedOps(b, info, req, r)
		}
	}
	if after == nil {
		return resp, nil
	}
	if pr, ok := resp.(*pendingResponse); ok {
		wait := pr.wait
		pr.wait = func() { wait(); after(pr.Response) }
		return pr, nil
	}
	after(resp)
	return resp, nil
}
