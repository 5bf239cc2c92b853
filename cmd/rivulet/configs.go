package main

import (
	"context"
	"fmt"
	"io"
	"iter"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/rivulet-io/rivulet/client"
	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { rootCmd.AddCommand(newConfigsCmd()) }

type configsOpts struct {
	conn connFlags

	describe, alter          bool
	entityType, entityName   string
	addConfig, deleteConfigs []string
}

func newConfigsCmd() *cobra.Command {
	o := &configsOpts{}
	cmd, f := toolCmd(&cobra.Command{
		Use:   "configs",
		Short: "Describe and alter SCRAM credentials and topic configs (like kafka-configs.sh)",
		Long: `configs manages user SCRAM credentials and topic configs with the flags of Kafka's
kafka-configs.sh. Give one action, --describe or --alter, and --entity-type (users, topics
or brokers).

Users: --add-config 'SCRAM-SHA-256=[iterations=8192,password=alice-secret]' creates or
replaces a credential (iterations default to 4096, Kafka's minimum); the password is salted
and hashed by this tool, so only the salted password crosses the network, and the broker
keeps only the derived keys. --delete-config SCRAM-SHA-256 removes one. --describe lists
each user's mechanisms and iterations, never a secret.

Topics: --add-config k=v[,k2=v2] sets configs (IncrementalAlterConfigs), --delete-config k
returns one to the broker default. Brokers: --describe only.

The connection flags take security settings like every tool (--command-config with
security.protocol, sasl.*, ssl.*). Exit codes: 0 ok, 1 failure, 2 bad flags.`,
		Example: `  rivulet configs --bootstrap-server 127.0.0.1:9092 --alter --entity-type users --entity-name alice \
    --add-config 'SCRAM-SHA-256=[password=alice-secret],SCRAM-SHA-512=[iterations=8192,password=alice-secret]'
  rivulet configs --describe --entity-type users --entity-name alice
  rivulet configs --alter --entity-type users --entity-name alice --delete-config SCRAM-SHA-512
  rivulet configs --alter --entity-type topics --entity-name orders --add-config retention.ms=86400000
  rivulet configs --describe --entity-type topics --entity-name orders
  rivulet configs --bootstrap-server broker:9094 --command-config admin.properties --describe --entity-type users`,
	}, o.conn.registerAdmin, func(cmd *cobra.Command) error { return runConfigs(cmd, o) })
	f.BoolVar(&o.describe, "describe", false, "describe the entity's configs")
	f.BoolVar(&o.alter, "alter", false, "alter the entity's configs (with --add-config and/or --delete-config)")
	f.StringVar(&o.entityType, "entity-type", "", "users, topics or brokers")
	f.StringVar(&o.entityName, "entity-name", "", "the user, topic or broker id (optional with --describe: every one)")
	f.StringArrayVar(&o.addConfig, "add-config", nil, "configs to set: k=v,k2=[a=b,c=d] (repeatable)")
	f.StringArrayVar(&o.deleteConfigs, "delete-config", nil, "config names to remove, comma separated (repeatable)")
	return cmd
}

func runConfigs(cmd *cobra.Command, o *configsOpts) error {
	if o.describe == o.alter {
		return usageErrorf(cmd, "give exactly one action: --describe or --alter")
	}
	switch o.entityType {
	case "users", "topics", "brokers":
	case "":
		return usageErrorf(cmd, "--entity-type is required: users, topics or brokers")
	default:
		return usageErrorf(cmd, "--entity-type %s is not supported: use users, topics or brokers", o.entityType)
	}
	if o.alter {
		if o.entityName == "" {
			return usageErrorf(cmd, "--alter needs --entity-name")
		}
		if len(o.addConfig) == 0 && len(o.deleteConfigs) == 0 {
			return usageErrorf(cmd, "--alter needs --add-config and/or --delete-config")
		}
	} else if len(o.addConfig) > 0 || len(o.deleteConfigs) > 0 {
		return usageErrorf(cmd, "--add-config and --delete-config apply only to --alter")
	}
	var adds [][2]string
	for _, a := range o.addConfig {
		kvs, err := splitConfigList(a)
		if err != nil {
			return usageErrorf(cmd, "--add-config %q: %v", a, err)
		}
		adds = append(adds, kvs...)
	}
	var dels []string
	for _, d := range o.deleteConfigs {
		for _, n := range strings.Split(d, ",") {
			if n = strings.TrimSpace(n); n != "" {
				dels = append(dels, n)
			}
		}
	}
	return o.conn.withAdmin(cmd, func(ctx context.Context, adm *client.Admin, out io.Writer) error {
		switch o.entityType {
		case "users":
			if o.alter {
				return alterUserConfigs(ctx, cmd, adm.Client, out, o.entityName, adds, dels)
			}
			return describeUserConfigs(ctx, adm.Client, out, o.entityName)
		case "topics":
			if o.alter {
				return alterTopicConfigs(ctx, adm.Client, out, o.entityName, adds, dels)
			}
			return describeEntityConfigs(ctx, adm.Client, out, false, o.entityName)
		default:
			if o.alter {
				return usageErrorf(cmd, "--alter --entity-type brokers is not supported: brokerlite reads broker properties from server.properties at start")
			}
			return describeEntityConfigs(ctx, adm.Client, out, true, o.entityName)
		}
	})
}

// splitConfigList splits "k=v,k2=[a=b,c=d]" at top-level commas into key, value pairs.
func splitConfigList(s string) ([][2]string, error) {
	var out [][2]string
	depth, start := 0, 0
	flush := func(part string) error {
		part = strings.TrimSpace(part)
		if part == "" {
			return nil
		}
		k, v, ok := strings.Cut(part, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return fmt.Errorf("%q is not key=value", part)
		}
		out = append(out, [2]string{strings.TrimSpace(k), strings.TrimSpace(v)})
		return nil
	}
	for i, c := range s {
		switch c {
		case '[':
			depth++
		case ']':
			if depth--; depth < 0 {
				return nil, fmt.Errorf("unbalanced ']'")
			}
		case ',':
			if depth == 0 {
				if err := flush(s[start:i]); err != nil {
					return nil, err
				}
				start = i + 1
			}
		}
	}
	if depth != 0 {
		return nil, fmt.Errorf("unbalanced '['")
	}
	if err := flush(s[start:]); err != nil {
		return nil, err
	}
	return out, nil
}

func scramMechanism(name string) (kadm.ScramMechanism, bool) {
	switch strings.ToUpper(name) {
	case "SCRAM-SHA-256":
		return kadm.ScramSha256, true
	case "SCRAM-SHA-512":
		return kadm.ScramSha512, true
	}
	return 0, false
}

func alterUserConfigs(ctx context.Context, cmd *cobra.Command, adm *kadm.Client, out io.Writer, user string, adds [][2]string, dels []string) error {
	var ups []kadm.UpsertSCRAM
	for _, kv := range adds {
		mech, ok := scramMechanism(kv[0])
		if !ok {
			return usageErrorf(cmd, "--add-config %s: only SCRAM-SHA-256 and SCRAM-SHA-512 credentials are supported for users (quotas are not)", kv[0])
		}
		inner := strings.TrimSuffix(strings.TrimPrefix(kv[1], "["), "]")
		params, err := splitConfigList(inner)
		if err != nil {
			return usageErrorf(cmd, "--add-config %s: %v", kv[0], err)
		}
		up := kadm.UpsertSCRAM{User: user, Mechanism: mech, Iterations: 4096}
		havePass := false
		for _, p := range params {
			switch p[0] {
			case "password":
				up.Password, havePass = p[1], true
			case "iterations":
				n, err := strconv.Atoi(p[1])
				if err != nil || n < 4096 || n > 16384 {
					return usageErrorf(cmd, "--add-config %s: iterations=%s must be a number from 4096 to 16384", kv[0], p[1])
				}
				up.Iterations = int32(n)
			default:
				return usageErrorf(cmd, "--add-config %s: unknown parameter %q (use password and iterations)", kv[0], p[0])
			}
		}
		if !havePass || up.Password == "" {
			return usageErrorf(cmd, "--add-config %s needs [password=...]", kv[0])
		}
		ups = append(ups, up)
	}
	var delsS []kadm.DeleteSCRAM
	for _, d := range dels {
		mech, ok := scramMechanism(d)
		if !ok {
			return usageErrorf(cmd, "--delete-config %s: only SCRAM-SHA-256 and SCRAM-SHA-512 can be deleted for users", d)
		}
		delsS = append(delsS, kadm.DeleteSCRAM{User: user, Mechanism: mech})
	}
	// A broker refuses a request that alters one user twice (DUPLICATE_RESOURCE), even for
	// two mechanisms, so each alteration goes in a request of its own, in the order given:
	// deletions first, as kafka-configs.sh lists them.
	type alteration struct {
		del []kadm.DeleteSCRAM
		up  []kadm.UpsertSCRAM
	}
	var steps []alteration
	for _, d := range delsS {
		steps = append(steps, alteration{del: []kadm.DeleteSCRAM{d}})
	}
	for _, u := range ups {
		steps = append(steps, alteration{up: []kadm.UpsertSCRAM{u}})
	}
	for i, st := range steps {
		res, err := adm.AlterUserSCRAMs(ctx, st.del, st.up)
		w := io.Discard
		if i == len(steps)-1 {
			w = out
		}
		if err := reportAltered(w, "the credentials of user", "user", user, maps.Values(res), err, func(r kadm.AlteredUserSCRAM) (string, string, error) {
			return r.User, r.ErrMessage, r.Err
		}); err != nil {
			if i > 0 {
				return failuref("%v (the %d alterations before it were applied)", err, i)
			}
			return err
		}
	}
	return nil
}

func describeUserConfigs(ctx context.Context, adm *kadm.Client, out io.Writer, user string) error {
	var users []string
	if user != "" {
		users = []string{user}
	}
	desc, err := adm.DescribeUserSCRAMs(ctx, users...)
	if err != nil {
		return failuref("describing SCRAM credentials: %v", err)
	}
	names := make([]string, 0, len(desc))
	for n := range desc {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		d := desc[n]
		if d.Err != nil {
			if user != "" {
				fmt.Fprintf(out, "SCRAM credential configs for user-principal '%s': none (%s)\n", n, kafkaError(d.Err, d.ErrMessage))
			}
			continue
		}
		var parts []string
		for _, ci := range d.CredInfos {
			parts = append(parts, fmt.Sprintf("%s=iterations=%d", ci.Mechanism, ci.Iterations))
		}
		fmt.Fprintf(out, "SCRAM credential configs for user-principal '%s' are %s\n", n, strings.Join(parts, ", "))
	}
	return nil
}

func alterTopicConfigs(ctx context.Context, adm *kadm.Client, out io.Writer, topic string, adds [][2]string, dels []string) error {
	var alters []kadm.AlterConfig
	for _, kv := range adds {
		alters = append(alters, kadm.AlterConfig{Op: kadm.SetConfig, Name: kv[0], Value: kmsg.StringPtr(kv[1])})
	}
	for _, d := range dels {
		alters = append(alters, kadm.AlterConfig{Op: kadm.DeleteConfig, Name: d})
	}
	res, err := adm.AlterTopicConfigs(ctx, alters, topic)
	return reportAltered(out, "configs of topic", "topic", topic, slices.Values(res), err, func(r kadm.AlterConfigsResponse) (string, string, error) {
		return r.Name, r.ErrMessage, r.Err
	})
}

// reportAltered checks the answer to altering entity name (what: "configs of topic"): the
// request's error, then each result's (its entity, error message and error, from result),
// and prints Kafka's completion line.
func reportAltered[R any](out io.Writer, what, entity, name string, res iter.Seq[R], err error, result func(R) (string, string, error)) error {
	if err != nil {
		return failuref("altering %s %s: %v", what, name, err)
	}
	for r := range res {
		if rname, msg, rerr := result(r); rerr != nil {
			return failuref("altering %s %s: %s", what, rname, kafkaError(rerr, msg))
		}
	}
	fmt.Fprintf(out, "Completed updating config for %s %s.\n", entity, name)
	return nil
}

func describeEntityConfigs(ctx context.Context, adm *kadm.Client, out io.Writer, broker bool, name string) error {
	var rcs kadm.ResourceConfigs
	var err error
	kind := "topic"
	if broker {
		kind = "broker"
		var ids []int32
		if name != "" {
			n, perr := strconv.Atoi(name)
			if perr != nil {
				return failuref("--entity-name %q is not a broker id", name)
			}
			ids = append(ids, int32(n))
		}
		rcs, err = adm.DescribeBrokerConfigs(ctx, ids...)
	} else {
		var topics []string
		if name != "" {
			topics = []string{name}
		} else {
			listed, lerr := adm.ListTopics(ctx)
			if lerr != nil {
				return failuref("listing topics: %v", lerr)
			}
			topics = listed.Names()
		}
		if len(topics) == 0 {
			return nil
		}
		rcs, err = adm.DescribeTopicConfigs(ctx, topics...)
	}
	if err != nil {
		return failuref("describing %s configs: %v", kind, err)
	}
	for _, rc := range rcs {
		if rc.Err != nil {
			return failuref("describing %s %s: %s", kind, rc.Name, kafkaError(rc.Err, rc.ErrMessage))
		}
		fmt.Fprintf(out, "Dynamic configs for %s %s are:\n", kind, rc.Name)
		for _, c := range rc.Configs {
			if !broker && c.Source != kmsg.ConfigSourceDynamicTopicConfig {
				continue
			}
			if broker && c.Source == kmsg.ConfigSourceDefaultConfig {
				continue
			}
			v := "null"
			if c.Value != nil {
				v = *c.Value
			}
			fmt.Fprintf(out, "  %s=%s sensitive=%v\n", c.Key, v, c.Sensitive)
		}
	}
	return nil
}
