package main

// The interactive-query endpoint, as Kafka Streams'
// WordCountInteractiveQueriesExample: when application.server is set
// (--property application.server=host:port), the program switches on the
// library's HTTP endpoint on that address (rivulet.http.listener), which
// serves, among others:
//
//	GET /stores/counts/keys/{word}          the word's count, from the instance
//	                                        that owns it (asked over HTTP when not this one)
//	GET /stores/counts?from=a&to=m&limit=N  counts of the words in [from, to] (both
//	                                        optional), gathered from every instance
//	GET /status                             App.Status as JSON
//	GET /metrics, /healthz, /readyz, /topology
//
// Add local=1 to the store queries to read only this instance's stores.
// Answers are JSON; a word no instance counted is 404; a store in the
// middle of a rebalance is 503 with Retry-After.

import (
	"context"
	"log/slog"

	"github.com/rivulet-io/rivulet/streams"
)

func init() {
	hooks = append(hooks, hook{props: httpProps, start: logHTTP})
}

// httpProps serves the endpoint on application.server unless a listener
// is set.
func httpProps(p streams.Properties) error {
	if srv := p[streams.PropApplicationServer]; srv != "" && p[streams.PropHTTPListener] == "" {
		p[streams.PropHTTPListener] = srv
	}
	return nil
}

func logHTTP(_ context.Context, app *streams.App, logger *slog.Logger) (func(context.Context) error, error) {
	if addr := app.HTTPAddr(); addr != "" {
		logger.Info("wordcount: interactive queries on http://"+addr, "endpoints", "/stores/counts/keys/{word} /stores/counts?from=&to=&limit= /status")
	}
	return nil, nil
}
