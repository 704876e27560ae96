package server

import (
	"context"
	"time"
)

// Notification registrations outlive their sockets, as the contract
// says, but not for ever: one nobody has listened on for
// Config.NotificationTTL is deleted, so the registrations of clients that
// crashed do not pile up. Each node writes, a few times per TTL, the
// registrations that had a socket open on it since it last wrote them,
// and deletes what has not been written for a TTL.

// expireBatch bounds one store call of the sweep.
const expireBatch = 1000

// sweepEvery is how often a node runs the sweep: often enough that a
// registration in use is written several times per TTL.
func sweepEvery(ttl time.Duration) time.Duration { return min(ttl/10, time.Hour) }

// ExpireNotifications runs one sweep: it marks the registrations that had
// a socket open on this node since the last sweep as active now, then
// deletes the registrations last active more than the TTL ago (their
// sockets, none, close everywhere). It returns how many it deleted. The
// server runs it every TTL/10 (at most hourly); tests call it.
func (s *Server) ExpireNotifications(ctx context.Context) (int, error) {
	now := s.cfg.Now()
	if err := s.store.TouchNotifications(ctx, now, s.hub.listened()); err != nil {
		return 0, err
	}
	total := 0
	for {
		n, err := s.store.ExpireNotifications(ctx, now.Add(-s.cfg.NotificationTTL), expireBatch)
		total += n
		if err != nil || n < expireBatch {
			if total > 0 {
				s.log.Info("expired notification registrations nobody listened on", "count", total, "ttl", s.cfg.NotificationTTL)
			}
			return total, err
		}
	}
}

// ExpireTokens deletes the batch tokens older than the idempotency TTL
// and returns how many. The server runs it with ExpireNotifications;
// tests call it.
func (s *Server) ExpireTokens(ctx context.Context) (int, error) {
	total := 0
	for {
		n, err := s.store.ExpireTokens(ctx, s.cfg.Now().Add(-s.cfg.IdempotencyTTL), expireBatch)
		total += n
		if err != nil || n < expireBatch {
			return total, err
		}
	}
}

// sweep runs ExpireNotifications and ExpireTokens until ctx ends.
func (s *Server) sweep(ctx context.Context) {
	t := time.NewTicker(min(sweepEvery(s.cfg.NotificationTTL), sweepEvery(s.cfg.IdempotencyTTL)))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		sctx, cancel := context.WithTimeout(ctx, time.Minute)
		if _, err := s.ExpireNotifications(sctx); err != nil && ctx.Err() == nil {
			s.log.Warn("expiring notification registrations failed; will retry", "err", err)
		}
		if _, err := s.ExpireTokens(sctx); err != nil && ctx.Err() == nil {
			s.log.Warn("expiring batch tokens failed; will retry", "err", err)
		}
		cancel()
	}
}
