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

// ResponseBytesInFlight reports the bytes of large responses being
// written, under Config.MaxResponseBytesInFlight.
func ResponseBytesInFlight(s *Server) int64 { return s.responses.inFlight.Load() }

// ResponseWaiters reports how many large responses wait for room.
func ResponseWaiters(s *Server) int { return int(s.responses.waiting.Load()) }

// OpenConns reports how many connections r holds open.
func OpenConns(r *Running) int { return r.limiter.count() }
