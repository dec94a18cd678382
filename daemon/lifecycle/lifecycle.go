// Package lifecycle runs cbd's background services as one ordered list, in
// the style of riverqueue/river's start/stop services: each is started in
// turn (a failed start stops the ones already running, in reverse), and at
// shutdown each is stopped in reverse order and waited for, all within one
// deadline, so the store and Redis are closed only under services that have
// returned.
package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"
)

// Service is one background part of cbd.
type Service interface {
	// Name says what the service is in logs and errors.
	Name() string
	// Start begins the service's work and returns once it is under way,
	// or with the reason it could not start (then nothing of it runs).
	// ctx bounds the start only: the service runs until Stop.
	Start(ctx context.Context) error
	// Stop asks the service to finish; it does not wait. It may be called
	// more than once.
	Stop()
	// Stopped is closed once a started service, and every goroutine it
	// started, has returned.
	Stopped() <-chan struct{}
	// Err is why the service stopped when it stopped by itself; nil after
	// a requested stop.
	Err() error
}

// Func is a Service built from functions.
type Func struct {
	name    string
	start   func(ctx context.Context) error
	run     func(ctx context.Context) error
	stopped chan struct{}

	mu        sync.Mutex
	cancel    context.CancelFunc
	requested bool
	err       error
}

// New returns a service named name. start (optional) runs in Start and
// fails it; run (optional) is the service's loop, run in its own goroutine
// with a context that Stop cancels, returning once that context is done. A
// service without run is a start step that does nothing until it stops.
func New(name string, start, run func(ctx context.Context) error) *Func {
	return &Func{name: name, start: start, run: run, stopped: make(chan struct{})}
}

// Loop is New for a loop without a start step or an error.
func Loop(name string, run func(ctx context.Context)) *Func {
	return New(name, nil, func(ctx context.Context) error { run(ctx); return nil })
}

// Name implements Service.
func (f *Func) Name() string { return f.name }

// Start implements Service.
func (f *Func) Start(ctx context.Context) error {
	if f.start != nil {
		if err := f.start(ctx); err != nil {
			return err
		}
	}
	// The loop outlives ctx: only Stop ends it, in the runner's order.
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	f.mu.Lock()
	f.cancel = cancel
	requested := f.requested
	f.mu.Unlock()
	if requested {
		cancel()
	}
	if f.run == nil {
		go func() { <-runCtx.Done(); close(f.stopped) }()
		return nil
	}
	go func() {
		defer close(f.stopped)
		err := f.run(runCtx)
		f.mu.Lock()
		defer f.mu.Unlock()
		if !f.requested {
			if err == nil {
				err = errors.New("returned without being stopped")
			}
			f.err = err
		}
	}()
	return nil
}

// Stop implements Service.
func (f *Func) Stop() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requested = true
	if f.cancel != nil {
		f.cancel()
	}
}

// Stopped implements Service.
func (f *Func) Stopped() <-chan struct{} { return f.stopped }

// Err implements Service.
func (f *Func) Err() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.err
}

// Runner starts and stops an ordered list of services.
type Runner struct {
	// ShutdownTimeout bounds stopping and waiting for every service; what
	// has not returned by then is left to the process exit.
	ShutdownTimeout time.Duration
	// Log receives progress and the services that missed the deadline.
	Log      *slog.Logger
	services []Service
}

// Add appends services; they start in the order added.
func (r *Runner) Add(s ...Service) { r.services = append(r.services, s...) }

// Run starts every service in order and calls ready (if set) once all run.
// It returns when ctx is done or a service stops by itself, after stopping
// every started service in reverse order. It returns the failed start, or
// the failure of a service that stopped by itself, or nil.
func (r *Runner) Run(ctx context.Context, ready func()) error {
	log := r.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var started []Service
	for _, s := range r.services {
		if ctx.Err() != nil {
			break
		}
		if err := s.Start(ctx); err != nil {
			r.stop(log, started)
			if ctx.Err() != nil {
				return nil // told to stop while starting
			}
			return fmt.Errorf("start %s: %w", s.Name(), err)
		}
		started = append(started, s)
	}
	if ctx.Err() != nil {
		r.stop(log, started)
		return nil
	}
	if ready != nil {
		ready()
	}
	// Wait for the stop request or the first service that ends by itself.
	failed := make(chan Service, len(started))
	watchDone := make(chan struct{})
	for _, s := range started {
		go func() {
			select {
			case <-s.Stopped():
				failed <- s
			case <-watchDone:
			}
		}()
	}
	var runErr error
	select {
	case <-ctx.Done():
	case s := <-failed:
		err := s.Err()
		if err == nil {
			err = errors.New("stopped")
		}
		runErr = fmt.Errorf("%s: %w", s.Name(), err)
		log.Error("a service stopped by itself; shutting down", "service", s.Name(), "err", err)
	}
	close(watchDone)
	r.stop(log, started)
	return runErr
}

// stop stops services in reverse order, each waited for until the shared
// deadline; after it, the rest are only told to stop.
func (r *Runner) stop(log *slog.Logger, services []Service) {
	timeout := r.ShutdownTimeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	expired := false
	var late []string
	for i := len(services) - 1; i >= 0; i-- {
		s := services[i]
		s.Stop()
		if expired {
			select {
			case <-s.Stopped():
			default:
				late = append(late, s.Name())
			}
			continue
		}
		select {
		case <-s.Stopped():
		case <-deadline.C:
			expired = true
			late = append(late, s.Name())
		}
	}
	if len(late) > 0 {
		log.Warn("shutdown timeout: services still stopping are left behind", "timeout", timeout, "services", strings.Join(late, ", "))
	}
}
