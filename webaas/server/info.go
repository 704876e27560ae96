package server

import "net/http"

// extensions lists what this server offers beyond the original API, in
// GET /info. A client asks for an extension only if it is listed, so it
// still works against a server without it.
var extensions = []string{"info", "batch", "sequence", "watch-types", "records-frames"}

// Info is the answer of GET /info.
type Info struct {
	// Server names the implementation.
	Server string `json:"server"`
	// Store is the id of the data this server serves: servers that answer
	// the same id serve the same apps (nodes on one database, or a server
	// restarted on the same data directory).
	Store string `json:"store"`
	// Extensions this server offers beyond the original API.
	Extensions []string `json:"extensions"`
}

// GET /info (an extension: the original API had none). Old clients never
// call it, so nothing they see changes.
func (s *Server) info(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, Info{Server: "webaas-chat", Store: s.store.ID(), Extensions: extensions})
	return nil
}
