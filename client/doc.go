// Package client builds franz-go producers, consumers and admin clients from Kafka-named
// properties, and runs Kafka-style producer and consumer interceptor chains around them.
//
// It exists so that the rivulet CLI and the streams runtime configure their Kafka clients the
// same way, with the property names a Kafka user already knows (bootstrap.servers, acks,
// linger.ms, group.id, auto.offset.reset, ...), and so that both get interceptors as Kafka
// defines them (KIP-42). Everything on the wire is franz-go's: this package only translates
// configuration and wraps the record path with the interceptor chain.
//
// It is not a new Kafka client, and it hides nothing: every wrapper exposes its *kgo.Client,
// and ProducerOpts, ConsumerOpts and AdminOpts return plain []kgo.Opt for callers that want
// franz-go directly. It is not a serde layer either: records are bytes here; typed serdes live
// in package streams.
//
// # Usage
//
// Read [Parse] and [Properties] first for the property table (docs/cli.md lists every key, what
// it maps to and which keys are accepted but ignored), then [Producer] and [Consumer]:
//
//	p, err := client.NewProducer(client.Properties{
//		"bootstrap.servers":   "127.0.0.1:9092",
//		"acks":                "all",
//		"linger.ms":           "5",
//		"interceptor.classes": "timestamp-header,counting",
//	})
//	if err != nil { ... }
//	defer p.Close(context.Background())
//	p.Produce(ctx, &kgo.Record{Topic: "first", Value: []byte("hello")}, nil)
//
// Unknown property names are errors (with a suggestion when a close name exists); known Kafka
// properties that franz-go has no counterpart for are accepted and reported as warnings
// ([Parsed.Warnings]), never silently dropped.
//
// Interceptors: [ProducerInterceptor] and [ConsumerInterceptor] follow Kafka's contracts. They
// run in the order given (interceptor.classes first, then those passed with
// [WithProducerInterceptors] or [WithConsumerInterceptors]); an interceptor that returns an
// error or panics is logged and skipped, and the chain goes on. Named interceptors for the
// interceptor.classes property come from a registry ([RegisterProducerInterceptor]); two
// examples ship registered: "timestamp-header" ([TimestampHeaderInterceptor]) and "counting"
// ([CountingInterceptor]).
package client
