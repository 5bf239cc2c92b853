package brokerlite

// ListTransactions (key 66), versions 0-1.
//
// Lists the transactional ids the coordinator knows with their producer id and state,
// filtered by state names (spelled as Kafka spells them), producer ids and (v1, KIP-994) by
// how long the transaction in progress has been running (longer than the filter; Kafka also
// compares the start of ended transactions, see docs/brokerlite.md). State filters that are
// not Kafka state names are echoed in unknown_state_filters, as Kafka does. v2 (a
// transactional id pattern) is not served.

import (
	"context"

	"github.com/rivulet-io/rivulet/brokerlite/txncoord"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { registerHandler(kmsg.ListTransactions, 0, 1, handleListTransactions) }

func handleListTransactions(_ context.Context, b *Broker, _ *ConnInfo, kreq kmsg.Request) (kmsg.Response, error) {
	req := kreq.(*kmsg.ListTransactionsRequest)
	resp := req.ResponseKind().(*kmsg.ListTransactionsResponse)
	c := b.txnCoordinator()
	if c == nil {
		resp.ErrorCode = kerr.CoordinatorNotAvailable.Code
		return resp, nil
	}
	f := txncoord.ListFilter{ProducerIDs: req.ProducerIDFilters}
	if req.Version >= 1 {
		f.MinDurationMs = req.DurationFilterMillis
	}
	for _, s := range req.StateFilters {
		if txncoord.ValidState(s) {
			f.States = append(f.States, s)
		} else {
			resp.UnknownStateFilters = append(resp.UnknownStateFilters, s)
		}
	}
	if len(req.StateFilters) > 0 && len(f.States) == 0 {
		return resp, nil // only unknown states: nothing matches
	}
	for _, d := range c.List(f) {
		st := kmsg.NewListTransactionsResponseTransactionState()
		st.TransactionalID, st.ProducerID, st.TransactionState = d.TransactionalID, d.ProducerID, d.State
		resp.TransactionStates = append(resp.TransactionStates, st)
	}
	return resp, nil
}
