package main

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"

	"github.com/rivulet-io/rivulet/brokerlite"
	"github.com/rivulet-io/rivulet/internal/testpki"
	"github.com/rivulet-io/rivulet/internal/testutil"
)

// TestProgramOverSASLSSLWithACLs runs the word count against a broker that only has a
// SASL_SSL listener and an authorizer: the app authenticates with SCRAM-SHA-512 over TLS and
// may touch only what its ACLs grant (its input and output topics, its internal topics by
// the application id prefix, its group), as a Kafka Streams app is set up on a secured
// cluster.
func TestProgramOverSASLSSLWithACLs(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	pki := testpki.New(t)
	b := startBroker(t, ctx, map[string]string{
		"listeners":               "SASL_SSL://127.0.0.1:0",
		"sasl.enabled.mechanisms": "PLAIN,SCRAM-SHA-512",
		"sasl.jaas.config":        `org.apache.kafka.common.security.plain.PlainLoginModule required user_admin="admin-secret";`,
		"ssl.keystore.location":   pki.ServerFile, "ssl.truststore.location": pki.CAFile,
		"authorizer.class.name": brokerlite.StandardAuthorizerClass, "super.users": "User:admin",
	})
	addr := b.Addr()
	tlsCfg := pki.ClientTLS(t, "")
	admin, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.DialTLSConfig(tlsCfg),
		kgo.SASL(plain.Auth{User: "admin", Pass: "admin-secret"}.AsMechanism()), kgo.DefaultProduceTopic("wc-in"),
		kgo.ConsumeTopics("wc-out"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	adm := kadm.NewClient(admin)
	if _, err := adm.AlterUserSCRAMs(ctx, nil, []kadm.UpsertSCRAM{{User: "wc", Mechanism: kadm.ScramSha512, Iterations: 4096, Password: "wc-secret"}}); err != nil {
		t.Fatal(err)
	}
	for _, acl := range []*kadm.ACLBuilder{
		// Its own topics, internal ones included, and its group, by the application id.
		kadm.NewACLs().Allow("User:wc").Topics("wc-app-").Groups("wc-app").Operations(kadm.OpAll).ResourcePatternType(kadm.ACLPatternPrefixed),
		kadm.NewACLs().Allow("User:wc").Topics("wc-in").Operations(kadm.OpRead, kadm.OpDescribe, kadm.OpCreate).ResourcePatternType(kadm.ACLPatternLiteral),
		kadm.NewACLs().Allow("User:wc").Topics("wc-out").Operations(kadm.OpWrite, kadm.OpDescribe, kadm.OpCreate).ResourcePatternType(kadm.ACLPatternLiteral),
	} {
		res, err := adm.CreateACLs(ctx, acl)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range res {
			if r.Err != nil {
				t.Fatal(r.Err)
			}
		}
	}

	runCtx, stop := context.WithCancel(ctx)
	var logs testutil.Buffer
	done := make(chan error, 1)
	go func() {
		done <- run(runCtx, []string{"--bootstrap-server", addr, "--state-dir", t.TempDir(), "--partitions", "1",
			"--application-id", "wc-app", "--input-topic", "wc-in", "--output-topic", "wc-out",
			"--property", "commit.interval.ms=100",
			"--property", "security.protocol=SASL_SSL",
			"--property", "sasl.mechanism=SCRAM-SHA-512",
			"--property", `sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="wc" password="wc-secret";`,
			"--property", "ssl.truststore.type=PEM",
			"--property", "ssl.truststore.location=" + pki.CAFile,
		}, &logs)
	}()
	awaitLog(t, ctx, done, &logs, "wordcount: running", "the program never ran")
	produceLines(t, ctx, admin, "secure streams", "secure words")
	want := map[string]int64{"secure": 2, "streams": 1, "words": 1}
	awaitCounts(t, ctx, admin, done, &logs, want)
	stop()
	if err := <-done; err != nil {
		t.Fatalf("run: %v\nlogs:\n%s", err, logs.String())
	}
}
