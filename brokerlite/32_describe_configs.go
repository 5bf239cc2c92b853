package brokerlite

// DescribeConfigs (key 32), versions 0-4.
//
// Topic resources list every topic config brokerlite honours with its effective value and
// source (DYNAMIC_TOPIC_CONFIG for a topic override, STATIC_BROKER_CONFIG when
// server.properties sets the broker default, DEFAULT_CONFIG otherwise), and with synonyms
// when asked. Broker resources (name "" or this node's id) list every broker property with
// STATIC_BROKER_CONFIG or DEFAULT_CONFIG. brokerlite has no dynamic broker configs and no
// broker loggers (BROKER_LOGGER answers INVALID_REQUEST).

import (
	"context"
	"strconv"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { registerHandler(kmsg.DescribeConfigs, 0, 4, handleDescribeConfigs) }

func handleDescribeConfigs(_ context.Context, b *Broker, _ *ConnInfo, kreq kmsg.Request) (kmsg.Response, error) {
	req := kreq.(*kmsg.DescribeConfigsRequest)
	resp := req.ResponseKind().(*kmsg.DescribeConfigsResponse)
	for _, rr := range req.Resources {
		sr := kmsg.NewDescribeConfigsResponseResource()
		sr.ResourceType, sr.ResourceName = rr.ResourceType, rr.ResourceName
		var err error
		switch rr.ResourceType {
		case kmsg.ConfigResourceTypeTopic:
			err = describeTopicConfigs(b, req, rr, &sr)
		case kmsg.ConfigResourceTypeBroker:
			err = describeBrokerConfigs(b, req, rr, &sr)
		default:
			err = newTopicError(kerr.InvalidRequest, "resource type %v is not supported by brokerlite", rr.ResourceType)
		}
		if err != nil {
			code, msg := errorCode(err)
			sr.ErrorCode, sr.ErrorMessage, sr.Configs = code, &msg, nil
		}
		resp.Resources = append(resp.Resources, sr)
	}
	return resp, nil
}

// wanted reports whether name is asked for. A null or empty list asks for everything, as
// in Kafka (an empty list arrives non-nil from the decoder).
func wanted(names []string, name string) bool {
	if len(names) == 0 {
		return true
	}
	for _, n := range names {
		if n == name {
			return true
		}
	}
	return false
}

func describeTopicConfigs(b *Broker, req *kmsg.DescribeConfigsRequest, rr kmsg.DescribeConfigsRequestResource, sr *kmsg.DescribeConfigsResponseResource) error {
	if err := validTopicName(rr.ResourceName); err != nil {
		return err
	}
	t := b.topics.get(rr.ResourceName)
	if t == nil {
		return newTopicError(kerr.UnknownTopicOrPartition, "topic %q does not exist", rr.ResourceName)
	}
	for _, name := range sortedTopicKeyNames() {
		if !wanted(rr.ConfigNames, name) {
			continue
		}
		key := topicKeyIndex[name]
		v, src, syns := b.topicConfigValue(t, name)
		c := kmsg.NewDescribeConfigsResponseResourceConfig()
		c.Name, c.Value, c.Source = name, kmsg.StringPtr(v), src
		c.IsDefault = src == kmsg.ConfigSourceDefaultConfig
		c.ConfigType = key.kind
		if req.IncludeDocumentation && key.doc != "" {
			c.Documentation = kmsg.StringPtr(key.doc)
		}
		if req.IncludeSynonyms {
			for _, s := range syns {
				cs := kmsg.NewDescribeConfigsResponseResourceConfigConfigSynonym()
				cs.Name, cs.Value, cs.Source = s.name, kmsg.StringPtr(s.value), s.source
				c.ConfigSynonyms = append(c.ConfigSynonyms, cs)
			}
		}
		sr.Configs = append(sr.Configs, c)
	}
	return nil
}

func describeBrokerConfigs(b *Broker, req *kmsg.DescribeConfigsRequest, rr kmsg.DescribeConfigsRequestResource, sr *kmsg.DescribeConfigsResponseResource) error {
	if rr.ResourceName != "" && rr.ResourceName != strconv.Itoa(int(b.nodeID)) {
		return newTopicError(kerr.InvalidRequest, "broker %q is not this broker (node id %d)", rr.ResourceName, b.nodeID)
	}
	for _, key := range BrokerConfigKeys() {
		if !wanted(rr.ConfigNames, key.Name) {
			continue
		}
		v, explicit := b.settings.value(key.Name)
		src := kmsg.ConfigSourceDefaultConfig
		if explicit {
			src = kmsg.ConfigSourceStaticBrokerConfig
		}
		c := kmsg.NewDescribeConfigsResponseResourceConfig()
		c.Name, c.Source, c.ReadOnly, c.IsSensitive = key.Name, src, key.ReadOnly, key.Sensitive
		if !key.Sensitive {
			c.Value = kmsg.StringPtr(v)
		}
		c.IsDefault = !explicit
		c.ConfigType = guessConfigType(key.Default)
		if req.IncludeDocumentation {
			c.Documentation = kmsg.StringPtr(key.Doc)
		}
		if req.IncludeSynonyms {
			for _, name := range append([]string{key.Name}, key.Synonyms...) {
				sv, sexp := b.settings.value(name)
				if !sexp && name != key.Name {
					continue
				}
				cs := kmsg.NewDescribeConfigsResponseResourceConfigConfigSynonym()
				cs.Name, cs.Source = name, kmsg.ConfigSourceDefaultConfig
				if !key.Sensitive {
					cs.Value = kmsg.StringPtr(sv)
				}
				if sexp {
					cs.Source = kmsg.ConfigSourceStaticBrokerConfig
				}
				c.ConfigSynonyms = append(c.ConfigSynonyms, cs)
			}
		}
		sr.Configs = append(sr.Configs, c)
	}
	return nil
}

// guessConfigType derives a broker property's type from its default value.
func guessConfigType(def string) kmsg.ConfigType {
	if def == "true" || def == "false" {
		return kmsg.ConfigTypeBoolean
	}
	if _, err := strconv.ParseInt(def, 10, 32); err == nil {
		return kmsg.ConfigTypeInt
	}
	if _, err := strconv.ParseInt(def, 10, 64); err == nil {
		return kmsg.ConfigTypeLong
	}
	if _, err := strconv.ParseFloat(def, 64); err == nil {
		return kmsg.ConfigTypeDouble
	}
	return kmsg.ConfigTypeString
}
