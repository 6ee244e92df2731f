package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/stageflow/stageflow/shared/api"
	"github.com/stageflow/stageflow/shared/embedded"
	"github.com/stageflow/stageflow/shared/errs"
	"github.com/stageflow/stageflow/shared/poller"
	"github.com/stageflow/stageflow/shared/service"
)

func init() { subcommands = append(subcommands, newServeCmd) }

// DefaultAddr is where `stageflow serve` listens and where client commands
// look by default.
const defaultAddr = "127.0.0.1:8480"

func newServeCmd() *cobra.Command {
	var (
		addr, dataDir, region, account, logFormat string
		examples, tlsCert, tlsKey, authMode       string
		insecureHTTP                              bool
		startExamples, passEnv, localConns        []string
		shutdownGrace, pollInterval               time.Duration
		res                                       *resourceFlags
	)
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the Stageflow server: REST and CodePipeline APIs, the engine and the embedded store",
		Long: `Serve runs Stageflow on this machine: the REST API under /v1, AWS CodePipeline's
own JSON 1.1 protocol at POST / (for the AWS CLI, SDKs and job workers), an
S3-compatible endpoint for the artifact bucket (for job workers), the engine
and the embedded SQLite store in the data directory. Executions left in
progress by an earlier run resume. SIGTERM or Ctrl-C stops accepting requests
and lets running actions finish up to --shutdown-grace.

Every REST and CodePipeline request must be signed (AWS Signature Version 4)
with one of the server's access keys. At the first start (and whenever
<data-dir>/credentials is missing or names a key the server no longer holds)
the server makes an admin key and writes it there (mode 0600, profile
stageflow), where the client commands find it; "stageflow keys create" makes
keys for others. --auth none (loopback addresses only) serves unsigned
requests, taking callers at their word.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := res.check(); err != nil {
				return err
			}
			if pollInterval < 0 {
				return usageError{fmt.Errorf("--poll-interval must not be negative (0 turns polling off), not %s", pollInterval)}
			}
			return serve(cmd, serveOptions{res: res,
				addr: addr, dataDir: dataDir, region: region, account: account, logFormat: logFormat,
				examples: examples, start: startExamples, grace: shutdownGrace,
				tlsCert: tlsCert, tlsKey: tlsKey, insecureHTTP: insecureHTTP, passEnv: passEnv, auth: authMode,
				pollInterval: pollInterval, localConnections: localConns,
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&addr, "addr", defaultAddr, "listen address; a loopback address makes the server refuse requests for other host names")
	f.StringVar(&dataDir, "data-dir", embedded.DefaultDataDir(), "where the embedded store, artifacts and logs live")
	f.StringVar(&region, "region", "us-east-1", "region named in ARNs")
	f.StringVar(&account, "account", "000000000000", "account ID named in ARNs and jobs")
	f.StringVar(&logFormat, "log-format", "text", "request log format: text or json")
	f.StringVar(&examples, "load", "", "a folder of pipeline documents (*.json) to create or update at start; they start no execution (see --start)")
	f.StringSliceVar(&startExamples, "start", nil, "pipelines to start once the server is up (after --load)")
	f.StringVar(&tlsCert, "tls-cert", "", "serve HTTPS with this certificate (PEM); required, with --tls-key, on a non-loopback --addr")
	f.StringVar(&tlsKey, "tls-key", "", "the private key (PEM) of --tls-cert")
	f.BoolVar(&insecureHTTP, "insecure-http", false, "serve plain HTTP on a non-loopback --addr (unsafe: anyone on the network can run commands here)")
	f.StringSliceVar(&passEnv, "pass-env", nil, "variables of the server's environment that actions get too (actions get only a base environment otherwise)")
	f.StringVar(&authMode, "auth", "sigv4", "sigv4: every request is signed with one of the server's access keys (the admin key is written to <data-dir>/credentials); "+
		"none: callers are taken at their word and may do everything (loopback addresses only; unsafe)")
	f.DurationVar(&shutdownGrace, "shutdown-grace", 30*time.Second, "how long running actions may take to finish on shutdown")
	f.StringSliceVar(&localConns, "local-connection", nil, "ID=DIR: make sure a connection of that ID names the git repository at DIR (created at start if missing), "+
		"as the examples' ConnectionArn …:connection/stageflow-examples needs (make run)")
	f.DurationVar(&pollInterval, "poll-interval", poller.DefaultInterval, "how often source actions that poll (PollForSourceChanges, DetectChanges) are checked for new revisions; 0 turns polling off")
	res = addResourceFlags(cmd)
	return cmd
}

type serveOptions struct {
	addr, dataDir, region, account, logFormat, examples string
	auth                                                string
	tlsCert, tlsKey                                     string
	insecureHTTP                                        bool
	start, passEnv, localConnections                    []string
	grace, pollInterval                                 time.Duration
	res                                                 *resourceFlags
}

func serve(cmd *cobra.Command, opt serveOptions) error {
	var handler slog.Handler
	switch opt.logFormat {
	case "text":
		handler = slog.NewTextHandler(cmd.ErrOrStderr(), nil)
	case "json":
		handler = slog.NewJSONHandler(cmd.ErrOrStderr(), nil)
	default:
		return usageError{fmt.Errorf("--log-format must be text or json, not %q", opt.logFormat)}
	}
	logger := slog.New(handler)
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx = service.LocalCaller(ctx, "stageflow serve")

	if (opt.tlsCert == "") != (opt.tlsKey == "") {
		return usageError{errors.New("--tls-cert and --tls-key go together")}
	}
	useTLS := opt.tlsCert != ""
	if useTLS {
		if _, err := tls.LoadX509KeyPair(opt.tlsCert, opt.tlsKey); err != nil {
			return fmt.Errorf("--tls-cert/--tls-key: %w", err)
		}
	}
	ln, err := net.Listen("tcp", opt.addr)
	if err != nil {
		return err
	}
	loopback := isLoopback(ln.Addr())
	authNone := false
	switch opt.auth {
	case "sigv4", "":
	case "none":
		authNone = true
		if !loopback {
			ln.Close()
			return usageError{fmt.Errorf("--auth none is only allowed on a loopback --addr (%s is not): on a network, every request must be signed", opt.addr)}
		}
	default:
		ln.Close()
		return usageError{fmt.Errorf("--auth must be sigv4 or none, not %q", opt.auth)}
	}
	if !loopback && !useTLS && !opt.insecureHTTP {
		ln.Close()
		return usageError{fmt.Errorf("--addr %s is not a loopback address: serve it over HTTPS (--tls-cert, --tls-key), "+
			"or accept plain HTTP that anyone on the network can use to run commands here with --insecure-http", opt.addr)}
	}
	eopt := embedded.Options{
		DataDir: opt.dataDir, Logger: logger, Region: opt.region, Account: opt.account, PassEnv: opt.passEnv,
		AuthNone: authNone,
	}
	if opt.res != nil {
		opt.res.apply(&eopt)
	}
	sys, err := embedded.Open(eopt)
	if err != nil {
		ln.Close()
		return err
	}
	h, err := api.NewHandler(api.Config{
		Service: sys.Service, Artifacts: sys.Artifacts, Logger: logger, ChangedFiles: sys.ChangedFiles,
		LoopbackOnly: loopback, AuthNone: authNone,
	})
	if err != nil {
		ln.Close()
		sys.Close(context.Background())
		return err
	}
	var admin *embedded.AdminKey
	if !authNone {
		if admin, err = sys.EnsureAdminKey(ctx); err != nil {
			ln.Close()
			sys.Close(context.Background())
			return err
		}
	}
	srv := api.NewServer(h)
	svc := sys.Service

	scheme := "http"
	if useTLS {
		scheme = "https"
	}
	endpoint := scheme + "://" + ln.Addr().String()
	logger.Info("Stageflow is listening", "endpoint", endpoint, "dataDir", opt.dataDir)
	if !loopback && !useTLS {
		logger.Warn("INSECURE: plain HTTP on a non-loopback address (--insecure-http): anyone who can reach " + ln.Addr().String() +
			" can read and change pipelines and run commands on this machine, and nothing is encrypted")
	}
	if authNone {
		logger.Warn("AUTHENTICATION OFF (--auth none): every local caller may do everything, named as it claims; " +
			"the server still answers only requests for loopback host names")
	} else if admin.Created {
		logger.Info("made the admin key and wrote it to the credentials file", "file", admin.Path, "accessKeyId", admin.AccessKeyID)
	}
	n, err := sys.Runner.Resume(ctx)
	if err != nil {
		logger.Error("resuming executions", "err", err)
	} else if n > 0 {
		logger.Info("resumed executions left in progress", "count", n)
	}
	serveErr := make(chan error, 1)
	go func() {
		if useTLS {
			serveErr <- srv.ServeTLS(ln, opt.tlsCert, opt.tlsKey)
		} else {
			serveErr <- srv.Serve(ln)
		}
	}()

	if err := ensureLocalConnections(ctx, sys.Service, opt.localConnections, cmd.OutOrStdout()); err != nil {
		logger.Error("local connections", "err", err)
	}
	if err := loadAndStart(ctx, sys, opt, endpoint, cmd); err != nil {
		logger.Error("loading examples", "err", err)
	}
	// Last, so that it ends what start-up prints (tests and users wait for
	// "Stageflow is at").
	printAccess(cmd.OutOrStdout(), endpoint, opt, admin)
	if admin != nil {
		printConsoleLink(ctx, cmd.OutOrStdout(), svc, endpoint, admin.AccessKeyID)
	}
	go expireJobs(ctx, svc, logger)
	if opt.pollInterval > 0 {
		go sys.Poller(logger).Run(ctx, opt.pollInterval)
	}

	select {
	case err := <-serveErr:
		sys.Close(context.Background())
		return err
	case <-ctx.Done():
	}
	logger.Info("shutting down: no new requests; letting running actions finish", "grace", opt.grace)
	shutdownCtx, cancel := context.WithTimeout(context.Background(), opt.grace)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		logger.Warn("closing connections", "err", err)
	}
	if err := sys.Close(shutdownCtx); err != nil {
		logger.Warn("stopping the runner", "err", err)
	}
	logger.Info("stopped")
	return nil
}

// ensureLocalConnections creates each ID=DIR connection that does not exist
// yet, its remote DIR's absolute path.
func ensureLocalConnections(ctx context.Context, svc *service.Service, list []string, out io.Writer) error {
	for _, kv := range list {
		id, dir, ok := strings.Cut(kv, "=")
		if !ok || id == "" || dir == "" {
			return fmt.Errorf("--local-connection %q: want ID=DIR", kv)
		}
		abs, err := filepath.Abs(dir)
		if err != nil {
			return fmt.Errorf("--local-connection %s: %w", kv, err)
		}
		if c, err := svc.GetConnection(ctx, id); err == nil {
			if c.Remote != abs {
				fmt.Fprintf(out, "connection %s names %s, not %s: left as it is (stageflow connection delete %s to change it)\n", id, c.Remote, abs, id)
			}
			continue
		} else if !errs.Is(err, errs.NotFound) {
			return fmt.Errorf("--local-connection %s: %w", id, err)
		}
		name := id
		if len(name) > 32 {
			name = name[:32]
		}
		c, err := svc.CreateConnection(ctx, service.CreateConnectionInput{Name: name, ID: id, Remote: abs})
		if err != nil {
			return fmt.Errorf("--local-connection %s: %w", id, err)
		}
		fmt.Fprintf(out, "made connection %s for the repository at %s\n", c.Arn, abs)
	}
	return nil
}

// loadAndStart creates or updates the pipelines of opt.examples and starts opt.start.
func loadAndStart(ctx context.Context, sys *embedded.System, opt serveOptions, endpoint string, cmd *cobra.Command) error {
	out := cmd.OutOrStdout()
	if opt.examples != "" {
		files, err := filepath.Glob(filepath.Join(opt.examples, "*.json"))
		if err != nil {
			return err
		}
		sort.Strings(files)
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				return err
			}
			name, err := applyDocument(ctx, sys.Service, data)
			if err != nil {
				return fmt.Errorf("%s: %w", f, err)
			}
			fmt.Fprintf(out, "loaded pipeline %s from %s\n", name, f)
		}
	}
	for _, name := range opt.start {
		e, err := sys.Service.StartExecution(ctx, service.StartInput{PipelineName: name, TriggerDetail: "stageflow serve --start"})
		if err != nil {
			return fmt.Errorf("starting %s: %w", name, err)
		}
		fmt.Fprintf(out, "started %s: execution %s\n  watch it:   bin/stageflow status --watch %s\n", name, e.ID, name)
		for _, a := range approvals(&e.Pipeline) {
			fmt.Fprintf(out, "  approve:    bin/stageflow approve %s --stage %s --action %s\n", name, a.stage, a.action)
		}
	}
	return nil
}

// printAccess tells how to reach the server: the stageflow commands, the
// AWS CLI (with the admin key's credentials file, or with any key under
// --auth none) and the REST API.
func printAccess(out io.Writer, endpoint string, opt serveOptions, admin *embedded.AdminKey) {
	fmt.Fprintf(out, "\nStageflow is at %s\n", endpoint)
	if admin == nil {
		// The AWS CLI signs even when nobody checks: it needs some key.
		fmt.Fprintf(out, "  AWS CLI:   export AWS_ACCESS_KEY_ID=stageflow AWS_SECRET_ACCESS_KEY=stageflow AWS_DEFAULT_REGION=%s\n"+
			"             aws codepipeline list-pipelines --endpoint-url %s\n  stageflow: bin/stageflow pipeline list\n", opt.region, endpoint)
		return
	}
	path := admin.Path
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	fmt.Fprintf(out, "  admin key: %s in %s (profile %s; keep it secret)\n", admin.AccessKeyID, path, embedded.CredentialsProfile)
	fmt.Fprintf(out, "  AWS CLI:   export AWS_SHARED_CREDENTIALS_FILE=%s AWS_PROFILE=%s AWS_DEFAULT_REGION=%s\n"+
		"             aws codepipeline list-pipelines --endpoint-url %s\n", path, embedded.CredentialsProfile, opt.region, endpoint)
	if filepath.Clean(opt.dataDir) == filepath.Clean(embedded.DefaultDataDir()) {
		fmt.Fprintf(out, "  stageflow: bin/stageflow pipeline list   (finds the key in %s)\n", path)
	} else {
		fmt.Fprintf(out, "  stageflow: STAGEFLOW_DATA_DIR=%s bin/stageflow pipeline list\n", opt.dataDir)
	}
	fmt.Fprintf(out, "  more keys: bin/stageflow keys create --user NAME --policy AWSCodePipeline_ReadOnlyAccess\n")
}

func expireJobs(ctx context.Context, svc *service.Service, logger *slog.Logger) {
	t := time.NewTicker(10 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if n, err := svc.ExpireJobs(ctx); err != nil {
				logger.Error("expiring jobs", "err", err)
			} else if n > 0 {
				logger.Info("jobs timed out", "count", n)
			}
		}
	}
}

func isLoopback(a net.Addr) bool {
	tcp, ok := a.(*net.TCPAddr)
	return ok && tcp.IP.IsLoopback()
}
