package customer

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"os"
	"strings"
)

// KeyEnv is the environment variable holding the voiceprint key (base64 of
// 32 bytes) when the configuration does not give one.
const KeyEnv = "VOXDESK_VOICEPRINT_KEY"

// KeySize is the size of a voiceprint key (AES-256).
const KeySize = 32

// ParseKey decodes a base64 (standard or URL alphabet, padded or not)
// voiceprint key of KeySize bytes.
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if k, err := enc.DecodeString(s); err == nil {
			if len(k) != KeySize {
				return nil, fmt.Errorf("customer: voiceprint key is %d bytes, want %d", len(k), KeySize)
			}
			return k, nil
		}
	}
	return nil, fmt.Errorf("customer: voiceprint key is not base64")
}

// KeyFromEnv returns the key in $VOXDESK_VOICEPRINT_KEY, or nil, nil when
// the variable is unset or empty.
func KeyFromEnv() ([]byte, error) {
	v := os.Getenv(KeyEnv)
	if v == "" {
		return nil, nil
	}
	k, err := ParseKey(v)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", KeyEnv, err)
	}
	return k, nil
}

// NewKey returns a fresh random key, base64 encoded as ParseKey reads it.
func NewKey() string {
	k := make([]byte, KeySize)
	if _, err := rand.Read(k); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return base64.StdEncoding.EncodeToString(k)
}

// KeyID names a key without revealing it: the first 8 bytes of a SHA-256
// of a fixed label and the key, in hex. It is stored beside each sealed row.
func KeyID(key []byte) string {
	h := sha256.New()
	h.Write([]byte("voxdesk voiceprint key id\x00"))
	h.Write(key)
	return hex.EncodeToString(h.Sum(nil)[:8])
}

// sealer is one AES-256-GCM key.
type sealer struct {
	id   string
	aead cipher.AEAD
}

func newSealer(key []byte) (*sealer, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("customer: voiceprint key is %d bytes, want %d", len(key), KeySize)
	}
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	a, err := cipher.NewGCM(b)
	if err != nil {
		return nil, err
	}
	return &sealer{id: KeyID(key), aead: a}, nil
}

// seal encrypts the embedding; the result is nonce || ciphertext || tag.
func (s *sealer) seal(emb []float32, aad []byte) []byte {
	plain := make([]byte, 4*len(emb))
	for i, v := range emb {
		binary.LittleEndian.PutUint32(plain[4*i:], math.Float32bits(v))
	}
	return s.sealBytes(plain, aad)
}

// sealBytes encrypts plain; the result is nonce || ciphertext || tag.
func (s *sealer) sealBytes(plain, aad []byte) []byte {
	out := make([]byte, s.aead.NonceSize(), s.aead.NonceSize()+len(plain)+s.aead.Overhead())
	if _, err := rand.Read(out); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return s.aead.Seal(out, out, plain, aad)
}

// openBytes decrypts sealed in place (it is the caller's scratch copy of
// the row) and returns the plain bytes, which share its memory.
func (s *sealer) openBytes(sealed, aad []byte) ([]byte, error) {
	n := s.aead.NonceSize()
	if len(sealed) < n+s.aead.Overhead() {
		return nil, fmt.Errorf("customer: sealed value too short (%d bytes)", len(sealed))
	}
	plain, err := s.aead.Open(sealed[n:n], sealed[:n], sealed[n:], aad)
	if err != nil {
		return nil, fmt.Errorf("customer: sealed value does not open under key %s: %w", s.id, err)
	}
	return plain, nil
}

// open decrypts sealed, overwriting it, and returns the embedding.
func (s *sealer) open(sealed, aad []byte) ([]float32, error) {
	plain, err := s.openBytes(sealed, aad)
	if err != nil {
		return nil, err
	}
	if len(plain)%4 != 0 {
		return nil, fmt.Errorf("customer: embedding of %d bytes is not float32s", len(plain))
	}
	emb := make([]float32, len(plain)/4)
	for i := range emb {
		emb[i] = math.Float32frombits(binary.LittleEndian.Uint32(plain[4*i:]))
	}
	return emb, nil
}

// voiceprintAAD binds a sealed voiceprint to its row.
func voiceprintAAD(customerID, modelID string) []byte {
	return []byte("voxdesk/voiceprint\x00" + customerID + "\x00" + modelID)
}

// watchAAD binds a sealed watchlist embedding to its row.
func watchAAD(id string) []byte {
	return []byte("voxdesk/watchlist\x00" + id)
}
