package store

import "sync"

// Subscribers is the subscriber list a Store implementation embeds to
// provide Subscribe. The implementation calls Publish after a change is
// durable; record changes must be published in commit order.
type Subscribers struct {
	mu   sync.RWMutex
	next int
	fns  map[int]func([]Change)
}

// Subscribe adds fn; the returned func removes it.
func (s *Subscribers) Subscribe(fn func([]Change)) (cancel func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fns == nil {
		s.fns = make(map[int]func([]Change))
	}
	id := s.next
	s.next++
	s.fns[id] = fn
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		delete(s.fns, id)
	}
}

// Publish calls every subscriber with the changes.
func (s *Subscribers) Publish(changes ...Change) {
	if len(changes) == 0 {
		return
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, fn := range s.fns {
		fn(changes)
	}
}
