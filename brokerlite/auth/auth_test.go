package auth

import (
	"crypto/sha256"
	"path/filepath"
	"strings"
	"testing"

	"crypto/pbkdf2"
	"github.com/xdg-go/scram"
)

func TestParseJAAS(t *testing.T) {
	j, err := ParseJAAS(`org.apache.kafka.common.security.plain.PlainLoginModule required
		username="admin" password="a\"b" user_admin="a\"b" user_alice=plain;`)
	if err != nil {
		t.Fatal(err)
	}
	if j.LoginModule != PlainLoginModule || j.Flag != "required" || j.Options["password"] != `a"b` || j.Options["user_alice"] != "plain" {
		t.Fatalf("%+v", j)
	}
	users, err := PlainUsersFromJAAS(j)
	if err != nil || len(users) != 2 || users["admin"] != `a"b` {
		t.Fatalf("%v %v", users, err)
	}
	for _, bad := range []string{
		"", "org.Foo", "org.Foo required", "org.Foo maybe a=b;", `org.Foo required a="b`, "org.Foo required a=b; org.Bar required;", "org.Foo required =b;",
	} {
		if _, err := ParseJAAS(bad); err == nil {
			t.Errorf("ParseJAAS(%q) accepted", bad)
		}
	}
}

func TestVerifyPlain(t *testing.T) {
	u := PlainUsers{"alice": "pw"}
	for _, c := range []struct {
		msg  string
		user string
	}{
		{"\x00alice\x00pw", "alice"},
		{"alice\x00alice\x00pw", "alice"},
		{"bob\x00alice\x00pw", ""},
		{"\x00alice\x00nope", ""},
		{"\x00bob\x00pw", ""},
		{"\x00\x00", ""},
		{"alice", ""},
	} {
		got, err := u.VerifyPlain([]byte(c.msg))
		if got != c.user || (err == nil) != (c.user != "") {
			t.Errorf("VerifyPlain(%q) = %q, %v; want %q", c.msg, got, err, c.user)
		}
	}
}

func TestAuthorizerRules(t *testing.T) {
	dir := t.TempDir()
	a, err := NewAuthorizer(AuthorizerConfig{SuperUsers: []string{"User:admin"}, Path: filepath.Join(dir, "acls.json")})
	if err != nil {
		t.Fatal(err)
	}
	acls := []ACL{
		{ResourceTopic, "orders", PatternLiteral, "User:alice", "*", OpRead, PermissionAllow},
		{ResourceTopic, "app-", PatternPrefixed, "User:alice", "*", OpAll, PermissionAllow},
		{ResourceTopic, "app-secret", PatternLiteral, "User:alice", "*", OpWrite, PermissionDeny},
		{ResourceTopic, "*", PatternLiteral, "User:*", "10.0.0.1", OpDescribe, PermissionAllow},
		{ResourceGroup, "g", PatternLiteral, "User:bob", "*", OpAlterConfigs, PermissionAllow},
	}
	for i, err := range a.Create(acls) {
		if err != nil {
			t.Fatalf("acl %d: %v", i, err)
		}
	}
	for _, c := range []struct {
		principal, host string
		op              Operation
		rt              ResourceType
		name            string
		want            bool
	}{
		{"User:admin", "h", OpDelete, ResourceCluster, "kafka-cluster", true},
		{"User:alice", "h", OpRead, ResourceTopic, "orders", true},
		{"User:alice", "h", OpDescribe, ResourceTopic, "orders", true}, // READ implies DESCRIBE
		{"User:alice", "h", OpWrite, ResourceTopic, "orders", false},
		{"User:alice", "h", OpWrite, ResourceTopic, "app-counts", true},
		{"User:alice", "h", OpWrite, ResourceTopic, "app-secret", false}, // deny wins
		{"User:alice", "h", OpRead, ResourceTopic, "app-secret", true},
		{"User:bob", "h", OpRead, ResourceTopic, "orders", false},
		{"User:bob", "10.0.0.1", OpDescribe, ResourceTopic, "orders", true}, // wildcard principal, host
		{"User:bob", "10.0.0.2", OpDescribe, ResourceTopic, "orders", false},
		{"User:bob", "h", OpDescribeConfigs, ResourceGroup, "g", true}, // ALTER_CONFIGS implies it
		{"User:bob", "h", OpRead, ResourceTopic, "no-acl-at-all", false},
	} {
		if got := a.Authorize(c.principal, c.host, c.op, c.rt, c.name); got != c.want {
			t.Errorf("Authorize(%s, %s, %d, %d, %s) = %v, want %v", c.principal, c.host, c.op, c.rt, c.name, got, c.want)
		}
	}
	if !a.AuthorizeAny("User:alice", "h", OpWrite, ResourceTopic) || a.AuthorizeAny("User:bob", "h", OpWrite, ResourceTopic) {
		t.Error("AuthorizeAny")
	}

	// Persisted: a new authorizer on the same file sees the same ACLs.
	b, err := NewAuthorizer(AuthorizerConfig{Path: filepath.Join(dir, "acls.json"), AllowEveryoneIfNoACLFound: true})
	if err != nil {
		t.Fatal(err)
	}
	all := Filter{ResourceType: ResourceAny, PatternType: PatternAny, Operation: OpAny, Permission: PermissionAny}
	if got := b.Describe(all); len(got) != len(acls) {
		t.Fatalf("reloaded %d ACLs, want %d", len(got), len(acls))
	}
	if !b.Authorize("User:bob", "h", OpRead, ResourceGroup, "no-acl-at-all") {
		t.Error("allow.everyone.if.no.acl.found=true did not allow a resource without ACLs")
	}
	// MATCH finds the ACLs that apply to one name; delete with a filter.
	name := "app-secret"
	match := Filter{ResourceType: ResourceTopic, ResourceName: &name, PatternType: PatternMatch, Operation: OpAny, Permission: PermissionAny}
	if got := b.Describe(match); len(got) != 3 {
		t.Fatalf("MATCH app-secret: %+v", got)
	}
	removed, err := b.Delete([]Filter{{ResourceType: ResourceTopic, PatternType: PatternPrefixed, Operation: OpAny, Permission: PermissionAny}})
	if err != nil || len(removed[0]) != 1 {
		t.Fatalf("delete prefixed: %v %+v", err, removed)
	}
	c, err := NewAuthorizer(AuthorizerConfig{Path: filepath.Join(dir, "acls.json")})
	if err != nil || len(c.Describe(all)) != len(acls)-1 {
		t.Fatalf("after delete and reload: %v", err)
	}
	for _, bad := range []ACL{
		{ResourceAny, "x", PatternLiteral, "User:a", "*", OpRead, PermissionAllow},
		{ResourceTopic, "x", PatternMatch, "User:a", "*", OpRead, PermissionAllow},
		{ResourceTopic, "x", PatternLiteral, "alice", "*", OpRead, PermissionAllow},
		{ResourceTopic, "x", PatternLiteral, "User:a", "*", OpAny, PermissionAllow},
		{ResourceCluster, "other", PatternLiteral, "User:a", "*", OpAlter, PermissionAllow},
		{ResourceTopic, "*", PatternPrefixed, "User:a", "*", OpRead, PermissionAllow},
	} {
		if errs := c.Create([]ACL{bad}); errs[0] == nil {
			t.Errorf("Create accepted %+v", bad)
		}
	}
}

