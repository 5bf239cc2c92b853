package auth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"sort"
	"strings"
	"sync"

	"github.com/xdg-go/scram"
)

// The SCRAM mechanisms, by their SASL names.
const (
	ScramSHA256 = "SCRAM-SHA-256"
	ScramSHA512 = "SCRAM-SHA-512"
)

// Kafka's bounds on SCRAM iterations (ScramMechanism's min and max).
const (
	MinScramIterations = 4096
	MaxScramIterations = 16384
)

// ScramMechanisms lists the SCRAM mechanisms with their Kafka wire codes (1 and 2 in
// DescribeUserScramCredentials).
var ScramMechanisms = map[string]int8{ScramSHA256: 1, ScramSHA512: 2}

// ScramMechanismName returns the SASL name of a Kafka SCRAM mechanism code, or "".
func ScramMechanismName(code int8) string {
	for n, c := range ScramMechanisms {
		if c == code {
			return n
		}
	}
	return ""
}

func scramHash(mech string) (func() hash.Hash, scram.HashGeneratorFcn, error) {
	switch mech {
	case ScramSHA256:
		return sha256.New, scram.SHA256, nil
	case ScramSHA512:
		return sha512.New, scram.SHA512, nil
	}
	return nil, nil, fmt.Errorf("auth: unknown SCRAM mechanism %q", mech)
}

// ScramCredential is what the broker keeps for one user and mechanism: the salt, the
// iteration count, and the stored and server keys of RFC 5802. The password, and the
// salted password, are never kept.
type ScramCredential struct {
	Salt       []byte `json:"salt"`
	Iterations int    `json:"iterations"`
	StoredKey  []byte `json:"stored_key"`
	ServerKey  []byte `json:"server_key"`
}

// Credentials is the broker's SCRAM credential store, kept in a file.
type Credentials struct {
	store *fileStore
	mu    sync.RWMutex
	// creds[mechanism][user]
	creds map[string]map[string]ScramCredential
}

// OpenCredentials loads the credential store kept at path (empty when the file does not
// exist yet). An empty path keeps the credentials in memory only.
func OpenCredentials(path string) (*Credentials, error) {
	c := &Credentials{store: &fileStore{path: path}, creds: map[string]map[string]ScramCredential{}}
	if err := c.store.load(&c.creds); err != nil {
		return nil, fmt.Errorf("auth: loading SCRAM credentials: %w", err)
	}
	for mech := range c.creds {
		if _, ok := ScramMechanisms[mech]; !ok {
			return nil, fmt.Errorf("auth: SCRAM credentials in %s: unknown mechanism %q", path, mech)
		}
	}
	return c, nil
}

// ErrUnacceptableCredential is returned for iterations outside Kafka's bounds or an empty
// salt or password.
var ErrUnacceptableCredential = errors.New("auth: unacceptable credential")

// SetSalted stores a credential from a salted password (what AlterUserScramCredentials
// carries: Hi(password, salt, iterations), computed by the client).
func (c *Credentials) SetSalted(mech, user string, salt, saltedPassword []byte, iterations int) error {
	h, _, err := scramHash(mech)
	if err != nil {
		return err
	}
	if iterations < MinScramIterations || iterations > MaxScramIterations {
		return fmt.Errorf("%w: iterations %d are outside [%d, %d]", ErrUnacceptableCredential, iterations, MinScramIterations, MaxScramIterations)
	}
	if len(salt) == 0 || len(saltedPassword) == 0 || user == "" {
		return fmt.Errorf("%w: empty user, salt or salted password", ErrUnacceptableCredential)
	}
	mac := func(key []byte, msg string) []byte {
		m := hmac.New(h, key)
		m.Write([]byte(msg))
		return m.Sum(nil)
	}
	clientKey := mac(saltedPassword, "Client Key")
	sum := h()
	sum.Write(clientKey)
	cred := ScramCredential{Salt: append([]byte(nil), salt...), Iterations: iterations, StoredKey: sum.Sum(nil), ServerKey: mac(saltedPassword, "Server Key")}
	return c.put(mech, user, &cred)
}

