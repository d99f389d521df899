package e2e

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/pptpbox/pptpbox/qemu/netns"
)

// scrape GETs /metrics from addr inside ns. The socket is made in ns (Do
// runs on a thread in it); HTTP/1.0 with Connection: close keeps the
// exchange to one read to EOF.
func scrape(ns *netns.NS, addr string) (string, error) {
	var body string
	err := ns.Do(func() error {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			return err
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := fmt.Fprintf(c, "GET /metrics HTTP/1.0\r\nHost: %s\r\nConnection: close\r\n\r\n", addr); err != nil {
			return err
		}
		b, err := io.ReadAll(c)
		if err != nil {
			return err
		}
		head, rest, ok := strings.Cut(string(b), "\r\n\r\n")
		if !ok || !strings.HasPrefix(head, "HTTP/1.") || !strings.Contains(strings.SplitN(head, "\r\n", 2)[0], " 200 ") {
			return fmt.Errorf("scrape %s: %.200q", addr, b)
		}
		body = rest
		return nil
	})
	return body, err
}

// metricValue is the value of the sample whose name and labels start with
// prefix (e.g. `pptpbox_session_bytes_total{user="test"`) and that has
// every one of labels; ok is false when there is none.
func metricValue(page, prefix string, labels ...string) (v float64, ok bool) {
	sc := bufio.NewScanner(strings.NewReader(page))
	sc.Buffer(make([]byte, 64*1024), 1<<20)
next:
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, prefix) {
			continue
		}
		for _, l := range labels {
			if !strings.Contains(line, l) {
				continue next
			}
		}
		f, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
		if err != nil {
			return 0, false
		}
		return f, true
	}
	return 0, false
}
