package brokerlite

// DeleteGroups (key 42), versions 0-3.
//
// Deletes empty groups with their committed offsets: tombstones for the offsets and the
// group metadata are fsynced to __consumer_offsets before the answer. A group with members
// gets NON_EMPTY_GROUP, an unknown group GROUP_ID_NOT_FOUND; v3+ add a message to errors.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { registerHandler(kmsg.DeleteGroups, 0, 3, handleDeleteGroups) }

func handleDeleteGroups(ctx context.Context, b *Broker, _ *ConnInfo, kreq kmsg.Request) (kmsg.Response, error) {
	req := kreq.(*kmsg.DeleteGroupsRequest)
	resp := req.ResponseKind().(*kmsg.DeleteGroupsResponse)
	c := b.coordinator()
	if c == nil {
		return nil, errNoCoordinator
	}
	for i, code := range c.DeleteGroups(ctx, req.Groups) {
		rg := kmsg.NewDeleteGroupsResponseGroup()
		rg.Group, rg.ErrorCode = req.Groups[i], code
		if code != 0 && req.Version >= 3 {
			if err := kerr.ErrorForCode(code); err != nil {
				rg.ErrorMessage = kmsg.StringPtr(err.Error())
			}
		}
		resp.Groups = append(resp.Groups, rg)
	}
	return resp, nil
}
