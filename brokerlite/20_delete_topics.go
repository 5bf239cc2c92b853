package brokerlite

// DeleteTopics (key 20), versions 1-6.
//
// Topics are named (v0-v5 by name; v6 by name or by topic id). delete.topic.enable=false
// answers TOPIC_DELETION_DISABLED; an unknown name UNKNOWN_TOPIC_OR_PARTITION, an unknown id
// UNKNOWN_TOPIC_ID; internal topics cannot be deleted (INVALID_REQUEST). Deletion is
// synchronous: the topic is gone from metadata (and its id forgotten) before the answer,
// its partition directories are removed, and every group's committed offsets for it are
// deleted (tombstones in __consumer_offsets), as Kafka does, so a topic created again
// under the same name does not inherit stale offsets.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { registerHandler(kmsg.DeleteTopics, 1, 6, handleDeleteTopics) }

func handleDeleteTopics(ctx context.Context, b *Broker, _ *ConnInfo, kreq kmsg.Request) (kmsg.Response, error) {
	req := kreq.(*kmsg.DeleteTopicsRequest)
	resp := req.ResponseKind().(*kmsg.DeleteTopicsResponse)
	type target struct {
		name *string
		id   [16]byte
	}
	var targets []target
	if req.Version < 6 {
		for _, n := range req.TopicNames {
			targets = append(targets, target{name: kmsg.StringPtr(n)})
		}
	} else {
		for _, t := range req.Topics {
			targets = append(targets, target{name: t.Topic, id: t.TopicID})
		}
	}
	for _, tg := range targets {
		st := kmsg.NewDeleteTopicsResponseTopic()
		st.Topic, st.TopicID = tg.name, tg.id
		var t *topic
		var err error
		switch {
		case tg.name != nil:
			if t = b.topics.get(*tg.name); t == nil {
				err = newTopicError(kerr.UnknownTopicOrPartition, "topic %q does not exist", *tg.name)
			}
		default:
			if t = b.topics.getByID(tg.id); t == nil {
				err = newTopicError(kerr.UnknownTopicID, "no topic has id %x", tg.id)
			}
		}
		if err == nil && !b.settings.DeleteTopicEnable {
			err = newTopicError(kerr.TopicDeletionDisabled, "topic deletion is disabled: set delete.topic.enable=true")
		}
		if err == nil && t.internal {
			err = newTopicError(kerr.InvalidRequest, "internal topic %s cannot be deleted", t.name)
		}
		if err == nil {
			st.Topic, st.TopicID = kmsg.StringPtr(t.name), t.id
			err = b.topics.delete(t)
			if err == nil {
				groupsTopicDeleted(ctx, b, t.name)
			}
		}
		st.ErrorCode, st.ErrorMessage = errorFields(err)
		resp.Topics = append(resp.Topics, st)
	}
	return resp, nil
}
