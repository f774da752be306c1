package app

// The operations listeners: Prometheus metrics on
// -metrics-addr and pprof on -pprof-addr, each on its own listener so that
// neither is reachable through the public API's port. Both are off unless
// their address is set.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"strings"
	"time"
)

// OpsServers are the metrics and pprof listeners ServeOps started.
type OpsServers struct {
	servers []*http.Server
	addrs   []string
}

// Addrs are the addresses listened on, metrics first.
func (o *OpsServers) Addrs() []string { return o.addrs }

// ServeOps starts the listeners of cfg.MetricsAddr and cfg.PprofAddr, those
// that are set. It fails at once if an address cannot be bound.
func ServeOps(a *App, cfg Config, log *slog.Logger) (*OpsServers, error) {
	ops := &OpsServers{}
	if cfg.MetricsAddr != "" {
		mux := http.NewServeMux()
		mux.Handle("/metrics", a.MetricsHandler())
		if err := ops.serve("metrics", cfg.MetricsAddr, mux, log); err != nil {
			return nil, err
		}
	}
	if cfg.PprofAddr != "" {
		if err := ops.serve("pprof", PprofListenAddr(cfg.PprofAddr), pprofMux(), log); err != nil {
			ops.Close(context.Background())
			return nil, err
		}
	}
	return ops, nil
}

func (o *OpsServers) serve(name, addr string, h http.Handler, log *slog.Logger) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("%s listener: %w", name, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	o.servers = append(o.servers, srv)
	o.addrs = append(o.addrs, ln.Addr().String())
	log.Info(name+" listening", "addr", ln.Addr().String())
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error(name+" listener stopped", "err", err)
		}
	}()
	return nil
}

// Close stops the listeners.
func (o *OpsServers) Close(ctx context.Context) {
	if o == nil {
		return
	}
	for _, s := range o.servers {
		s.Shutdown(ctx)
	}
}

// PprofListenAddr binds pprof to localhost unless the address names a host:
// "6060" and ":6060" listen on 127.0.0.1:6060, "0.0.0.0:6060" on every
// interface. Profiles reveal much about the process; expose them on purpose
// only.
func PprofListenAddr(addr string) string {
	if !strings.Contains(addr, ":") {
		addr = ":" + addr
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil || host != "" {
		return addr
	}
	return net.JoinHostPort("127.0.0.1", port)
}

// pprofMux serves net/http/pprof under /debug/pprof/ on a mux of its own
// (the package registers on http.DefaultServeMux, which Parley never serves).
func pprofMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}
