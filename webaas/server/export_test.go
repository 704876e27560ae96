package server

// OpenSockets reports how many notification sockets the server has open.
// Tests use it to see the server drop a socket without reading from it.
func (s *Server) OpenSockets() int { return s.hub.openSockets() }

// CachedSchemas reports how many apps' compiled schemas the cache holds,
// and their estimated bytes.
func (s *Server) CachedSchemas() (apps int, bytes int64) {
	s.apps.mu.Lock()
	defer s.apps.mu.Unlock()
	return len(s.apps.items), s.apps.used
}
