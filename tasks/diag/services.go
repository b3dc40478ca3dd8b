package diag

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/stevedore-dev/stevedore/tasks/stack"
	"github.com/stevedore-dev/stevedore/tasks/term"
)

func checkService(ctx context.Context, c *collector, svc stack.Service) Check {
	ch := Check{ID: "service:" + svc.Name, Group: "services", Details: map[string]string{}}
	rep := ServiceReport{Container: svc.Container, State: svc.State, Health: svc.Health, RestartCount: svc.RestartCount,
		Ports: []int{}, Details: map[string]string{}}
	if svc.State == "running" && !svc.StartedAt.IsZero() {
		rep.UptimeSeconds = int64(time.Since(svc.StartedAt).Seconds())
	}
	var problems []string
	switch {
	case svc.State != "running":
		problems = append(problems, fmt.Sprintf("%s (exit code %d)", svc.State, svc.ExitCode))
	case svc.Health == "unhealthy" || svc.Health == "starting":
		problems = append(problems, "health "+svc.Health)
	}
	connected := svc.State == "running"
	for _, p := range svc.Ports {
		rep.Ports = append(rep.Ports, p.Host)
		if svc.State != "running" {
			continue
		}
		d := net.Dialer{Timeout: 500 * time.Millisecond}
		conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p.Host)))
		if err != nil {
			connected = false
			problems = append(problems, fmt.Sprintf("port %d does not answer", p.Host))
			continue
		}
		conn.Close()
	}
	var probeNote string
	if svc.State == "running" && (svc.Probe != "" || len(svc.Checks) > 0) {
		urls := append([]string(nil), svc.Checks...)
		if svc.Probe != "" {
			urls = append([]string{svc.Probe}, urls...)
		}
		var failed []string
		for _, u := range urls {
			if err := stack.Probe(ctx, u); err != nil {
				failed = append(failed, err.Error())
				rep.Details[u] = err.Error()
			} else {
				rep.Details[u] = "ok"
			}
		}
		if len(failed) > 0 {
			connected = false
			problems = append(problems, strings.Join(failed, "; "))
		} else {
			probeNote = fmt.Sprintf("; %d URL(s) answer", len(urls))
		}
	}
	rep.Connectivity = connected
	c.service(svc.Name, rep)
	ch.Details["container"], ch.Details["restarts"] = svc.Container, strconv.Itoa(svc.RestartCount)
	ports := make([]string, len(rep.Ports))
	for i, p := range rep.Ports {
		ports[i] = strconv.Itoa(p)
	}
	health := svc.Health
	if health == "" {
		health = "no healthcheck"
	}
	if len(problems) > 0 {
		ch.Status, ch.Summary, ch.Next = Fail, fmt.Sprintf("%s: %s", svc.Name, strings.Join(problems, "; ")), "go tool mage env:logs -service="+svc.Name
		if svc.State != "running" {
			ch.Next = "go tool mage env:up"
		}
		return ch
	}
	ch.Status = OK
	ch.Summary = fmt.Sprintf("%s: running, %s, %s, up %s; ports %s reachable%s", svc.Name, health, term.Plural(svc.RestartCount, "restart"),
		(time.Duration(rep.UptimeSeconds) * time.Second).String(), strings.Join(ports, ", "), probeNote)
	if len(ports) == 0 {
		ch.Summary = fmt.Sprintf("%s: running, %s, %s, up %s%s", svc.Name, health, term.Plural(svc.RestartCount, "restart"), (time.Duration(rep.UptimeSeconds) * time.Second).String(), probeNote)
	}
	if svc.RestartCount > 0 {
		ch.Status, ch.Next = Warn, "go tool mage env:logs -service="+svc.Name
	}
	return ch
}
