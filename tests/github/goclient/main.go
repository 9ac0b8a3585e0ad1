// ghclient: a test helper that drives the official Go client for GitHub's runner scale set API,
// github.com/actions/scaleset (the version pinned in go.mod, the one ARC 0.14.2 uses), against
// the GitHub stand-in (tests/github/standin.py). It is a test helper only: deskrun stays C.
//
//	ghclient flow    -url CONFIG_URL (-pat T | -app-id A -installation-id I -app-key F) -ca PEM
//	                 -name SCALESET [-group G] [-labels a,b] [-jobs N] [-max N] [-min N]
//	                 [-remove-runners] [-delete-scaleset] [-timeout 60s]
//	ghclient session -url … -ca … -id SCALESET_ID     create a session and delete it again
//	ghclient get     -url … -ca … -name SCALESET [-group G]  the scale set as JSON ("null" if none)
//
// flow registers (or finds) the scale set, opens a message session and runs the library's own
// listener (listener.Run: long poll, ack, acquire JobAvailable jobs, JobStarted/JobCompleted
// handlers, desired count). Its scaler asks for a JIT config for every runner the desired count
// needs, and stops after -jobs JobCompleted messages; then it deletes the session (and, if asked,
// the runners and the scale set). Every step is one JSON line on stdout ({"event": …}) for the
// test to follow; the library's own log goes to stderr. Exit 0 when the flow completed.
package main

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/actions/scaleset"
	"github.com/actions/scaleset/listener"
)

var out = json.NewEncoder(os.Stdout)
var outMu sync.Mutex

func emit(ev map[string]any) {
	outMu.Lock()
	defer outMu.Unlock()
	_ = out.Encode(ev)
}

func fail(step string, err error) {
	emit(map[string]any{"event": "error", "step": step, "error": err.Error()})
	os.Exit(1)
}

type opts struct {
	url, pat, appID, appKey, ca, name, group, labels string
	installationID                                   int64
	id, jobs, max, min                               int
	removeRunners, deleteScaleSet                    bool
	timeout                                          time.Duration
}

func newClient(o *opts) (*scaleset.Client, error) {
	pem, err := os.ReadFile(o.ca)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("no certificate in %s", o.ca)
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	httpOpts := []scaleset.HTTPOption{scaleset.WithRootCAs(pool), scaleset.WithLogger(logger)}
	info := scaleset.SystemInfo{System: "deskrun-ghclient", Version: "test", Subsystem: "ghclient"}
	if o.appID != "" {
		key, err := os.ReadFile(o.appKey)
		if err != nil {
			return nil, err
		}
		return scaleset.NewClientWithGitHubApp(scaleset.ClientWithGitHubAppConfig{
			GitHubConfigURL: o.url,
			GitHubAppAuth: scaleset.GitHubAppAuth{ClientID: o.appID, InstallationID: o.installationID,
				PrivateKey: string(key)},
			SystemInfo: info,
		}, httpOpts...)
	}
	return scaleset.NewClientWithPersonalAccessToken(scaleset.NewClientWithPersonalAccessTokenConfig{
		GitHubConfigURL: o.url, PersonalAccessToken: o.pat, SystemInfo: info,
	}, httpOpts...)
}

func groupID(ctx context.Context, c *scaleset.Client, o *opts) int {
	if o.group == "" {
		return 1 // what ARC does without spec.runnerGroup
	}
	g, err := c.GetRunnerGroupByName(ctx, o.group)
	if err != nil {
		fail("runnergroup", err)
	}
	emit(map[string]any{"event": "runnergroup", "id": g.ID, "name": g.Name})
	return g.ID
}

// scaler is the flow's listener.Scaler: a JIT config per wanted runner, events for the rest.
type scaler struct {
	c         *scaleset.Client
	o         *opts
	setID     int
	runners   []int
	completed int
	cancel    context.CancelFunc
}

func (s *scaler) HandleDesiredRunnerCount(ctx context.Context, count int) (int, error) {
	target := min(s.o.min+count, s.o.max)
	emit(map[string]any{"event": "desired", "assigned": count, "target": target})
	for len(s.runners) < target {
		name := fmt.Sprintf("%s-runner-%d", s.o.name, len(s.runners)+1)
		jit, err := s.c.GenerateJitRunnerConfig(ctx, &scaleset.RunnerScaleSetJitRunnerSetting{Name: name}, s.setID)
		if err != nil {
			return 0, fmt.Errorf("jit config for %s: %w", name, err)
		}
		s.runners = append(s.runners, jit.Runner.ID)
		emit(map[string]any{"event": "jit", "runnerId": jit.Runner.ID, "name": jit.Runner.Name,
			"scaleSetId": jit.Runner.RunnerScaleSetID, "jitconfig": jit.EncodedJITConfig})
	}
	return target, nil
}

func (s *scaler) HandleJobStarted(ctx context.Context, j *scaleset.JobStarted) error {
	emit(map[string]any{"event": "jobStarted", "runnerRequestId": j.RunnerRequestID, "jobId": j.JobID,
		"runnerId": j.RunnerID, "runnerName": j.RunnerName, "repository": j.OwnerName + "/" + j.RepositoryName,
		"labels": j.RequestLabels})
	return nil
}

func (s *scaler) HandleJobCompleted(ctx context.Context, j *scaleset.JobCompleted) error {
	emit(map[string]any{"event": "jobCompleted", "runnerRequestId": j.RunnerRequestID, "jobId": j.JobID,
		"runnerId": j.RunnerID, "runnerName": j.RunnerName, "result": j.Result})
	s.completed++
	if s.completed >= s.o.jobs {
		s.cancel()
	}
	return nil
}

