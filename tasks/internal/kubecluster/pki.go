//go:build linux

package kubecluster

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"strings"
	"time"
)

// writePKI writes the API server's self-signed serving certificate (its
// own CA in kubeconfigs), the service-account signing key and the static
// token file with the admin in system:masters.
func (c *Cluster) writePKI() error {
	if err := writeServingCert(c.path("pki", "apiserver.crt"), c.path("pki", "apiserver.key")); err != nil {
		return fmt.Errorf("API server certificate: %w", err)
	}
	if err := writeKeyPair(c.path("pki", "sa.key"), c.path("pki", "sa.pub")); err != nil {
		return fmt.Errorf("service-account key: %w", err)
	}
	return os.WriteFile(c.path("pki", "tokens.csv"), []byte(tokenLine(c.admin, "admin", "system:masters")), 0o600)
}

// tokenLine is a line of --token-auth-file: token,user,uid,"group,…".
func tokenLine(token, user string, groups ...string) string {
	return fmt.Sprintf("%s,%s,%s,%q\n", token, user, user, strings.Join(groups, ","))
}

func writeServingCert(certFile, keyFile string) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "stevedore-kube-apiserver"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(7 * 24 * time.Hour),
		// Its own CA: kubeconfigs trust this one certificate.
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:              []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc"},
		// 10.96.0.1: the first service IP, the API server's in-cluster address.
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv4(10, 96, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return err
	}
	if err := writePEM(certFile, "CERTIFICATE", der); err != nil {
		return err
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return err
	}
	return writePEM(keyFile, "EC PRIVATE KEY", kb)
}

func writeKeyPair(keyFile, pubFile string) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return err
	}
	if err := writePEM(keyFile, "EC PRIVATE KEY", kb); err != nil {
		return err
	}
	pb, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return err
	}
	return writePEM(pubFile, "PUBLIC KEY", pb)
}

func writePEM(file, kind string, der []byte) error {
	return os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der}), 0o600)
}
