package auth

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
)

// ResourceType is a Kafka ACL resource type, with Kafka's wire codes.
type ResourceType int8

// Kafka's resource types.
const (
	ResourceAny             ResourceType = 1
	ResourceTopic           ResourceType = 2
	ResourceGroup           ResourceType = 3
	ResourceCluster         ResourceType = 4
	ResourceTransactionalID ResourceType = 5
	ResourceDelegationToken ResourceType = 6
	ResourceUser            ResourceType = 7
)

// Operation is a Kafka ACL operation, with Kafka's wire codes.
type Operation int8

// Kafka's operations.
const (
	OpAny             Operation = 1
	OpAll             Operation = 2
	OpRead            Operation = 3
	OpWrite           Operation = 4
	OpCreate          Operation = 5
	OpDelete          Operation = 6
	OpAlter           Operation = 7
	OpDescribe        Operation = 8
	OpClusterAction   Operation = 9
	OpDescribeConfigs Operation = 10
	OpAlterConfigs    Operation = 11
	OpIdempotentWrite Operation = 12
	OpCreateTokens    Operation = 13
	OpDescribeTokens  Operation = 14
)

// PatternType is how an ACL's resource name matches, with Kafka's wire codes.
type PatternType int8

// Kafka's pattern types. Any and Match are only for filters.
const (
	PatternAny      PatternType = 1
	PatternMatch    PatternType = 2
	PatternLiteral  PatternType = 3
	PatternPrefixed PatternType = 4
)

// Permission is allow or deny, with Kafka's wire codes.
type Permission int8

// Kafka's permission types. PermissionAny is only for filters.
const (
	PermissionAny   Permission = 1
	PermissionDeny  Permission = 2
	PermissionAllow Permission = 3
)

// WildcardResource is the literal resource name that matches every resource of its type.
const WildcardResource = "*"

// WildcardPrincipal matches every user.
const WildcardPrincipal = "User:*"

// WildcardHost matches every host.
const WildcardHost = "*"

// ACL is one access control entry bound to a resource pattern, as Kafka's AclBinding.
type ACL struct {
	ResourceType ResourceType `json:"resource_type"`
	ResourceName string       `json:"resource_name"`
	PatternType  PatternType  `json:"pattern_type"`
	Principal    string       `json:"principal"`
	Host         string       `json:"host"`
	Operation    Operation    `json:"operation"`
	Permission   Permission   `json:"permission"`
}

// Filter selects ACLs, as Kafka's AclBindingFilter: nil strings and the Any values match
// everything; PatternMatch matches the ACLs that apply to one resource name (literal,
// wildcard and prefixes of it).
type Filter struct {
	ResourceType ResourceType
	ResourceName *string
	PatternType  PatternType
	Principal    *string
	Host         *string
	Operation    Operation
	Permission   Permission
}

// Validate checks a new ACL as CreateAcls does; the error says what is wrong.
func (a ACL) Validate() error {
	switch a.ResourceType {
	case ResourceTopic, ResourceGroup, ResourceCluster, ResourceTransactionalID, ResourceDelegationToken, ResourceUser:
	default:
		return fmt.Errorf("auth: resource type %d is not a concrete resource type", a.ResourceType)
	}
	switch a.PatternType {
	case PatternLiteral, PatternPrefixed:
	default:
		return fmt.Errorf("auth: pattern type %d must be LITERAL or PREFIXED", a.PatternType)
	}
	if a.ResourceName == "" {
		return errors.New("auth: resource name must not be empty")
	}
	if a.ResourceType == ResourceCluster && (a.ResourceName != "kafka-cluster" || a.PatternType != PatternLiteral) {
		return errors.New("auth: the cluster resource is the literal name kafka-cluster")
	}
	if a.PatternType == PatternPrefixed && a.ResourceName == WildcardResource {
		return errors.New("auth: a PREFIXED pattern cannot be the wildcard '*'; use LITERAL '*'")
	}
	if _, _, ok := strings.Cut(a.Principal, ":"); !ok || strings.HasPrefix(a.Principal, ":") {
		return fmt.Errorf("auth: principal %q is not of the form Type:name (User:alice)", a.Principal)
	}
	if a.Host == "" {
		return errors.New("auth: host must not be empty ('*' for every host)")
	}
	if a.Operation < OpAll || a.Operation > OpDescribeTokens {
		return fmt.Errorf("auth: operation %d is not a concrete operation", a.Operation)
	}
	if a.Permission != PermissionAllow && a.Permission != PermissionDeny {
		return fmt.Errorf("auth: permission %d must be ALLOW or DENY", a.Permission)
	}
	return nil
}

