// A stand-in for Ryuk 0.8.1, testcontainers' reaper (image testcontainers/ryuk:0.8.1, the one
// testcontainers-python 4.14 starts). The real program cannot be had here: its module,
// github.com/testcontainers/moby-ryuk, is not served by the Go module proxy (v0.13.0 refused on
// 2026-12-06) and its image is on Docker Hub. This one keeps the written behaviour of 0.8.1's
// main.go, call for call on the Engine API:
//   - log "Pinging Docker...", GET /_ping (API version negotiation), "Docker daemon is available!";
//   - listen on RYUK_PORT (8080); log "Started!" (clients wait for that line);
//   - each line a client sends is a URL query ("label=k=v&label=x"): remember it as a filter,
//     answer "ACK\n";
//   - no client within RYUK_CONNECTION_TIMEOUT (60s), or RYUK_RECONNECTION_TIMEOUT (10s) after
//     the last client left, or SIGTERM/SIGINT: prune, for each filter,
//       GET /containers/json?all=1&filters=F, DELETE /containers/ID?force=1&v=1 for each match
//       not labelled org.testcontainers.ryuk=true;
//       POST /networks/prune?filters=F (up to 10 tries, 1 s apart, while it fails);
//       GET /version, POST /volumes/prune?filters=F (+ "all":["true"] when API >= 1.42);
//       POST /images/prune?filters=F (+ "dangling":["false"]);
//     then log "Removed N container(s), N network(s), N volume(s) N image(s)" and exit.
// Standard library only. DOCKER_HOST (unix://) or /var/run/docker.sock.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"time"
)

type engine struct {
	c       *http.Client
	version string // "v1.41/" once negotiated
}

func newEngine() *engine {
	sock := "/var/run/docker.sock"
	if h := os.Getenv("DOCKER_HOST"); strings.HasPrefix(h, "unix://") {
		sock = strings.TrimPrefix(h, "unix://")
	}
	tr := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", sock)
	}}
	// No request timeout: 0.8.1 calls the Engine API with context.Background() (the
	// RYUK_REQUEST_TIMEOUT of later releases did not exist yet).
	return &engine{c: &http.Client{Transport: tr}}
}

func (e *engine) do(method, path string, q url.Values) (int, []byte, http.Header, error) {
	u := "http://docker/" + e.version + strings.TrimPrefix(path, "/")
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequest(method, u, nil)
	if err != nil {
		return 0, nil, nil, err
	}
	resp, err := e.c.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 400 {
		return resp.StatusCode, b, resp.Header, fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, strings.TrimSpace(string(b)))
	}
	return resp.StatusCode, b, resp.Header, nil
}

// versionAtLeast compares "1.41"-style API versions.
func versionAtLeast(v, min string) bool {
	var a1, a2, b1, b2 int
	fmt.Sscanf(v, "%d.%d", &a1, &a2)
	fmt.Sscanf(min, "%d.%d", &b1, &b2)
	return a1 > b1 || (a1 == b1 && a2 >= b2)
}

func (e *engine) negotiate() error {
	_, _, h, err := e.do("GET", "/_ping", nil)
	if err != nil {
		return err
	}
	v := h.Get("Api-Version")
	if v == "" {
		v = "1.24"
	}
	if versionAtLeast(v, "1.45") { // the client library's own maximum, as 0.8.1's
		v = "1.45"
	}
	e.version = "v" + v + "/"
	return nil
}

// filter is the Engine API's filters JSON: {"label":{"k=v":true}}.
type filter map[string]map[string]bool

func (f filter) with(key, value string) filter {
	g := filter{}
	for k, vs := range f {
		g[k] = map[string]bool{}
		for v := range vs {
			g[k][v] = true
		}
	}
	if g[key] == nil {
		g[key] = map[string]bool{}
	}
	g[key][value] = true
	return g
}

func (f filter) json() string {
	b, _ := json.Marshal(f)
	return string(b)
}

func parseFilter(line string) (filter, error) {
	q, err := url.ParseQuery(line)
	if err != nil {
		return nil, err
	}
	f := filter{}
	for k, vs := range q {
		for _, v := range vs {
			f = f.with(k, v)
		}
	}
	return f, nil
}

func durationEnv(name string, def time.Duration) time.Duration {
	if s, ok := os.LookupEnv(name); ok {
		d, err := time.ParseDuration(s)
		if err != nil {
			panic(fmt.Sprintf("failed to parse %q: %s", name, err))
		}
		return d
	}
	return def
}

