// Command probe is the container health check (Dockerfile, compose.yaml):
// it GETs a URL, http://127.0.0.1:8080/readyz unless one is given, and exits
// 0 on 200 and 1 otherwise. The distroless image has no shell, curl or wget.
package main

import (
	"cmp"
	"flag"
	"fmt"
	"net/http"
	"os"
	"time"
)

func main() {
	flag.Parse()
	url := cmp.Or(flag.Arg(0), "http://127.0.0.1:8080/readyz")
	client := http.Client{Timeout: 3 * time.Second}
	res, err := client.Get(url)
	if err != nil {
		fmt.Fprintln(os.Stderr, "probe:", err)
		os.Exit(1)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		fmt.Fprintln(os.Stderr, "probe:", url, res.Status)
		os.Exit(1)
	}
}
