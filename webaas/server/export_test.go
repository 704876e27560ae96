package server

// OpenSockets reports how many notification sockets the server has open.
// Tests use it to see the server drop a socket without reading from it.
func (s *Server) OpenSockets() int { return s.hub.openSockets() }
