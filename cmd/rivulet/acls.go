package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/rivulet-io/rivulet/client"
	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { rootCmd.AddCommand(newACLsCmd()) }

type aclsOpts struct {
	conn connFlags

	add, remove, list bool

	allowPrincipals, denyPrincipals []string
	allowHosts, denyHosts           []string
	operations                      []string
	topics, groups, txnIDs          []string
	cluster                         bool
	patternType                     string
	principal                       string
	producer, consumer              bool
	force                           bool
}

func newACLsCmd() *cobra.Command {
	o := &aclsOpts{}
	cmd, f := toolCmd(&cobra.Command{
		Use:   "acls",
		Short: "Add, remove and list ACLs (like kafka-acls.sh)",
		Long: `acls manages ACLs with the flags of Kafka's kafka-acls.sh. Give one action: --add, --remove
or --list. The broker must run an authorizer (authorizer.class.name) and the caller needs
ALTER (add, remove) or DESCRIBE (list) on the cluster: connect as a super user with
--command-config holding its security settings.

Resources: --topic, --group, --transactional-id (repeatable; '*' is every one) and
--cluster. --resource-pattern-type is literal (the default) or prefixed; --list and
--remove also take any and match. Principals are Type:name (User:alice; User:CN=alice,O=Org
for a TLS client certificate). Hosts default to '*'.

--producer adds WRITE, DESCRIBE and CREATE on the topics; --consumer adds READ and
DESCRIBE on the topics and READ on the groups. --remove removes without asking (--force is
accepted for kafka-acls.sh scripts). Exit codes: 0 ok, 1 failure, 2 bad flags.`,
		Example: `  rivulet acls --bootstrap-server 127.0.0.1:9093 --command-config admin.properties \
    --add --allow-principal User:alice --operation Read --operation Describe --topic orders
  rivulet acls --add --allow-principal User:app --operation All --topic wordcount- --group wordcount --resource-pattern-type prefixed
  rivulet acls --add --allow-principal User:bob --producer --topic events
  rivulet acls --add --deny-principal User:mallory --operation Write --topic '*'
  rivulet acls --list --topic orders
  rivulet acls --list --principal User:alice
  rivulet acls --remove --allow-principal User:alice --operation Read --topic orders`,
	}, o.conn.registerAdmin, func(cmd *cobra.Command) error { return runACLs(cmd, o) })
	f.BoolVar(&o.add, "add", false, "add ACLs")
	f.BoolVar(&o.remove, "remove", false, "remove the ACLs the flags select")
	f.BoolVar(&o.list, "list", false, "list ACLs (of the given resources, or all)")
	f.StringArrayVar(&o.allowPrincipals, "allow-principal", nil, "principal to allow, Type:name (repeatable)")
	f.StringArrayVar(&o.denyPrincipals, "deny-principal", nil, "principal to deny, Type:name (repeatable)")
	f.StringArrayVar(&o.allowHosts, "allow-host", nil, "host the allowed principals may connect from (default '*')")
	f.StringArrayVar(&o.denyHosts, "deny-host", nil, "host the denied principals are denied from (default '*')")
	f.StringArrayVar(&o.operations, "operation", nil, "Read, Write, Create, Delete, Alter, Describe, ClusterAction, DescribeConfigs, AlterConfigs, IdempotentWrite or All (repeatable)")
	f.StringArrayVar(&o.topics, "topic", nil, "topic (repeatable)")
	f.StringArrayVar(&o.groups, "group", nil, "consumer group (repeatable)")
	f.StringArrayVar(&o.txnIDs, "transactional-id", nil, "transactional id (repeatable)")
	f.BoolVar(&o.cluster, "cluster", false, "the cluster resource")
	f.StringVar(&o.patternType, "resource-pattern-type", "literal", "literal or prefixed; --list and --remove also take any and match")
	f.StringVar(&o.principal, "principal", "", "with --list: only ACLs of this principal")
	f.BoolVar(&o.producer, "producer", false, "with --add/--remove: the producer operations (WRITE, DESCRIBE, CREATE on the topics)")
	f.BoolVar(&o.consumer, "consumer", false, "with --add/--remove: the consumer operations (READ, DESCRIBE on the topics, READ on the groups)")
	f.BoolVar(&o.force, "force", false, "accepted for kafka-acls.sh compatibility: --remove never asks")
	return cmd
}

// aclResource is one resource the flags name.
type aclResource struct {
	typ  kmsg.ACLResourceType
	name string
}

// aclEntry is one principal on one host with one permission.
type aclEntry struct {
	principal, host string
	perm            kmsg.ACLPermissionType
}