// Matches reports whether the filter selects acl.
func (f Filter) Matches(a ACL) bool {
	if f.ResourceType != ResourceAny && f.ResourceType != a.ResourceType {
		return false
	}
	switch f.PatternType {
	case PatternAny:
		if f.ResourceName != nil && *f.ResourceName != a.ResourceName {
			return false
		}
	case PatternMatch:
		if f.ResourceName != nil && !patternApplies(a, *f.ResourceName) {
			return false
		}
	default:
		if f.PatternType != a.PatternType {
			return false
		}
		if f.ResourceName != nil && *f.ResourceName != a.ResourceName {
			return false
		}
	}
	if f.Principal != nil && *f.Principal != a.Principal {
		return false
	}
	if f.Host != nil && *f.Host != a.Host {
		return false
	}
	if f.Operation != OpAny && f.Operation != a.Operation {
		return false
	}
	if f.Permission != PermissionAny && f.Permission != a.Permission {
		return false
	}
	return true
}

// patternApplies reports whether acl's resource pattern covers the resource called name.
func patternApplies(a ACL, name string) bool {
	switch a.PatternType {
	case PatternLiteral:
		return a.ResourceName == name || a.ResourceName == WildcardResource
	case PatternPrefixed:
		return strings.HasPrefix(name, a.ResourceName)
	}
	return false
}

// Authorizer decides requests from the ACLs it holds, as Kafka's StandardAuthorizer:
// super users may do anything; a matching DENY wins over any ALLOW; an ALLOW of the
// operation (or of ALL) grants it, and READ, WRITE, DELETE or ALTER imply DESCRIBE,
// ALTER_CONFIGS implies DESCRIBE_CONFIGS; a resource without any ACL is allowed only when
// allow.everyone.if.no.acl.found is true. ACLs are kept in a file and survive restarts.
type Authorizer struct {
	superUsers      map[string]bool
	allowIfNoACL    bool
	store           *fileStore
	mu              sync.RWMutex
	acls            []ACL
	byResourceTypes map[ResourceType][]int // indexes into acls
	// literal and prefixed index acls by resource type and pattern name, so a check costs
	// one lookup for the name, one for '*' and one per prefix length, whatever the number
	// of ACLs.
	literal, prefixed map[resourceKey][]int
	prefixLens        []int // the distinct lengths of prefixed names, ascending
}

type resourceKey struct {
	rt   ResourceType
	name string
}

// AuthorizerConfig configures an Authorizer.
type AuthorizerConfig struct {
	// SuperUsers are principals (User:admin) that skip every check (super.users).
	SuperUsers []string
	// AllowEveryoneIfNoACLFound is allow.everyone.if.no.acl.found. The default value is false.
	AllowEveryoneIfNoACLFound bool
	// Path is the file the ACLs are kept in; it is created on the first change.
	Path string
}

// NewAuthorizer loads the ACLs kept at cfg.Path (none when the file does not exist yet).
func NewAuthorizer(cfg AuthorizerConfig) (*Authorizer, error) {
	a := &Authorizer{superUsers: map[string]bool{}, allowIfNoACL: cfg.AllowEveryoneIfNoACLFound, store: &fileStore{path: cfg.Path}}
	for _, u := range cfg.SuperUsers {
		a.superUsers[u] = true
	}
	var acls []ACL
	if err := a.store.load(&acls); err != nil {
		return nil, fmt.Errorf("auth: loading ACLs: %w", err)
	}
	for i, acl := range acls {
		if err := acl.Validate(); err != nil {
			return nil, fmt.Errorf("auth: ACL %d in %s: %w", i, cfg.Path, err)
		}
	}
	a.setLocked(acls)
	return a, nil
}

