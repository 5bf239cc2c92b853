package brokerlite

// CreateAcls (key 30), DescribeAcls (key 29) and DeleteAcls (key 31), versions 0-3 each.
//
// ACL bindings of Kafka's authorizer: literal and prefixed resource patterns (v0 knows only
// literal ones), allow and deny, principal and host. They live in acls.json in the first
// log dir, written (fsynced, replaced atomically) before the answer, so they survive
// restarts. Without authorizer.class.name the three APIs answer SECURITY_DISABLED, as Kafka.

import (
	"context"

	"github.com/rivulet-io/rivulet/brokerlite/auth"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() {
	registerHandler(kmsg.CreateACLs, 0, 3, handleCreateACLs)
	registerHandler(kmsg.DescribeACLs, 0, 3, handleDescribeACLs)
	registerHandler(kmsg.DeleteACLs, 0, 3, handleDeleteACLs)
}

const securityDisabledMsg = "no authorizer is configured on the broker: set authorizer.class.name=" + StandardAuthorizerClass

func patternOrLiteral(p kmsg.ACLResourcePatternType) auth.PatternType {
	if p == 0 {
		return auth.PatternLiteral
	}
	return auth.PatternType(p)
}

func handleCreateACLs(_ context.Context, b *Broker, info *ConnInfo, kreq kmsg.Request) (kmsg.Response, error) {
	req := kreq.(*kmsg.CreateACLsRequest)
	resp := req.ResponseKind().(*kmsg.CreateACLsResponse)
	acls := make([]auth.ACL, len(req.Creations))
	for i, c := range req.Creations {
		acls[i] = auth.ACL{
			ResourceType: auth.ResourceType(c.ResourceType), ResourceName: c.ResourceName,
			PatternType: patternOrLiteral(c.ResourcePatternType), Principal: c.Principal, Host: c.Host,
			Operation: auth.Operation(c.Operation), Permission: auth.Permission(c.PermissionType),
		}
	}
	var errs []error
	if b.auth.authorizer != nil {
		errs = b.auth.authorizer.Create(acls)
	}
	for i := range req.Creations {
		r := kmsg.NewCreateACLsResponseResult()
		switch {
		case b.auth.authorizer == nil:
			r.ErrorCode, r.ErrorMessage = kerr.SecurityDisabled.Code, kmsg.StringPtr(securityDisabledMsg)
		case errs[i] != nil:
			r.ErrorCode, r.ErrorMessage = kerr.InvalidRequest.Code, kmsg.StringPtr(errs[i].Error())
		default:
			b.logger.Info("ACL created", append(logAttrs(info), "by", info.Principal(), "acl", describeACL(acls[i]))...)
		}
		resp.Results = append(resp.Results, r)
	}
	return resp, nil
}

func aclFilter(rt kmsg.ACLResourceType, name *string, pt kmsg.ACLResourcePatternType, principal, host *string, op kmsg.ACLOperation, perm kmsg.ACLPermissionType) auth.Filter {
	return auth.Filter{
		ResourceType: auth.ResourceType(rt), ResourceName: name, PatternType: patternOrLiteral(pt),
		Principal: principal, Host: host, Operation: auth.Operation(op), Permission: auth.Permission(perm),
	}
}

func handleDescribeACLs(_ context.Context, b *Broker, _ *ConnInfo, kreq kmsg.Request) (kmsg.Response, error) {
	req := kreq.(*kmsg.DescribeACLsRequest)
	resp := req.ResponseKind().(*kmsg.DescribeACLsResponse)
	if b.auth.authorizer == nil {
		resp.ErrorCode, resp.ErrorMessage = kerr.SecurityDisabled.Code, kmsg.StringPtr(securityDisabledMsg)
		return resp, nil
	}
	f := aclFilter(req.ResourceType, req.ResourceName, req.ResourcePatternType, req.Principal, req.Host, req.Operation, req.PermissionType)
	type resKey struct {
		rt   auth.ResourceType
		name string
		pt   auth.PatternType
	}
	index := map[resKey]int{}
	for _, a := range b.auth.authorizer.Describe(f) {
		k := resKey{a.ResourceType, a.ResourceName, a.PatternType}
		i, ok := index[k]
		if !ok {
			r := kmsg.NewDescribeACLsResponseResource()
			r.ResourceType, r.ResourceName, r.ResourcePatternType = kmsg.ACLResourceType(k.rt), k.name, kmsg.ACLResourcePatternType(k.pt)
			resp.Resources = append(resp.Resources, r)
			i = len(resp.Resources) - 1
			index[k] = i
		}
		e := kmsg.NewDescribeACLsResponseResourceACL()
		e.Principal, e.Host, e.Operation, e.PermissionType = a.Principal, a.Host, kmsg.ACLOperation(a.Operation), kmsg.ACLPermissionType(a.Permission)
		resp.Resources[i].ACLs = append(resp.Resources[i].ACLs, e)
	}
	return resp, nil
}

func handleDeleteACLs(_ context.Context, b *Broker, info *ConnInfo, kreq kmsg.Request) (kmsg.Response, error) {
	req := kreq.(*kmsg.DeleteACLsRequest)
	resp := req.ResponseKind().(*kmsg.DeleteACLsResponse)
	filters := make([]auth.Filter, len(req.Filters))
	for i, f := range req.Filters {
		filters[i] = aclFilter(f.ResourceType, f.ResourceName, f.ResourcePatternType, f.Principal, f.Host, f.Operation, f.PermissionType)
	}
	var removed [][]auth.ACL
	var err error
	if b.auth.authorizer != nil {
		removed, err = b.auth.authorizer.Delete(filters)
	}
	for i := range req.Filters {
		r := kmsg.NewDeleteACLsResponseResult()
		switch {
		case b.auth.authorizer == nil:
			r.ErrorCode, r.ErrorMessage = kerr.SecurityDisabled.Code, kmsg.StringPtr(securityDisabledMsg)
		case err != nil:
			r.ErrorCode, r.ErrorMessage = kerr.UnknownServerError.Code, kmsg.StringPtr(err.Error())
		default:
			for _, a := range removed[i] {
				m := kmsg.NewDeleteACLsResponseResultMatchingACL()
				m.ResourceType, m.ResourceName, m.ResourcePatternType = kmsg.ACLResourceType(a.ResourceType), a.ResourceName, kmsg.ACLResourcePatternType(a.PatternType)
				m.Principal, m.Host = a.Principal, a.Host
				m.Operation, m.PermissionType = kmsg.ACLOperation(a.Operation), kmsg.ACLPermissionType(a.Permission)
				r.MatchingACLs = append(r.MatchingACLs, m)
				b.logger.Info("ACL deleted", append(logAttrs(info), "by", info.Principal(), "acl", describeACL(a))...)
			}
		}
		resp.Results = append(resp.Results, r)
	}
	return resp, nil
}

// describeACL words an ACL for a log line, as kafka-acls.sh prints one.
func describeACL(a auth.ACL) string {
	return kmsg.ACLPermissionType(a.Permission).String() + " " + a.Principal + " " + kmsg.ACLOperation(a.Operation).String() +
		" from host " + a.Host + " on " + kmsg.ACLResourceType(a.ResourceType).String() + ":" +
		kmsg.ACLResourcePatternType(a.PatternType).String() + ":" + a.ResourceName
}
