package server

// OpenSockets reports how many notification sockets the server has open.
// Tests use it to see the server drop a socket without reading from it.
func (s *Server) OpenSockets() int { return s.hub.openSockets() }

// OpenConns reports how many connections r holds open.
func OpenConns(r *Running) int { return r.limiter.count() }