func (a *Authorizer) setLocked(acls []ACL) {
	a.acls = acls
	a.byResourceTypes = map[ResourceType][]int{}
	a.literal, a.prefixed = map[resourceKey][]int{}, map[resourceKey][]int{}
	lens := map[int]bool{}
	a.prefixLens = nil
	for i, acl := range acls {
		a.byResourceTypes[acl.ResourceType] = append(a.byResourceTypes[acl.ResourceType], i)
		k := resourceKey{acl.ResourceType, acl.ResourceName}
		if acl.PatternType == PatternPrefixed {
			a.prefixed[k] = append(a.prefixed[k], i)
			if !lens[len(acl.ResourceName)] {
				lens[len(acl.ResourceName)] = true
				a.prefixLens = append(a.prefixLens, len(acl.ResourceName))
			}
		} else {
			a.literal[k] = append(a.literal[k], i)
		}
	}
	sort.Ints(a.prefixLens)
}

// IsSuperUser reports whether principal is listed in super.users.
func (a *Authorizer) IsSuperUser(principal string) bool { return a.superUsers[principal] }

// Authorize reports whether principal, connected from host, may perform op on the resource.
func (a *Authorizer) Authorize(principal, host string, op Operation, rt ResourceType, name string) bool {
	if a.superUsers[principal] {
		return true
	}
	a.mu.RLock()
	defer a.mu.RUnlock()
	found := false
	allowed := false
	denied := false
	check := func(idx []int) {
		for _, i := range idx {
			acl := a.acls[i]
			found = true
			if acl.Principal != principal && acl.Principal != WildcardPrincipal {
				continue
			}
			if acl.Host != host && acl.Host != WildcardHost {
				continue
			}
			if acl.Permission == PermissionDeny {
				if acl.Operation == op || acl.Operation == OpAll {
					denied = true
				}
				continue
			}
			if implies(acl.Operation, op) {
				allowed = true
			}
		}
	}
	check(a.literal[resourceKey{rt, name}])
	if name != WildcardResource {
		check(a.literal[resourceKey{rt, WildcardResource}])
	}
	for _, n := range a.prefixLens {
		if n > len(name) {
			break
		}
		check(a.prefixed[resourceKey{rt, name[:n]}])
	}
	if denied {
		return false
	}
	if !found {
		return a.allowIfNoACL
	}
	return allowed
}

// implies reports whether an ALLOW of have grants want.
func implies(have, want Operation) bool {
	if have == want || have == OpAll {
		return true
	}
	switch want {
	case OpDescribe:
		return have == OpRead || have == OpWrite || have == OpDelete || have == OpAlter
	case OpDescribeConfigs:
		return have == OpAlterConfigs
	}
	return false
}

