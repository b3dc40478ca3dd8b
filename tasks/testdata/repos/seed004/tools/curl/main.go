// Command curl is the little of curl this fixture's healthcheck uses:
// `curl -f URL` exits 0 when URL answers below 400, 22 when it answers an
// error (as curl -f does), 7 when it cannot connect.
package main

import (
	"net/http"
	"os"
	"time"
)

func main() {
	url := os.Args[len(os.Args)-1]
	client := http.Client{Timeout: 10 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		os.Exit(7)
	}
	resp.Body.Close()
	if resp.StatusCode >= 400 {
		os.Exit(22)
	}
}
