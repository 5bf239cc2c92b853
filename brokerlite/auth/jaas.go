package auth

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"strings"
)

// JAAS is one login module line of a Kafka sasl.jaas.config value:
//
//	org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="s3cret" user_admin="s3cret";
type JAAS struct {
	LoginModule string
	Flag        string
	Options     map[string]string
}

// ParseJAAS reads a sasl.jaas.config value holding exactly one login module. Values may be
// quoted with double quotes (a backslash escapes the next character) or bare. Errors never
// quote the value, which holds passwords.
func ParseJAAS(s string) (JAAS, error) {
	j := JAAS{Options: map[string]string{}}
	in := strings.TrimSpace(s)
	word := func() string {
		in = strings.TrimLeft(in, " \t\r\n")
		i := strings.IndexAny(in, " \t\r\n;")
		if i < 0 {
			i = len(in)
		}
		w := in[:i]
		in = in[i:]
		return w
	}
	j.LoginModule = word()
	j.Flag = word()
	if j.LoginModule == "" || j.Flag == "" {
		return JAAS{}, errors.New("auth: sasl.jaas.config: expected '<LoginModule class> required key=\"value\" ...;'")
	}
	switch j.Flag {
	case "required", "requisite", "sufficient", "optional":
	default:
		return JAAS{}, fmt.Errorf("auth: sasl.jaas.config: %q is not a JAAS control flag (required)", j.Flag)
	}
	for {
		in = strings.TrimLeft(in, " \t\r\n")
		if in == "" {
			return JAAS{}, errors.New("auth: sasl.jaas.config: missing the closing ';'")
		}
		if in[0] == ';' {
			if rest := strings.TrimSpace(in[1:]); rest != "" {
				return JAAS{}, errors.New("auth: sasl.jaas.config: only one login module is supported, found more text after ';'")
			}
			return j, nil
		}
		eq := strings.IndexByte(in, '=')
		if eq <= 0 {
			// The text is not quoted back: it may hold a password.
			return JAAS{}, fmt.Errorf("auth: sasl.jaas.config: expected key=value at character %d", len(s)-len(in))
		}
		key := strings.TrimSpace(in[:eq])
		if strings.ContainsAny(key, " \t\"") {
			return JAAS{}, fmt.Errorf("auth: sasl.jaas.config: bad option name at character %d (quote values that hold spaces)", len(s)-len(in))
		}
		in = in[eq+1:]
		var val strings.Builder
		if strings.HasPrefix(in, "\"") {
			i := 1
			closed := false
			for ; i < len(in); i++ {
				c := in[i]
				if c == '\\' && i+1 < len(in) {
					i++
					val.WriteByte(in[i])
					continue
				}
				if c == '"' {
					closed = true
					break
				}
				val.WriteByte(c)
			}
			if !closed {
				return JAAS{}, fmt.Errorf("auth: sasl.jaas.config: unterminated quote in option %s", key)
			}
			in = in[i+1:]
		} else {
			i := strings.IndexAny(in, " \t\r\n;")
			if i < 0 {
				i = len(in)
			}
			val.WriteString(in[:i])
			in = in[i:]
		}
		j.Options[key] = val.String()
	}
}

// PlainLoginModule is the login module of the PLAIN mechanism.
const PlainLoginModule = "org.apache.kafka.common.security.plain.PlainLoginModule"

// ScramLoginModule is the login module of the SCRAM mechanisms.
const ScramLoginModule = "org.apache.kafka.common.security.scram.ScramLoginModule"

// PlainUsers are the users and passwords of the PLAIN mechanism, taken from the user_<name>
// options of a PlainLoginModule line, as Kafka's PlainServerCallbackHandler reads them.
type PlainUsers map[string]string

// PlainUsersFromJAAS reads the users of a PlainLoginModule JAAS line.
func PlainUsersFromJAAS(j JAAS) (PlainUsers, error) {
	if j.LoginModule != PlainLoginModule {
		return nil, fmt.Errorf("auth: PLAIN needs %s, got %s", PlainLoginModule, j.LoginModule)
	}
	users := PlainUsers{}
	for k, v := range j.Options {
		if name, ok := strings.CutPrefix(k, "user_"); ok && name != "" {
			users[name] = v
		}
	}
	return users, nil
}

// ErrAuthentication is the error of a failed authentication; the broker answers
// SASL_AUTHENTICATION_FAILED with the message.
var ErrAuthentication = errors.New("authentication failed")

// VerifyPlain checks one PLAIN message (RFC 4616: authzid NUL authcid NUL passwd) and returns
// the authenticated user name.
func (u PlainUsers) VerifyPlain(msg []byte) (string, error) {
	parts := strings.Split(string(msg), "\x00")
	if len(parts) != 3 {
		return "", fmt.Errorf("%w: malformed PLAIN message", ErrAuthentication)
	}
	authz, user, pass := parts[0], parts[1], parts[2]
	if user == "" {
		return "", fmt.Errorf("%w: empty user name", ErrAuthentication)
	}
	if authz != "" && authz != user {
		return "", fmt.Errorf("%w: an authorization id other than the user name is not supported", ErrAuthentication)
	}
	want, ok := u[user]
	// Compare even for an unknown user, so the timing says nothing about which names exist.
	if subtle.ConstantTimeCompare([]byte(want), []byte(pass)) != 1 || !ok {
		return "", fmt.Errorf("%w: invalid username or password", ErrAuthentication)
	}
	return user, nil
}