func TestScramCredentialsMatchLibraryClient(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "scram.json")
	c, err := OpenCredentials(path)
	if err != nil {
		t.Fatal(err)
	}
	// As AlterUserScramCredentials sends it: salted password computed by the client.
	salt := []byte("0123456789abcdef")
	salted, err := pbkdf2.Key(sha256.New, "pw", salt, 4096, 32)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.SetSalted(ScramSHA256, "alice", salt, salted, 4096); err != nil {
		t.Fatal(err)
	}
	if err := c.SetPassword(ScramSHA512, "bob", "correct-horse-battery", 4096); err != nil {
		t.Fatal(err)
	}
	if err := c.SetSalted(ScramSHA256, "x", salt, salted, 100); err == nil {
		t.Fatal("100 iterations accepted")
	}
	c2, err := OpenCredentials(path) // reload
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []struct {
		mech, user, pass string
		gen              scram.HashGeneratorFcn
		ok               bool
	}{
		{ScramSHA256, "alice", "pw", scram.SHA256, true},
		{ScramSHA256, "alice", "bad", scram.SHA256, false},
		{ScramSHA512, "bob", "correct-horse-battery", scram.SHA512, true},
		{ScramSHA512, "alice", "pw", scram.SHA512, false},
	} {
		cl, _ := u.gen.NewClient(u.user, u.pass, "")
		conv := cl.NewConversation()
		srv, err := c2.NewScramConversation(u.mech)
		if err != nil {
			t.Fatal(err)
		}
		msg, _ := conv.Step("")
		ok := false
		for i := 0; i < 3; i++ {
			out, done, user, err := srv.Step([]byte(msg))
			if err != nil {
				break
			}
			if done {
				if _, err := conv.Step(string(out)); err == nil && user == u.user {
					ok = true
				}
				break
			}
			if msg, err = conv.Step(string(out)); err != nil {
				break
			}
		}
		if ok != u.ok {
			t.Errorf("%s %s/%s: authenticated %v, want %v", u.mech, u.user, u.pass, ok, u.ok)
		}
	}
	if got := c2.Describe("alice"); len(got) != 1 || got[0].Iterations != 4096 {
		t.Fatalf("describe: %+v", got)
	}
	if err := c2.Delete(ScramSHA256, "alice"); err != nil {
		t.Fatal(err)
	}
	if err := c2.Delete(ScramSHA256, "alice"); err != ErrNoCredential {
		t.Fatalf("second delete: %v", err)
	}
	if strings.Contains(readString(t, path), "correct-horse") {
		t.Fatal("the credential file holds a password")
	}
}

