package main

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"
	"time"

	"github.com/stageflow/stageflow/shared/engine"
)

// logFollower reads the log files of an execution's action runs as they
// grow and hands their lines, whole, to a progress. It reads every run the
// execution has reached (track), on a short poll of the files' growth and
// at each change of the execution; stop reads what is left.
type logFollower struct {
	path func(executionID, runID string) string
	prog *progress

	mu sync.Mutex // guards id, runs, order and exec
	// id is the execution followed; states of others are ignored.
	id   string
	runs map[string]*followedLog
	// order is the order runs were reached in; lines of one poll come in it.
	order []string
	exec  *engine.Execution

	pollMu   sync.Mutex // one poll at a time
	stopOnce sync.Once
	quit     chan struct{}
	done     chan struct{}
}

// followedLog is the state of one run's log file.
type followedLog struct {
	run     engine.ActionRun
	path    string
	f       *os.File
	partial []byte
	kept    []string // every line, for a live tree (progress.logEnd)
	dropped int      // lines past maxKeptLines
	closed  bool
}

const (
	// followInterval is how often the log files are checked for growth.
	followInterval = 100 * time.Millisecond
	// maxLineBytes cuts a line that never ends (a progress bar without
	// newlines) into pieces of this size.
	maxLineBytes = 64 << 10
	// maxKeptLines bounds what a live tree keeps of one action's output to
	// print when it ends; the rest is in its log file.
	maxKeptLines = 10000
)

func newLogFollower(prog *progress, path func(executionID, runID string) string) *logFollower {
	f := &logFollower{path: path, prog: prog, runs: map[string]*followedLog{}, quit: make(chan struct{}), done: make(chan struct{})}
	go f.loop()
	return f
}

func (f *logFollower) loop() {
	defer close(f.done)
	t := time.NewTicker(followInterval)
	defer t.Stop()
	for {
		select {
		case <-f.quit:
			return
		case <-t.C:
			f.poll(false)
		}
	}
}

// track takes a new state of the execution: runs it has not seen are
// followed from now on, and runs that have ended are read to their end and
// closed at the next poll. It polls at once, so that an action's last
// lines come before the event of its end.
func (f *logFollower) track(e *engine.Execution) {
	f.mu.Lock()
	if e.ID == f.id && (f.exec == nil || e.Version >= f.exec.Version) {
		f.exec = e
		for _, r := range e.Actions {
			fl, ok := f.runs[r.ID]
			if !ok {
				fl = &followedLog{path: f.path(e.ID, r.ID)}
				f.runs[r.ID] = fl
				f.order = append(f.order, r.ID)
			}
			fl.run = r
		}
	}
	f.mu.Unlock()
	f.poll(false)
}

// follow sets the execution to follow; states seen before are read again
// from the next one, which holds every run of the earlier ones.
func (f *logFollower) follow(executionID string) {
	f.mu.Lock()
	f.id = executionID
	f.mu.Unlock()
}

// stop ends the polling, takes the final state and reads every log to its
// end: when it returns, every line has been shown. Only its first call
// does anything.
func (f *logFollower) stop(final *engine.Execution) {
	f.stopOnce.Do(func() {
		close(f.quit)
		<-f.done
		if final != nil {
			f.track(final)
		}
		f.poll(true)
	})
}

// poll reads what the logs have gained. A run that has ended (or every run,
// when final) is read to its end, its last partial line shown, and closed.
// A run's status is read before its file: a provider has closed its log
// before its run ends, so nothing is written after that read.
func (f *logFollower) poll(final bool) {
	f.pollMu.Lock()
	defer f.pollMu.Unlock()
	type item struct {
		fl    *followedLog
		run   engine.ActionRun
		ended bool
	}
	f.mu.Lock()
	var items []item
	var execID, pipelineName string
	if f.exec != nil {
		execID, pipelineName = f.exec.ID, f.exec.PipelineName
	}
	for _, id := range f.order {
		fl := f.runs[id]
		if !fl.closed {
			items = append(items, item{fl, fl.run, final || fl.run.Status.Terminal()})
		}
	}
	f.mu.Unlock()
	for _, it := range items {
		f.read(execID, pipelineName, it.fl, &it.run, it.ended)
	}
}

func (f *logFollower) read(execID, pipelineName string, fl *followedLog, run *engine.ActionRun, ended bool) {
	show := func(line []byte) {
		s := string(bytes.TrimSuffix(line, []byte("\r")))
		f.prog.logLine(execID, pipelineName, run, s)
		if !f.prog.live {
			return
		}
		if len(fl.kept) < maxKeptLines {
			fl.kept = append(fl.kept, s)
		} else {
			fl.dropped++
		}
	}
	if fl.f == nil {
		file, err := os.Open(fl.path)
		switch {
		case errors.Is(err, fs.ErrNotExist) && !ended:
			return // not handed to its provider yet
		case err != nil:
			fl.closed = true
			return
		}
		fl.f = file
	}
	buf := make([]byte, 32<<10)
	for {
		n, err := fl.f.Read(buf)
		data := append(fl.partial, buf[:n]...)
		for {
			i := bytes.IndexByte(data, '\n')
			if i < 0 {
				break
			}
			show(data[:i])
			data = data[i+1:]
		}
		for len(data) >= maxLineBytes {
			show(data[:maxLineBytes])
			data = data[maxLineBytes:]
		}
		fl.partial = append([]byte(nil), data...)
		if n == 0 || err != nil {
			break
		}
	}
	if !ended {
		return
	}
	if len(fl.partial) > 0 {
		show(fl.partial)
		fl.partial = nil
	}
	fl.f.Close()
	fl.closed = true
	kept := fl.kept
	if fl.dropped > 0 {
		kept = append(kept, fmt.Sprintf("… %d more lines in %s", fl.dropped, fl.path))
	}
	f.prog.logEnd(run, kept)
	fl.kept = nil
}
