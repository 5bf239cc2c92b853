package brokerlite

// DescribeCluster (key 60), versions 0-1.
//
// Answers with this broker as the whole cluster and its controller. Endpoint type 1
// (brokers) is the only kind brokerlite has. As in Kafka (KIP-919), asking a broker for
// controllers (2) gets MISMATCHED_ENDPOINT_TYPE, and a type Kafka does not know gets
// UNSUPPORTED_ENDPOINT_TYPE. Authorized operations are computed when asked (authz_ops.go).

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { registerHandler(kmsg.DescribeCluster, 0, 1, handleDescribeCluster) }

func handleDescribeCluster(_ context.Context, b *Broker, info *ConnInfo, kreq kmsg.Request) (kmsg.Response, error) {
	req := kreq.(*kmsg.DescribeClusterRequest)
	resp := req.ResponseKind().(*kmsg.DescribeClusterResponse)
	resp.EndpointType = 1
	if req.Version >= 1 && req.EndpointType != 1 {
		// A Java admin client given bootstrap.controllers asks for controllers.
		resp.ErrorCode = kerr.UnsupportedEndpointType.Code
		resp.ErrorMessage = kmsg.StringPtr(fmt.Sprintf("unsupported endpoint type %d", req.EndpointType))
		if req.EndpointType == 2 {
			resp.ErrorCode = kerr.MismatchedEndpointType.Code
			resp.ErrorMessage = kmsg.StringPtr("this is a broker endpoint (endpoint type 1); brokerlite has no controller endpoints (endpoint type 2)")
		}
		return resp, nil
	}
	host, port := b.advertisedFor(info)
	resp.ClusterID = b.clusterID
	resp.ControllerID = b.nodeID
	br := kmsg.NewDescribeClusterResponseBroker()
	br.NodeID, br.Host, br.Port = b.nodeID, host, port
	resp.Brokers = []kmsg.DescribeClusterResponseBroker{br}
	return resp, nil
}