func TestParseJAASErrorsDoNotQuoteSecrets(t *testing.T) {
	for _, bad := range []string{
		`org.Foo required password=top secret;`,
		`org.Foo required password="top-secret";x`,
		`org.Foo required user_a="top-secret" top-secret`,
	} {
		_, err := ParseJAAS(bad)
		if err == nil {
			t.Fatalf("ParseJAAS(%q) accepted", bad)
		}
		if strings.Contains(err.Error(), "secret") {
			t.Errorf("the error quotes the value: %v", err)
		}
	}
}

// AuthorizeAny follows Kafka's Authorizer.authorizeByResourceType: a hard-coded name first
// (super users; allow.everyone.if.no.acl.found where no ACL covers it), then an ALLOW of
// exactly the operation (or ALL) that no literal DENY of the same name, no PREFIXED DENY of
// any prefix of it, and no literal wildcard DENY cancels.
func TestAuthorizeAnyByResourceType(t *testing.T) {
	for _, c := range []struct {
		name      string
		everyone  bool
		acls      []ACL
		principal string
		want      bool
	}{
		{"no ACLs, allow.everyone", true, nil, "User:alice", true},
		{"no ACLs", false, nil, "User:alice", false},
		{"super user", false, []ACL{{ResourceTopic, "*", PatternLiteral, "User:*", "*", OpWrite, PermissionDeny}}, "User:admin", true},
		{"allow.everyone with ACLs on other names", true, []ACL{
			{ResourceTopic, "x", PatternLiteral, "User:bob", "*", OpRead, PermissionAllow},
		}, "User:alice", true},
		{"allow.everyone, wildcard ACL of another principal covers the hard-coded name", true, []ACL{
			{ResourceTopic, "*", PatternLiteral, "User:bob", "*", OpWrite, PermissionAllow},
		}, "User:alice", false},
		{"literal allow", false, []ACL{{ResourceTopic, "orders", PatternLiteral, "User:alice", "*", OpWrite, PermissionAllow}}, "User:alice", true},
		{"literal allow, same literal deny", false, []ACL{
			{ResourceTopic, "orders", PatternLiteral, "User:alice", "*", OpWrite, PermissionAllow},
			{ResourceTopic, "orders", PatternLiteral, "User:alice", "*", OpWrite, PermissionDeny},
		}, "User:alice", false},
		{"literal allow, deny of a shorter prefix", false, []ACL{
			{ResourceTopic, "orders-eu", PatternLiteral, "User:alice", "*", OpWrite, PermissionAllow},
			{ResourceTopic, "orders", PatternPrefixed, "User:alice", "*", OpWrite, PermissionDeny},
		}, "User:alice", false},
		{"prefixed allow, deny of a longer prefix", false, []ACL{
			{ResourceTopic, "orders", PatternPrefixed, "User:alice", "*", OpWrite, PermissionAllow},
			{ResourceTopic, "orders-eu", PatternPrefixed, "User:alice", "*", OpWrite, PermissionDeny},
		}, "User:alice", true},
		{"wildcard deny", false, []ACL{
			{ResourceTopic, "orders", PatternLiteral, "User:alice", "*", OpWrite, PermissionAllow},
			{ResourceTopic, "*", PatternLiteral, "User:*", "*", OpAll, PermissionDeny},
		}, "User:alice", false},
		{"only an implying operation", false, []ACL{{ResourceTopic, "orders", PatternLiteral, "User:alice", "*", OpRead, PermissionAllow}}, "User:alice", false},
		{"ALL", false, []ACL{{ResourceTopic, "orders", PatternLiteral, "User:*", "*", OpAll, PermissionAllow}}, "User:alice", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			a, err := NewAuthorizer(AuthorizerConfig{SuperUsers: []string{"User:admin"}, Path: filepath.Join(t.TempDir(), "acls.json"), AllowEveryoneIfNoACLFound: c.everyone})
			if err != nil {
				t.Fatal(err)
			}
			for i, err := range a.Create(c.acls) {
				if err != nil {
					t.Fatalf("acl %d: %v", i, err)
				}
			}
			if got := a.AuthorizeAny(c.principal, "h", OpWrite, ResourceTopic); got != c.want {
				t.Fatalf("AuthorizeAny = %v, want %v", got, c.want)
			}
		})
	}
}
