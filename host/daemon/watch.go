package daemon

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"
)

// settle is how long a module file written in place must stay quiet
// before it is loaded, so that a copy is read once it is complete. A file
// renamed into place (the normal way to deploy) is complete when it
// appears and is loaded at once.
const settle = 20 * time.Millisecond

// watcher reloads a module when one of its files changes: replaced by a
// rename (the normal way to deploy), written in place or re-created. It
// watches the directories of the files, since a rename replaces the file
// a watch on the file itself would follow.
type watcher struct {
	d  *Daemon
	fs *fsnotify.Watcher

	mu     sync.Mutex        // guards files, dirs, timers
	files  map[string]string // path → module name
	dirs   map[string]bool
	timers map[string]*time.Timer // module name → pending reload
}

func newWatcher(d *Daemon) (*watcher, error) {
	fs, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, err
	}
	return &watcher{d: d, fs: fs, files: map[string]string{}, dirs: map[string]bool{}, timers: map[string]*time.Timer{}}, nil
}

// track sets the files watched to those of the daemon's modules now.
func (w *watcher) track() {
	files := map[string]string{}
	dirs := map[string]bool{}
	for _, m := range w.d.moduleList() {
		m.mu.Lock()
		for _, f := range m.cfg.Versions {
			files[filepath.Clean(f.Path)] = m.cfg.Name
			dirs[filepath.Dir(f.Path)] = true
		}
		m.mu.Unlock()
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for dir := range w.dirs {
		if !dirs[dir] {
			w.fs.Remove(dir)
		}
	}
	for dir := range dirs {
		if !w.dirs[dir] {
			if err := w.fs.Add(dir); err != nil {
				w.d.log.Warn("cannot watch module directory; swaps need a reload request or SIGHUP", "dir", dir, "err", err)
				delete(dirs, dir)
			}
		}
	}
	w.files, w.dirs = files, dirs
}

// run handles file events until ctx ends.
func (w *watcher) run(ctx context.Context) {
	defer w.fs.Close()
	for {
		select {
		case <-ctx.Done():
			w.mu.Lock()
			for _, t := range w.timers {
				t.Stop()
			}
			w.mu.Unlock()
			return
		case err, ok := <-w.fs.Errors:
			if !ok {
				return
			}
			w.d.log.Warn("module file watcher", "err", err)
		case ev, ok := <-w.fs.Events:
			if !ok {
				return
			}
			if !ev.Has(fsnotify.Create) && !ev.Has(fsnotify.Write) {
				continue // a removal or a rename away leaves the old version serving
			}
			delay := settle
			if ev.Has(fsnotify.Create) && !ev.Has(fsnotify.Write) {
				delay = 0 // renamed into place (or created empty: its writes follow)
			}
			w.mu.Lock()
			name, ok := w.files[filepath.Clean(ev.Name)]
			if ok {
				if t := w.timers[name]; t != nil {
					t.Reset(delay)
				} else {
					w.timers[name] = time.AfterFunc(delay, func() {
						w.d.background(func() { w.fire(ctx, name) })
					})
				}
			}
			w.mu.Unlock()
		}
	}
}

// fire reloads a module whose file changed.
func (w *watcher) fire(ctx context.Context, name string) {
	w.mu.Lock()
	delete(w.timers, name)
	w.mu.Unlock()
	if ctx.Err() != nil {
		return
	}
	m := w.d.module(name)
	if m == nil {
		return
	}
	m.mu.Lock()
	files := m.cfg.Versions
	m.mu.Unlock()
	for _, f := range files {
		if st, err := os.Stat(f.Path); err == nil && st.Mode().IsRegular() && st.Size() == 0 {
			return // just created by a copy: its writes come next
		}
	}
	err := m.reload(ctx, nil, nil, false, "file changed")
	if errors.Is(err, errUnchanged) {
		m.log.Debug("module file touched, content unchanged")
	}
}
