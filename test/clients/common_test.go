// Package clients runs the official Equinix Metal Go clients against a running `ccm fake-api`.
//
// The Deno test test/clients_conformance_test.ts starts the simulator and passes it in the environment:
// METAL_BASE_URL (…/metal/v1), METAL_API_KEY and METAL_PROJECT_ID. Each client operation is one subtest.
package clients

import (
	"crypto/ed25519"
	"crypto/md5"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"os"
	"strings"
	"testing"
)

type env struct {
	baseURL   string
	apiKey    string
	projectID string
}

func mustEnv(t *testing.T) env {
	t.Helper()
	e := env{os.Getenv("METAL_BASE_URL"), os.Getenv("METAL_API_KEY"), os.Getenv("METAL_PROJECT_ID")}
	if e.baseURL == "" || e.apiKey == "" || e.projectID == "" {
		t.Fatal("METAL_BASE_URL, METAL_API_KEY and METAL_PROJECT_ID must point at a running `ccm fake-api` " +
			"(test/clients_conformance_test.ts sets them)")
	}
	return e
}

// steps runs named client operations in order; once one fails the rest fail too (they depend on it).
type steps struct {
	t      *testing.T
	failed string
}

func (s *steps) run(name string, fn func(t *testing.T)) {
	s.t.Helper()
	ok := s.t.Run(name, func(t *testing.T) {
		if s.failed != "" {
			t.Fatalf("not run: the earlier step %q failed", s.failed)
		}
		fn(t)
	})
	if !ok && s.failed == "" {
		s.failed = name
	}
}

func check(t *testing.T, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// publicKey is an OpenSSH public key line and its MD5 fingerprint, computed here (not by the simulator).
type publicKey struct {
	line string
	md5  string
}

// newPublicKey makes a fresh ed25519 public key line (wire format: length-prefixed type, then the key).
func newPublicKey(t *testing.T, comment string) publicKey {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	check(t, err, "ed25519.GenerateKey")
	var blob []byte
	for _, part := range [][]byte{[]byte("ssh-ed25519"), pub} {
		blob = binary.BigEndian.AppendUint32(blob, uint32(len(part)))
		blob = append(blob, part...)
	}
	sum := md5.Sum(blob)
	hexes := make([]string, len(sum))
	for i, b := range sum {
		hexes[i] = fmt.Sprintf("%02x", b)
	}
	return publicKey{"ssh-ed25519 " + base64.StdEncoding.EncodeToString(blob) + " " + comment, strings.Join(hexes, ":")}
}

// pair returns the key line and its fingerprint.
func (k publicKey) pair() (line, fingerprint string) { return k.line, k.md5 }
