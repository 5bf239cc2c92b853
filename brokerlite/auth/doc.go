// Package auth is brokerlite's listener security: TLS settings from PEM files, the SASL
// mechanisms (PLAIN with users from a JAAS line, SCRAM-SHA-256 and SCRAM-SHA-512 with a
// persisted store of salted credentials), and the ACL authorizer with its persisted ACLs.
//
// The broker asks it two questions: "who is this" (a TLS client certificate or a SASL
// exchange gives a principal such as "User:alice") and "may they" (Authorizer.Authorize with
// an operation on a resource). Everything follows Kafka's names and rules, so that a
// cluster's existing client settings and ACLs carry over.
//
// It is not a protocol server: the Kafka request and response structs stay in brokerlite,
// and this package only sees principals, resources and bytes of SASL tokens.
//
// Read Authorizer first, then Credentials and NewScramConversation.
package auth