func main() {
	port := os.Getenv("RYUK_PORT")
	if port == "" {
		port = "8080"
	}
	connTimeout := durationEnv("RYUK_CONNECTION_TIMEOUT", 60*time.Second)
	reconnTimeout := durationEnv("RYUK_RECONNECTION_TIMEOUT", 10*time.Second)

	e := newEngine()
	_ = e.negotiate()
	log.Println("Pinging Docker...")
	if _, _, _, err := e.do("GET", "/_ping", nil); err != nil {
		panic(err)
	}
	log.Println("Docker daemon is available!")

	filters := map[string]filter{}
	added := make(chan filter, 16)
	accepted := make(chan net.Addr, 10)
	lost := make(chan net.Addr, 10)

	log.Printf("Starting on port %s...", port)
	ln, err := net.Listen("tcp", ":"+port)
	if err != nil {
		panic(err)
	}
	log.Println("Started!")
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				panic(err)
			}
			accepted <- conn.RemoteAddr()
			go func(conn net.Conn) {
				defer func() { conn.Close(); lost <- conn.RemoteAddr() }()
				r := bufio.NewReader(conn)
				for {
					line, err := r.ReadString('\n')
					line = strings.TrimSpace(line)
					if line != "" {
						f, perr := parseFilter(line)
						if perr != nil {
							log.Println(perr)
						} else {
							log.Printf("Adding %s", f.json())
							added <- f
							conn.Write([]byte("ACK\n"))
						}
					}
					if err != nil {
						if err != io.EOF {
							log.Println(err)
						}
						return
					}
				}
			}(conn)
		}
	}()

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	clients := 0
	timer := time.NewTimer(connTimeout)
wait:
	for {
		select {
		case f := <-added:
			filters[f.json()] = f
		case a := <-accepted:
			log.Printf("New client connected: %s", a)
			clients++
			if clients == 1 {
				timer.Stop()
			}
		case a := <-lost:
			log.Printf("Client disconnected: %s", a)
			clients--
			if clients == 0 {
				timer.Reset(reconnTimeout)
			}
		case <-sig:
			log.Println("Signal received")
			break wait
		case <-timer.C:
			log.Println("Timeout waiting for connection")
			break wait
		}
	}
	for {
		select {
		case f := <-added:
			filters[f.json()] = f
			continue
		default:
		}
		break
	}

	keys := make([]string, 0, len(filters))
	for k := range filters {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var nc, nn, nv, ni int
	for _, k := range keys {
		f := filters[k]
		_, body, _, err := e.do("GET", "/containers/json", url.Values{"all": {"1"}, "filters": {f.json()}})
		if err != nil {
			log.Println(err)
		} else {
			var list []struct {
				ID     string `json:"Id"`
				Labels map[string]string
			}
			json.Unmarshal(body, &list)
			for _, c := range list {
				if c.Labels["org.testcontainers.ryuk"] == "true" {
					continue
				}
				if _, _, _, err := e.do("DELETE", "/containers/"+c.ID, url.Values{"force": {"1"}, "v": {"1"}}); err != nil {
					log.Println(err)
				}
				nc++
			}
		}
		retry(func() error {
			_, body, _, err := e.do("POST", "/networks/prune", url.Values{"filters": {f.json()}})
			var rep struct{ NetworksDeleted []string }
			json.Unmarshal(body, &rep)
			nn += len(rep.NetworksDeleted)
			return err
		}, "Network")
		retry(func() error {
			g := f
			if _, body, _, err := e.do("GET", "/version", nil); err == nil {
				var v struct{ ApiVersion string }
				json.Unmarshal(body, &v)
				if versionAtLeast(v.ApiVersion, "1.42") {
					g = f.with("all", "true")
				}
			}
			_, body, _, err := e.do("POST", "/volumes/prune", url.Values{"filters": {g.json()}})
			var rep struct{ VolumesDeleted []string }
			json.Unmarshal(body, &rep)
			nv += len(rep.VolumesDeleted)
			return err
		}, "Volumes")
		retry(func() error {
			_, body, _, err := e.do("POST", "/images/prune", url.Values{"filters": {f.with("dangling", "false").json()}})
			var rep struct{ ImagesDeleted []struct{ Untagged string } }
			json.Unmarshal(body, &rep)
			for _, i := range rep.ImagesDeleted {
				if i.Untagged != "" {
					ni++
				}
			}
			return err
		}, "Images")
	}
	log.Printf("Removed %d container(s), %d network(s), %d volume(s) %d image(s)", nc, nn, nv, ni)
}

// retry: up to 10 tries, 1 s apart, while the call fails (as 0.8.1's try.Do loops do).
func retry(f func() error, what string) {
	for attempt := 1; attempt <= 10; attempt++ {
		err := f()
		if err == nil {
			return
		}
		if attempt < 10 {
			log.Printf("%s pruning has failed, retrying(%d/%d). The error was: %v", what, attempt, 10, err)
			time.Sleep(time.Second)
		}
	}
}
