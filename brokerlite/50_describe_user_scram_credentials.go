package brokerlite

// DescribeUserScramCredentials (key 50) and AlterUserScramCredentials (key 51), versions 0.
//
// The broker's SCRAM credential store (scram-credentials.json in the first log dir): salt,
// iterations, stored key and server key per user and mechanism; never a password. Describe
// lists mechanisms and iterations only. Alter takes the salted password the client computed
// (Hi(password, salt, iterations)), as Kafka; iterations must be within 4096-16384
// (UNACCEPTABLE_CREDENTIAL otherwise), and a user may appear once per request
// (DUPLICATE_RESOURCE otherwise).

import (
	"context"
	"errors"

	"github.com/rivulet-io/rivulet/brokerlite/auth"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() {
	registerHandler(kmsg.DescribeUserSCRAMCredentials, 0, 0, handleDescribeUserSCRAMCredentials)
	registerHandler(kmsg.AlterUserSCRAMCredentials, 0, 0, handleAlterUserSCRAMCredentials)
}

func handleDescribeUserSCRAMCredentials(_ context.Context, b *Broker, _ *ConnInfo, kreq kmsg.Request) (kmsg.Response, error) {
	req := kreq.(*kmsg.DescribeUserSCRAMCredentialsRequest)
	resp := req.ResponseKind().(*kmsg.DescribeUserSCRAMCredentialsResponse)
	var users []string
	if req.Users == nil {
		users = b.auth.creds.Users()
	}
	seen := map[string]int{}
	for _, u := range req.Users {
		seen[u.Name]++
		if seen[u.Name] == 1 {
			users = append(users, u.Name)
		}
	}
	for _, u := range users {
		r := kmsg.NewDescribeUserSCRAMCredentialsResponseResult()
		r.User = u
		infos := b.auth.creds.Describe(u)
		switch {
		case seen[u] > 1:
			r.ErrorCode, r.ErrorMessage = kerr.DuplicateResource.Code, kmsg.StringPtr("user "+u+" is listed more than once")
		case len(infos) == 0:
			r.ErrorCode, r.ErrorMessage = kerr.ResourceNotFound.Code, kmsg.StringPtr("attempt to describe a user credential that does not exist")
		}
		if r.ErrorCode == 0 {
			for _, in := range infos {
				ci := kmsg.NewDescribeUserSCRAMCredentialsResponseResultCredentialInfo()
				ci.Mechanism, ci.Iterations = auth.ScramMechanisms[in.Mechanism], int32(in.Iterations)
				r.CredentialInfos = append(r.CredentialInfos, ci)
			}
		}
		resp.Results = append(resp.Results, r)
	}
	return resp, nil
}

func handleAlterUserSCRAMCredentials(_ context.Context, b *Broker, info *ConnInfo, kreq kmsg.Request) (kmsg.Response, error) {
	req := kreq.(*kmsg.AlterUserSCRAMCredentialsRequest)
	resp := req.ResponseKind().(*kmsg.AlterUserSCRAMCredentialsResponse)
	type result struct {
		code int16
		msg  string
	}
	results := map[string]*result{}
	var order []string
	count := map[string]int{}
	note := func(user string) {
		if _, ok := results[user]; !ok {
			results[user] = &result{}
			order = append(order, user)
		}
		count[user]++
	}
	for _, d := range req.Deletions {
		note(d.Name)
	}
	for _, u := range req.Upsertions {
		note(u.Name)
	}
	for user, n := range count {
		if n > 1 {
			results[user].code, results[user].msg = kerr.DuplicateResource.Code, "a user credential cannot be altered more than once in the same request"
		}
	}
	// alter checks a deletion's or upsertion's user and mechanism and applies it; a user's
	// first failure is the one answered.
	alter := func(user string, mechanism int8, apply func(mech string) error) {
		r := results[user]
		if r.code != 0 {
			return
		}
		mech := auth.ScramMechanismName(mechanism)
		if user == "" {
			r.code, r.msg = kerr.UnacceptableCredential.Code, "username must not be empty"
			return
		}
		if mech == "" {
			r.code, r.msg = kerr.UnsupportedSaslMechanism.Code, "unknown SCRAM mechanism"
			return
		}
		err := apply(mech)
		var te *topicError
		switch {
		case err == nil:
		case errors.As(err, &te):
			r.code, r.msg = te.code.Code, te.msg
		case errors.Is(err, auth.ErrUnacceptableCredential):
			r.code, r.msg = kerr.UnacceptableCredential.Code, err.Error()
		default:
			r.code, r.msg = kerr.UnknownServerError.Code, err.Error()
		}
	}
	for _, d := range req.Deletions {
		alter(d.Name, d.Mechanism, func(mech string) error {
			err := b.auth.creds.Delete(mech, d.Name)
			if errors.Is(err, auth.ErrNoCredential) {
				return newTopicError(kerr.ResourceNotFound, "attempt to delete a user credential that does not exist")
			}
			if err == nil {
				b.logger.Info("SCRAM credential deleted", append(logAttrs(info), "by", info.Principal(), "user", d.Name, "mechanism", mech)...)
			}
			return err
		})
	}
	for _, u := range req.Upsertions {
		alter(u.Name, u.Mechanism, func(mech string) error {
			err := b.auth.creds.SetSalted(mech, u.Name, u.Salt, u.SaltedPassword, int(u.Iterations))
			if err == nil {
				b.logger.Info("SCRAM credential set", append(logAttrs(info), "by", info.Principal(), "user", u.Name, "mechanism", mech, "iterations", u.Iterations)...)
			}
			return err
		})
	}
	for _, user := range order {
		r := kmsg.NewAlterUserSCRAMCredentialsResponseResult()
		r.User, r.ErrorCode = user, results[user].code
		if results[user].msg != "" {
			r.ErrorMessage = kmsg.StringPtr(results[user].msg)
		}
		resp.Results = append(resp.Results, r)
	}
	return resp, nil
}
