package brokerlite

// DeleteTopics (key 20), versions 1-6.
//
// Topics are named (v0-v5 by name; v6 by name or by topic id). delete.topic.enable=false
// answers TOPIC_DELETION_DISABLED to every topic (INVALID_REQUEST before v3), first, as
// Kafka does; a topic named twice, or by both name and id, INVALID_REQUEST; an unknown name
// UNKNOWN_TOPIC_OR_PARTITION, an unknown id UNKNOWN_TOPIC_ID; internal topics cannot be
// deleted (INVALID_REQUEST). Deletion is
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
	// As Kafka: a topic named twice (by name, or by id) is deleted under neither mention.
	names, ids := map[string]int{}, map[[16]byte]int{}
	for _, tg := range targets {
		if tg.name != nil {
			names[*tg.name]++
		} else {
			ids[tg.id]++
		}
	}
	for _, tg := range targets {
		st := kmsg.NewDeleteTopicsResponseTopic()
		st.Topic, st.TopicID = tg.name, tg.id
		var t *topic
		var err error
		switch {
		case !b.settings.DeleteTopicEnable:
			// Before anything else, as Kafka; v1-v2 clients do not know the code.
			if req.Version < 3 {
				err = newTopicError(kerr.InvalidRequest, "topic deletion is disabled: set delete.topic.enable=true")
			} else {
				err = newTopicError(kerr.TopicDeletionDisabled, "topic deletion is disabled: set delete.topic.enable=true")
			}
		case tg.name != nil && tg.id != [16]byte{}:
			err = newTopicError(kerr.InvalidRequest, "a topic is named by its name or by its id, not both")
		case tg.name == nil && tg.id == [16]byte{}:
			err = newTopicError(kerr.InvalidRequest, "neither a topic name nor a topic id was given")
		case tg.name != nil && names[*tg.name] > 1:
			err = newTopicError(kerr.InvalidRequest, "topic %q is named more than once in the request", *tg.name)
		case tg.name == nil && ids[tg.id] > 1:
			err = newTopicError(kerr.InvalidRequest, "topic id %x is named more than once in the request", tg.id)
		case tg.name != nil:
			if t = b.topics.get(*tg.name); t == nil {
				err = newTopicError(kerr.UnknownTopicOrPartition, "topic %q does not exist", *tg.name)
			}
		default:
			if t = b.topics.getByID(tg.id); t == nil {
				err = newTopicError(kerr.UnknownTopicID, "no topic has id %x", tg.id)
			}
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
