// Package testutil holds helpers the module's tests share. It is not for
// users: streams/streamstest is the test driver users import.
package testutil