// SetPassword stores a credential for a password with a fresh random salt.
func (c *Credentials) SetPassword(mech, user, password string, iterations int) error {
	_, gen, err := scramHash(mech)
	if err != nil {
		return err
	}
	if iterations < MinScramIterations || iterations > MaxScramIterations {
		return fmt.Errorf("%w: iterations %d are outside [%d, %d]", ErrUnacceptableCredential, iterations, MinScramIterations, MaxScramIterations)
	}
	if password == "" || user == "" {
		return fmt.Errorf("%w: empty user or password", ErrUnacceptableCredential)
	}
	salt := make([]byte, 32)
	if _, err := rand.Read(salt); err != nil {
		return fmt.Errorf("auth: salt: %w", err)
	}
	cl, err := gen.NewClient(user, password, "")
	if err != nil {
		return fmt.Errorf("%w: %v", ErrUnacceptableCredential, err)
	}
	sc, err := cl.GetStoredCredentialsWithError(scram.KeyFactors{Salt: string(salt), Iters: iterations})
	if err != nil {
		return fmt.Errorf("auth: deriving SCRAM keys: %w", err)
	}
	return c.put(mech, user, &ScramCredential{Salt: salt, Iterations: iterations, StoredKey: sc.StoredKey, ServerKey: sc.ServerKey})
}

// ErrNoCredential is returned by Delete for a user without a credential of the mechanism.
var ErrNoCredential = errors.New("auth: no such SCRAM credential")

// Delete removes a user's credential of one mechanism.
func (c *Credentials) Delete(mech, user string) error {
	if _, _, err := scramHash(mech); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.creds[mech][user]; !ok {
		return ErrNoCredential
	}
	next := c.cloneLocked()
	delete(next[mech], user)
	if err := c.store.save(next); err != nil {
		return fmt.Errorf("auth: saving SCRAM credentials: %w", err)
	}
	c.creds = next
	return nil
}

func (c *Credentials) put(mech, user string, cred *ScramCredential) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	next := c.cloneLocked()
	if next[mech] == nil {
		next[mech] = map[string]ScramCredential{}
	}
	next[mech][user] = *cred
	if err := c.store.save(next); err != nil {
		return fmt.Errorf("auth: saving SCRAM credentials: %w", err)
	}
	c.creds = next
	return nil
}

func (c *Credentials) cloneLocked() map[string]map[string]ScramCredential {
	next := make(map[string]map[string]ScramCredential, len(c.creds))
	for m, users := range c.creds {
		next[m] = make(map[string]ScramCredential, len(users))
		for u, cr := range users {
			next[m][u] = cr
		}
	}
	return next
}

// CredentialInfo is what DescribeUserScramCredentials tells about one credential.
type CredentialInfo struct {
	Mechanism  string
	Iterations int
}

// Describe returns the mechanisms and iterations of a user's credentials, by mechanism name.
func (c *Credentials) Describe(user string) []CredentialInfo {
	c.mu.RLock()
	defer c.mu.RUnlock()
	var out []CredentialInfo
	for mech, users := range c.creds {
		if cr, ok := users[user]; ok {
			out = append(out, CredentialInfo{Mechanism: mech, Iterations: cr.Iterations})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Mechanism < out[j].Mechanism })
	return out
}

// Users returns every user with at least one credential, sorted.
func (c *Credentials) Users() []string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	seen := map[string]bool{}
	var out []string
	for _, users := range c.creds {
		for u := range users {
			if !seen[u] {
				seen[u] = true
				out = append(out, u)
			}
		}
	}
	sort.Strings(out)
	return out
}

// ScramConversation is the server side of one SCRAM exchange (two client messages).
type ScramConversation struct {
	conv  *scram.ServerConversation
	creds *Credentials
	mech  string
	// Kept from the first round for the nonce-suffix rule (see Step).
	clientFirstBare, serverFirst, user, nonce string
	step                                      int
}

// NewScramConversation starts a SCRAM exchange of the given mechanism against the store.
func (c *Credentials) NewScramConversation(mech string) (*ScramConversation, error) {
	_, gen, err := scramHash(mech)
	if err != nil {
		return nil, err
	}
	srv, err := gen.NewServer(func(user string) (scram.StoredCredentials, error) {
		c.mu.RLock()
		cr, ok := c.creds[mech][user]
		c.mu.RUnlock()
		if !ok {
			return scram.StoredCredentials{}, fmt.Errorf("%w: invalid username or password", ErrAuthentication)
		}
		return scram.StoredCredentials{KeyFactors: scram.KeyFactors{Salt: string(cr.Salt), Iters: cr.Iterations}, StoredKey: cr.StoredKey, ServerKey: cr.ServerKey}, nil
	})
	if err != nil {
		return nil, fmt.Errorf("auth: %w", err)
	}
	return &ScramConversation{conv: srv.NewConversation(), creds: c, mech: mech}, nil
}