// AuthorizeAny reports whether principal may perform op on at least one resource of type
// rt: Kafka's check for an idempotent producer (WRITE on any topic) and for listing groups.
// It follows Kafka's Authorizer.authorizeByResourceType:
//   - a resource of a hard-coded name is authorized first, so super users, and
//     allow.everyone.if.no.acl.found where no ACL covers that name, are allowed whatever
//     DENY ACLs exist;
//   - otherwise an ALLOW of exactly op (or ALL) is needed, on the literal wildcard, or on a
//     name no DENY cancels: a literal DENY of the same name, or a PREFIXED DENY of any
//     prefix of it (a literal wildcard DENY cancels everything).
func (a *Authorizer) AuthorizeAny(principal, host string, op Operation, rt ResourceType) bool {
	if a.Authorize(principal, host, op, rt, "hardcode") {
		return true
	}
	a.mu.RLock()
	defer a.mu.RUnlock()
	denyLiteral, denyPrefixed := map[string]bool{}, map[string]bool{}
	var allows []ACL
	wildcardAllow := false
	for _, i := range a.byResourceTypes[rt] {
		acl := a.acls[i]
		if acl.Host != host && acl.Host != WildcardHost {
			continue
		}
		if acl.Principal != principal && acl.Principal != WildcardPrincipal {
			continue
		}
		if acl.Operation != op && acl.Operation != OpAll {
			continue
		}
		switch {
		case acl.Permission == PermissionDeny && acl.PatternType == PatternLiteral:
			if acl.ResourceName == WildcardResource {
				return false
			}
			denyLiteral[acl.ResourceName] = true
		case acl.Permission == PermissionDeny && acl.PatternType == PatternPrefixed:
			denyPrefixed[acl.ResourceName] = true
		case acl.Permission == PermissionAllow && acl.PatternType == PatternLiteral && acl.ResourceName == WildcardResource:
			wildcardAllow = true
		case acl.Permission == PermissionAllow:
			allows = append(allows, acl)
		}
	}
	if wildcardAllow {
		return true
	}
	for _, acl := range allows {
		if acl.PatternType == PatternLiteral && denyLiteral[acl.ResourceName] {
			continue
		}
		dominated := false
		for n := 1; n <= len(acl.ResourceName); n++ {
			if denyPrefixed[acl.ResourceName[:n]] {
				dominated = true
				break
			}
		}
		if !dominated {
			return true
		}
	}
	return false
}

// Create adds ACLs (an ACL already held is not duplicated) and persists them before it
// returns. Each ACL gets its own error (nil when added); a failed write fails all of them.
func (a *Authorizer) Create(acls []ACL) []error {
	errs := make([]error, len(acls))
	a.mu.Lock()
	defer a.mu.Unlock()
	next := append([]ACL(nil), a.acls...)
	have := map[ACL]bool{}
	for _, acl := range next {
		have[acl] = true
	}
	for i, acl := range acls {
		if err := acl.Validate(); err != nil {
			errs[i] = err
			continue
		}
		if !have[acl] {
			have[acl] = true
			next = append(next, acl)
		}
	}
	if err := a.store.save(next); err != nil {
		for i := range errs {
			if errs[i] == nil {
				errs[i] = fmt.Errorf("auth: saving ACLs: %w", err)
			}
		}
		return errs
	}
	a.setLocked(next)
	return errs
}

// Describe returns the ACLs the filter selects, sorted.
func (a *Authorizer) Describe(f Filter) []ACL {
	a.mu.RLock()
	defer a.mu.RUnlock()
	var out []ACL
	for _, acl := range a.acls {
		if f.Matches(acl) {
			out = append(out, acl)
		}
	}
	sortACLs(out)
	return out
}

// Delete removes the ACLs each filter selects and persists the rest. It returns, per filter,
// the ACLs it removed.
func (a *Authorizer) Delete(filters []Filter) ([][]ACL, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	removed := make([][]ACL, len(filters))
	var keep []ACL
	for _, acl := range a.acls {
		gone := false
		for i, f := range filters {
			if f.Matches(acl) {
				removed[i] = append(removed[i], acl)
				gone = true
			}
		}
		if !gone {
			keep = append(keep, acl)
		}
	}
	if len(keep) == len(a.acls) {
		return removed, nil
	}
	if err := a.store.save(keep); err != nil {
		return nil, fmt.Errorf("auth: saving ACLs: %w", err)
	}
	a.setLocked(keep)
	return removed, nil
}

func sortACLs(acls []ACL) {
	slices.SortFunc(acls, func(x, y ACL) int {
		return cmp.Or(
			cmp.Compare(x.ResourceType, y.ResourceType),
			cmp.Compare(x.ResourceName, y.ResourceName),
			cmp.Compare(x.PatternType, y.PatternType),
			cmp.Compare(x.Principal, y.Principal),
			cmp.Compare(x.Host, y.Host),
			cmp.Compare(x.Operation, y.Operation),
			cmp.Compare(x.Permission, y.Permission),
		)
	})
}
