package store

import "sync"

// Gate lets a store's calls in until Close, which waits for the calls
// already inside: every store needs this, so that Close never pulls the
// storage from under a call, and later calls get ErrClosed.
type Gate struct {
	mu     sync.RWMutex
	closed bool
}

// Enter lets a call in, or returns ErrClosed; the call must Leave.
func (g *Gate) Enter() error {
	g.mu.RLock()
	if g.closed {
		g.mu.RUnlock()
		return ErrClosed
	}
	return nil
}

// Leave ends a call that Entered.
func (g *Gate) Leave() { g.mu.RUnlock() }

// Close shuts the gate once the calls inside have left. Only the first
// Close returns true: the caller that closes the store.
func (g *Gate) Close() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return false
	}
	g.closed = true
	return true
}
