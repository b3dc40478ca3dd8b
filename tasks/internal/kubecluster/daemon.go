//go:build linux

package kubecluster

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"time"
)

// daemon is a component of the cluster, running.
type daemon struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{} // closed when it exits
}

// spawn starts argv as the daemon name, its output in log/name.log.
func (c *Cluster) spawn(name string, argv []string, env ...string) (*daemon, error) {
	d := &daemon{name: name, log: c.path("log", name+".log"), done: make(chan struct{})}
	out, err := os.OpenFile(d.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	// Not CommandContext: teardown, after the test's context has ended,
	// stops the daemons in an order of its own.
	d.cmd = exec.Command(argv[0], argv[1:]...)
	d.cmd.Dir = c.root
	d.cmd.Env = append(os.Environ(), env...)
	d.cmd.Stdout, d.cmd.Stderr = out, out
	// Killed with the test binary when it dies without a teardown (a
	// panic or -timeout), rather than left running.
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	err = d.cmd.Start()
	out.Close()
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	go func() { _ = d.cmd.Wait(); close(d.done) }()
	return d, nil
}

// stop asks the daemon to end, kills it after grace, and waits for it.
func (d *daemon) stop(grace time.Duration) {
	if d == nil {
		return
	}
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.done:
		return
	case <-time.After(grace):
	}
	_ = d.cmd.Process.Kill()
	<-d.done
}

func (d *daemon) exited() error {
	select {
	case <-d.done:
		return fmt.Errorf("%s exited: %v (log %s)", d.name, d.cmd.ProcessState, d.log)
	default:
		return nil
	}
}

// poll calls check every interval until it succeeds, the daemon it waits
// on exits, or limit passes; the error then says what was last wrong.
func poll(ctx context.Context, limit time.Duration, d *daemon, what string, check func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		err := check(ctx)
		if err == nil {
			return nil
		}
		if d != nil {
			if dead := d.exited(); dead != nil {
				return fmt.Errorf("wait for %s: %w", what, dead)
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not within %s: %w", what, limit, err)
		case <-tick.C:
		}
	}
}

// httpOK answers whether url answers 200.
func httpOK(client *http.Client, url, token string) func(context.Context) error {
	return func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%s: %s %s", url, resp.Status, body)
		}
		return nil
	}
}

// apiClient trusts the API server's self-signed certificate.
func (c *Cluster) apiClient() (*http.Client, error) {
	pem, err := os.ReadFile(c.path("pki", "apiserver.crt"))
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, errors.New("no certificate in apiserver.crt")
	}
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}, nil
}

// selfSignedClient reaches the controller-manager and scheduler, whose
// serving certificates are made up in memory at start.
var selfSignedClient = &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
	TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // a local daemon's health only
}}

// freePorts picks the cluster's ports: the kubelet's on the node IP
// (the API server reaches it there), the others on 127.0.0.1.
func freePorts(nodeIP string) (ports, error) {
	var p ports
	for _, f := range []struct {
		host string
		port *int
	}{
		{"127.0.0.1", &p.etcd}, {"127.0.0.1", &p.etcdPeer}, {"127.0.0.1", &p.api}, {"127.0.0.1", &p.controllers},
		{"127.0.0.1", &p.scheduler}, {nodeIP, &p.kubelet}, {"127.0.0.1", &p.kubeletHealthz},
	} {
		l, err := net.Listen("tcp", net.JoinHostPort(f.host, "0"))
		if err != nil {
			return p, fmt.Errorf("pick a port on %s: %w", f.host, err)
		}
		// Held until all are picked, so that no two are the same.
		defer l.Close()
		*f.port = l.Addr().(*net.TCPAddr).Port
	}
	return p, nil
}

func url(host string, port int, path string) string {
	return "https://" + net.JoinHostPort(host, strconv.Itoa(port)) + path
}
