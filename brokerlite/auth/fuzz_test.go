package auth

import (
	"os"
	"testing"
)

func readString(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// FuzzParseJAAS: any sasl.jaas.config value gets an answer or an error, never a panic, and
// an accepted one has a login module and a flag.
func FuzzParseJAAS(f *testing.F) {
	f.Add(`org.apache.kafka.common.security.plain.PlainLoginModule required username="a" password="b" user_a="b";`)
	f.Add(`x required a="\"";`)
	f.Add(`x optional a=b c="d e";`)
	f.Fuzz(func(t *testing.T, s string) {
		j, err := ParseJAAS(s)
		if err == nil && (j.LoginModule == "" || j.Flag == "") {
			t.Fatalf("accepted %q without module or flag", s)
		}
	})
}

// FuzzSASLTokens: PLAIN messages and SCRAM first messages from a client are checked
// without panics, and nothing but the right password authenticates.
func FuzzSASLTokens(f *testing.F) {
	f.Add([]byte("\x00alice\x00pw"))
	f.Add([]byte("n,,n=alice,r=abcdef"))
	f.Add([]byte("p=tls-unique,,n=alice,r=x"))
	creds, err := OpenCredentials("")
	if err != nil {
		f.Fatal(err)
	}
	if err := creds.SetPassword(ScramSHA256, "alice", "pw", 4096); err != nil {
		f.Fatal(err)
	}
	users := PlainUsers{"alice": "pw"}
	f.Fuzz(func(t *testing.T, msg []byte) {
		if u, err := users.VerifyPlain(msg); err == nil && string(msg) != "\x00alice\x00pw" && string(msg) != "alice\x00alice\x00pw" {
			t.Fatalf("PLAIN accepted %q as %s", msg, u)
		}
		conv, err := creds.NewScramConversation(ScramSHA256)
		if err != nil {
			t.Fatal(err)
		}
		out, done, _, err := conv.Step(msg)
		if done {
			t.Fatalf("SCRAM finished after one message %q", msg)
		}
		if err == nil {
			// A second message that is the first again must fail.
			if _, done, _, err := conv.Step(out); err == nil || done {
				t.Fatalf("SCRAM accepted the server's own answer as a proof")
			}
		}
	})
}

// FuzzLoadStores: whatever is found in acls.json or scram-credentials.json (a torn or
// edited file), loading answers an error or a usable store, never a panic.
func FuzzLoadStores(f *testing.F) {
	f.Add([]byte(`[{"resource_type":2,"resource_name":"t","pattern_type":3,"principal":"User:a","host":"*","operation":3,"permission":3}]`))
	f.Add([]byte(`{"SCRAM-SHA-256":{"a":{"salt":"c2FsdA==","iterations":4096,"stored_key":"AA==","server_key":"AA=="}}}`))
	f.Add([]byte(`[{"resource_type":9}]`))
	f.Add([]byte(`{`))
	f.Fuzz(func(t *testing.T, data []byte) {
		path := t.TempDir() + "/store.json"
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		if a, err := NewAuthorizer(AuthorizerConfig{Path: path}); err == nil {
			a.Authorize("User:a", "h", OpRead, ResourceTopic, "t")
			a.Describe(Filter{ResourceType: ResourceAny, PatternType: PatternMatch, Operation: OpAny, Permission: PermissionAny})
		}
		if c, err := OpenCredentials(path); err == nil {
			for _, mech := range []string{ScramSHA256, ScramSHA512} {
				conv, err := c.NewScramConversation(mech)
				if err != nil {
					t.Fatal(err)
				}
				_, _, _, _ = conv.Step([]byte("n,,n=a,r=abcdefgh"))
			}
			c.Users()
		}
	})
}