func runACLs(cmd *cobra.Command, o *aclsOpts) error {
	n := 0
	for _, a := range []bool{o.add, o.remove, o.list} {
		if a {
			n++
		}
	}
	if n != 1 {
		return usageErrorf(cmd, "give exactly one action: --add, --remove or --list")
	}
	pattern, err := kmsg.ParseACLResourcePatternType(o.patternType)
	if err != nil {
		return usageErrorf(cmd, "--resource-pattern-type %q: use literal or prefixed (any or match with --list and --remove)", o.patternType)
	}
	if o.add && pattern != kmsg.ACLResourcePatternTypeLiteral && pattern != kmsg.ACLResourcePatternTypePrefixed {
		return usageErrorf(cmd, "--add takes --resource-pattern-type literal or prefixed")
	}
	var resources []aclResource
	for _, t := range o.topics {
		resources = append(resources, aclResource{kmsg.ACLResourceTypeTopic, t})
	}
	for _, g := range o.groups {
		resources = append(resources, aclResource{kmsg.ACLResourceTypeGroup, g})
	}
	for _, x := range o.txnIDs {
		resources = append(resources, aclResource{kmsg.ACLResourceTypeTransactionalId, x})
	}
	if o.cluster {
		resources = append(resources, aclResource{kmsg.ACLResourceTypeCluster, "kafka-cluster"})
	}
	var ops []kmsg.ACLOperation
	for _, s := range o.operations {
		op, err := kmsg.ParseACLOperation(s)
		if err != nil || op == kmsg.ACLOperationAny && o.add {
			return usageErrorf(cmd, "--operation %q is not an ACL operation (Read, Write, Create, Delete, Alter, Describe, ClusterAction, DescribeConfigs, AlterConfigs, IdempotentWrite, All)", s)
		}
		ops = append(ops, op)
	}
	for _, p := range append(append([]string{o.principal}, o.allowPrincipals...), o.denyPrincipals...) {
		if p != "" && !strings.Contains(p, ":") {
			return usageErrorf(cmd, "principal %q must be Type:name, e.g. User:%s", p, p)
		}
	}
	if o.list {
		if len(o.allowPrincipals)+len(o.denyPrincipals) > 0 || len(ops) > 0 || o.producer || o.consumer {
			return usageErrorf(cmd, "--list takes resources and --principal only")
		}
	} else {
		if o.principal != "" {
			return usageErrorf(cmd, "--principal applies only to --list (use --allow-principal or --deny-principal)")
		}
		if len(resources) == 0 {
			return usageErrorf(cmd, "name a resource: --topic, --group, --transactional-id or --cluster")
		}
		if o.add && len(o.allowPrincipals)+len(o.denyPrincipals) == 0 {
			return usageErrorf(cmd, "--add needs --allow-principal or --deny-principal")
		}
		if o.add && len(ops) == 0 && !o.producer && !o.consumer {
			return usageErrorf(cmd, "--add needs --operation, --producer or --consumer")
		}
		if o.consumer && len(o.groups) == 0 {
			return usageErrorf(cmd, "--consumer needs --group")
		}
	}
	var entries []aclEntry
	hosts := func(h []string) []string {
		if len(h) == 0 {
			return []string{"*"}
		}
		return h
	}
	for _, p := range o.allowPrincipals {
		for _, h := range hosts(o.allowHosts) {
			entries = append(entries, aclEntry{p, h, kmsg.ACLPermissionTypeAllow})
		}
	}
	for _, p := range o.denyPrincipals {
		for _, h := range hosts(o.denyHosts) {
			entries = append(entries, aclEntry{p, h, kmsg.ACLPermissionTypeDeny})
		}
	}
	// opsFor is the operations for one resource: --operation, plus --producer/--consumer's.
	opsFor := func(r aclResource) []kmsg.ACLOperation {
		out := append([]kmsg.ACLOperation(nil), ops...)
		if r.typ == kmsg.ACLResourceTypeTopic && o.producer {
			out = append(out, kmsg.ACLOperationWrite, kmsg.ACLOperationDescribe, kmsg.ACLOperationCreate)
		}
		if r.typ == kmsg.ACLResourceTypeTopic && o.consumer {
			out = append(out, kmsg.ACLOperationRead, kmsg.ACLOperationDescribe)
		}
		if r.typ == kmsg.ACLResourceTypeGroup && o.consumer {
			out = append(out, kmsg.ACLOperationRead)
		}
		return out
	}

	return o.conn.withAdmin(cmd, func(ctx context.Context, adm *client.Admin, out io.Writer) error {
		cl := adm.Kgo()
		switch {
		case o.add:
			req := kmsg.NewPtrCreateACLsRequest()
			for _, r := range resources {
				for _, op := range opsFor(r) {
					for _, e := range entries {
						c := kmsg.NewCreateACLsRequestCreation()
						c.ResourceType, c.ResourceName, c.ResourcePatternType = r.typ, r.name, pattern
						c.Principal, c.Host, c.Operation, c.PermissionType = e.principal, e.host, op, e.perm
						req.Creations = append(req.Creations, c)
					}
				}
			}
			resp, err := req.RequestWith(ctx, cl)
			if err != nil {
				return failuref("adding ACLs: %v", err)
			}
			for i, r := range resp.Results {
				if err := kafkaCode(r.ErrorCode); err != nil {
					c := req.Creations[i]
					return failuref("adding ACL %s %s %s on %s:%s: %s", c.PermissionType, c.Principal, c.Operation, c.ResourceType, c.ResourceName, kafkaError(err, strOr(r.ErrorMessage)))
				}
			}
			fmt.Fprintf(out, "Added %d ACL(s).\n", len(req.Creations))
			return printACLs(ctx, cl, out, resources, pattern, "")
		case o.remove:
			req := kmsg.NewPtrDeleteACLsRequest()
			if len(entries) == 0 {
				entries = []aclEntry{{perm: kmsg.ACLPermissionTypeAny}}
			}
			for _, r := range resources {
				rops := opsFor(r)
				if len(rops) == 0 {
					rops = []kmsg.ACLOperation{kmsg.ACLOperationAny}
				}
				for _, op := range rops {
					for _, e := range entries {
						f := kmsg.NewDeleteACLsRequestFilter()
						f.ResourceType, f.ResourceName, f.ResourcePatternType = r.typ, kmsg.StringPtr(r.name), pattern
						f.Operation, f.PermissionType = op, e.perm
						if e.principal != "" {
							f.Principal, f.Host = kmsg.StringPtr(e.principal), kmsg.StringPtr(e.host)
						}
						req.Filters = append(req.Filters, f)
					}
				}
			}
			resp, err := req.RequestWith(ctx, cl)
			if err != nil {
				return failuref("removing ACLs: %v", err)
			}
			removed := 0
			for _, r := range resp.Results {
				if err := kafkaCode(r.ErrorCode); err != nil {
					return failuref("removing ACLs: %s", kafkaError(err, strOr(r.ErrorMessage)))
				}
				removed += len(r.MatchingACLs)
			}
			fmt.Fprintf(out, "Removed %d ACL(s).\n", removed)
			return nil
		default:
			if len(resources) == 0 && cmd.Flags().Changed("resource-pattern-type") {
				return usageErrorf(cmd, "--resource-pattern-type with --list needs a resource")
			}
			if len(resources) == 0 {
				pattern = kmsg.ACLResourcePatternTypeAny
			}
			return printACLs(ctx, cl, out, resources, pattern, o.principal)
		}
	})
}