// Step takes the client's next message and returns the server's answer. When done is true
// the exchange succeeded and user is the authenticated name. An error means authentication
// failed; the answer is then empty.
//
// The library (github.com/xdg-go/scram) runs the exchange. One rule of Kafka's server is
// added: Kafka accepts a client-final-message whose nonce ends with the server's nonce
// instead of equalling it (ScramSaslServer checks endsWith), and librdkafka relies on it (it
// sends its client nonce twice). Such a message is verified here, with the same
// RFC 5802 proof check, against the same stored key.
func (s *ScramConversation) Step(msg []byte) (answer []byte, done bool, user string, err error) {
	s.step++
	if s.step == 2 {
		if nonce, ok := scramAttr(string(msg), 'r'); ok && nonce != s.nonce && s.nonce != "" && strings.HasSuffix(nonce, s.nonce) {
			return s.finalWithNonceSuffix(string(msg))
		}
	}
	out, err := s.conv.Step(string(msg))
	if err != nil {
		if errors.Is(err, ErrAuthentication) {
			return nil, false, "", err
		}
		return nil, false, "", fmt.Errorf("%w: %v", ErrAuthentication, err)
	}
	if s.step == 1 {
		// client-first-message = gs2-header client-first-message-bare; the gs2 header ends
		// at its second comma.
		m := string(msg)
		if i := strings.IndexByte(m, ','); i >= 0 {
			if j := strings.IndexByte(m[i+1:], ','); j >= 0 {
				s.clientFirstBare = m[i+1+j+1:]
			}
		}
		s.serverFirst = out
		s.nonce, _ = scramAttr(out, 'r')
		s.user = s.conv.Username()
	}
	if s.conv.Done() {
		if !s.conv.Valid() {
			return nil, false, "", fmt.Errorf("%w: invalid username or password", ErrAuthentication)
		}
		return []byte(out), true, s.conv.Username(), nil
	}
	return []byte(out), false, "", nil
}

// finalWithNonceSuffix verifies a client-final-message whose nonce ends with the server's.
func (s *ScramConversation) finalWithNonceSuffix(msg string) ([]byte, bool, string, error) {
	fail := fmt.Errorf("%w: invalid username or password", ErrAuthentication)
	h, _, err := scramHash(s.mech)
	if err != nil {
		return nil, false, "", err
	}
	i := strings.LastIndex(msg, ",p=")
	if i < 0 || s.clientFirstBare == "" {
		return nil, false, "", fmt.Errorf("%w: malformed client-final-message", ErrAuthentication)
	}
	withoutProof := msg[:i]
	proof, err := base64.StdEncoding.DecodeString(msg[i+3:])
	if err != nil {
		return nil, false, "", fmt.Errorf("%w: malformed proof", ErrAuthentication)
	}
	if cb, _ := scramAttr(withoutProof, 'c'); cb != "biws" && cb != "eSws" {
		return nil, false, "", fmt.Errorf("%w: channel binding is not supported", ErrAuthentication)
	}
	s.creds.mu.RLock()
	cred, ok := s.creds.creds[s.mech][s.user]
	s.creds.mu.RUnlock()
	if !ok {
		return nil, false, "", fail
	}
	authMessage := s.clientFirstBare + "," + s.serverFirst + "," + withoutProof
	mac := func(key []byte, m string) []byte {
		x := hmac.New(h, key)
		x.Write([]byte(m))
		return x.Sum(nil)
	}
	clientSignature := mac(cred.StoredKey, authMessage)
	if len(proof) != len(clientSignature) {
		return nil, false, "", fail
	}
	clientKey := make([]byte, len(proof))
	for k := range proof {
		clientKey[k] = proof[k] ^ clientSignature[k]
	}
	sum := h()
	sum.Write(clientKey)
	if !hmac.Equal(sum.Sum(nil), cred.StoredKey) {
		return nil, false, "", fail
	}
	serverSignature := mac(cred.ServerKey, authMessage)
	return []byte("v=" + base64.StdEncoding.EncodeToString(serverSignature)), true, s.user, nil
}

// scramAttr returns the value of a SCRAM attribute (a=value, comma separated).
func scramAttr(msg string, name byte) (string, bool) {
	for _, part := range strings.Split(msg, ",") {
		if len(part) >= 2 && part[0] == name && part[1] == '=' {
			return part[2:], true
		}
	}
	return "", false
}