func flow(o *opts) {
	ctx, stop := context.WithTimeout(context.Background(), o.timeout)
	defer stop()
	c, err := newClient(o)
	if err != nil {
		fail("client", err)
	}
	gid := groupID(ctx, c, o)
	set, err := c.GetRunnerScaleSet(ctx, gid, o.name)
	if err != nil {
		fail("get-scaleset", err)
	}
	created := false
	if set == nil {
		var labels []scaleset.Label
		for _, l := range strings.Split(o.labels, ",") {
			if l != "" {
				labels = append(labels, scaleset.Label{Name: l})
			}
		}
		set, err = c.CreateRunnerScaleSet(ctx, &scaleset.RunnerScaleSet{Name: o.name, RunnerGroupID: gid,
			Labels: labels, RunnerSetting: scaleset.RunnerSetting{DisableUpdate: true}})
		if err != nil {
			fail("create-scaleset", err)
		}
		created = true
	}
	emit(map[string]any{"event": "scaleset", "id": set.ID, "name": set.Name, "created": created,
		"runnerGroupId": set.RunnerGroupID, "runnerGroupName": set.RunnerGroupName})

	host, _ := os.Hostname()
	sess, err := c.MessageSessionClient(ctx, set.ID, host)
	if err != nil {
		fail("session", err)
	}
	s := sess.Session()
	emit(map[string]any{"event": "session", "sessionId": s.SessionID.String(), "owner": s.OwnerName,
		"queueUrl": s.MessageQueueURL, "assigned": s.Statistics.TotalAssignedJobs})

	l, err := listener.New(sess, listener.Config{ScaleSetID: set.ID, MaxRunners: o.max,
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		fail("listener", err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	sc := &scaler{c: c, o: o, setID: set.ID, cancel: cancel}
	err = l.Run(runCtx, sc)
	if sc.completed < o.jobs {
		fail("listen", err)
	}
	emit(map[string]any{"event": "listened", "completed": sc.completed})

	if err := sess.Close(context.Background()); err != nil {
		fail("delete-session", err)
	}
	emit(map[string]any{"event": "sessionDeleted", "sessionId": s.SessionID.String()})
	if o.removeRunners {
		for _, id := range sc.runners {
			if err := c.RemoveRunner(context.Background(), int64(id)); err != nil {
				fail("remove-runner", err)
			}
			emit(map[string]any{"event": "runnerRemoved", "runnerId": id})
		}
	}
	if o.deleteScaleSet {
		if err := c.DeleteRunnerScaleSet(context.Background(), set.ID); err != nil {
			fail("delete-scaleset", err)
		}
		emit(map[string]any{"event": "scalesetDeleted", "id": set.ID})
	}
	emit(map[string]any{"event": "done"})
}

func session(o *opts) {
	ctx, stop := context.WithTimeout(context.Background(), o.timeout)
	defer stop()
	c, err := newClient(o)
	if err != nil {
		fail("client", err)
	}
	sess, err := c.MessageSessionClient(ctx, o.id, "ghclient-session")
	if err != nil {
		fail("session", err)
	}
	s := sess.Session()
	emit(map[string]any{"event": "session", "sessionId": s.SessionID.String(), "queueUrl": s.MessageQueueURL})
	if err := sess.Close(ctx); err != nil {
		fail("delete-session", err)
	}
	emit(map[string]any{"event": "sessionDeleted", "sessionId": s.SessionID.String()})
}

func get(o *opts) {
	ctx, stop := context.WithTimeout(context.Background(), o.timeout)
	defer stop()
	c, err := newClient(o)
	if err != nil {
		fail("client", err)
	}
	set, err := c.GetRunnerScaleSet(ctx, groupID(ctx, c, o), o.name)
	if err != nil {
		fail("get-scaleset", err)
	}
	emit(map[string]any{"event": "scaleset", "scaleset": set})
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: ghclient flow|session|get [flags]")
		os.Exit(2)
	}
	o := &opts{}
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	fs.StringVar(&o.url, "url", "", "GitHub config URL")
	fs.StringVar(&o.pat, "pat", "", "personal access token")
	fs.StringVar(&o.appID, "app-id", "", "GitHub App client or app ID")
	fs.Int64Var(&o.installationID, "installation-id", 0, "GitHub App installation ID")
	fs.StringVar(&o.appKey, "app-key", "", "GitHub App private key (PEM file)")
	fs.StringVar(&o.ca, "ca", "", "CA certificate (PEM file) to trust")
	fs.StringVar(&o.name, "name", "", "scale set name")
	fs.StringVar(&o.group, "group", "", "runner group name (empty: group 1)")
	fs.StringVar(&o.labels, "labels", "", "extra scale set labels, comma-separated")
	fs.IntVar(&o.id, "id", 0, "scale set ID")
	fs.IntVar(&o.jobs, "jobs", 1, "stop after this many JobCompleted messages")
	fs.IntVar(&o.max, "max", 10, "max runners (X-ScaleSetMaxCapacity)")
	fs.IntVar(&o.min, "min", 0, "min runners")
	fs.BoolVar(&o.removeRunners, "remove-runners", false, "DELETE every runner at the end")
	fs.BoolVar(&o.deleteScaleSet, "delete-scaleset", false, "DELETE the scale set at the end")
	fs.DurationVar(&o.timeout, "timeout", 60*time.Second, "overall deadline")
	_ = fs.Parse(os.Args[2:])
	switch os.Args[1] {
	case "flow":
		flow(o)
	case "session":
		session(o)
	case "get":
		get(o)
	default:
		fmt.Fprintln(os.Stderr, "ghclient: unknown command", os.Args[1])
		os.Exit(2)
	}
}
