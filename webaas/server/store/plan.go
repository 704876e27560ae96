package store

import "fmt"

// GroupPlan is the net effect of a group of commits validated in order.
type GroupPlan struct {
	Start, End uint64       // the commit sequence number before and after the group
	Final      []FinalWrite // each written key's last write, in first-write order
	Changes    []Change     // what subscribers hear, in commit order
}

// FinalWrite is the last write of one key in a group, with the version
// (the sequence number of the commit that made it) it leaves.
type FinalWrite struct {
	Write   Write
	Version uint64
}

// keyID identifies a record inside a group.
type keyID struct{ app, schema, key string }

func idOf(k RecordKey) keyID { return keyID{k.App, k.Schema, string(k.Key)} }

// PlanGroup validates the commits of a group in order, each against the
// state the commits before it left, exactly as if they had been applied
// one by one: every read must still hold and every written app exist. It
// sets each request's Seq (head+1, head+2, ... for those that pass) or
// Err, and returns the group's net effect for the store to write.
//
// version(k) is k's version before the group (0: absent); appExists says
// whether an app exists. Both are asked at most once per key or app.
func PlanGroup(group []*CommitReq, head uint64, version func(RecordKey) uint64, appExists func(app string) bool) GroupPlan {
	p := GroupPlan{Start: head, End: head}
	final := map[keyID]int{} // index into p.Final
	before := map[keyID]uint64{}
	apps := map[string]bool{}
	current := func(k RecordKey) uint64 {
		id := idOf(k)
		if i, ok := final[id]; ok {
			if p.Final[i].Write.Delete {
				return 0
			}
			return p.Final[i].Version
		}
		v, ok := before[id]
		if !ok {
			v = version(k)
			before[id] = v
		}
		return v
	}
	exists := func(app string) bool {
		ok, seen := apps[app]
		if !seen {
			ok = appExists(app)
			apps[app] = ok
		}
		return ok
	}
	for _, r := range group {
		r.Seq, r.Err = 0, refusal(r.Batch, current, exists)
		if r.Err != nil {
			continue
		}
		p.End++
		r.Seq = p.End
		for _, w := range r.Batch.Writes {
			id := idOf(w.Key)
			if i, ok := final[id]; ok {
				p.Final[i] = FinalWrite{Write: w, Version: p.End}
				continue
			}
			final[id] = len(p.Final)
			p.Final = append(p.Final, FinalWrite{Write: w, Version: p.End})
		}
		p.Changes = append(p.Changes, ChangesOf(r.Batch, p.End)...)
	}
	return p
}

// refusal says why a commit cannot apply, or nil.
func refusal(b Batch, current func(RecordKey) uint64, exists func(string) bool) error {
	for _, rd := range b.Reads {
		if current(rd.Key) != rd.Version {
			return ErrConflict
		}
	}
	for _, w := range b.Writes {
		if !exists(w.Key.App) {
			return fmt.Errorf("%w %s", ErrUnknownApp, w.Key.App)
		}
	}
	return nil
}