// printACLs lists the ACLs of the resources (every ACL when none is given), as
// kafka-acls.sh prints them.
func printACLs(ctx context.Context, cl *kgo.Client, out io.Writer, resources []aclResource, pattern kmsg.ACLResourcePatternType, principal string) error {
	if len(resources) == 0 {
		resources = []aclResource{{typ: kmsg.ACLResourceTypeAny}}
	}
	for _, r := range resources {
		req := kmsg.NewPtrDescribeACLsRequest()
		req.ResourceType, req.ResourcePatternType = r.typ, pattern
		if r.name != "" {
			req.ResourceName = kmsg.StringPtr(r.name)
		}
		if principal != "" {
			req.Principal = kmsg.StringPtr(principal)
		}
		req.Operation, req.PermissionType = kmsg.ACLOperationAny, kmsg.ACLPermissionTypeAny
		resp, err := req.RequestWith(ctx, cl)
		if err != nil {
			return failuref("listing ACLs: %v", err)
		}
		if err := kafkaCode(resp.ErrorCode); err != nil {
			return failuref("listing ACLs: %s", kafkaError(err, strOr(resp.ErrorMessage)))
		}
		for _, res := range resp.Resources {
			fmt.Fprintf(out, "Current ACLs for resource `ResourcePattern(resourceType=%s, name=%s, patternType=%s)`:\n", res.ResourceType, res.ResourceName, res.ResourcePatternType)
			for _, a := range res.ACLs {
				fmt.Fprintf(out, " \t(principal=%s, host=%s, operation=%s, permissionType=%s)\n", a.Principal, a.Host, a.Operation, a.PermissionType)
			}
			fmt.Fprintln(out)
		}
	}
	return nil
}

func strOr(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// kafkaCode is the error of a Kafka error code (nil for 0).
func kafkaCode(code int16) error { return kerr.ErrorForCode(code) }
