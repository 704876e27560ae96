package store

import "sort"

// ChangesOf groups a commit's writes by app and type, keys deduplicated,
// in a fixed order (by app, then type), so every store publishes one
// commit's changes alike.
func ChangesOf(b Batch, seq uint64) []Change {
	type appSchema struct{ app, schema string }
	keys := map[appSchema]map[string]bool{}
	for _, w := range b.Writes {
		k := appSchema{w.Key.App, w.Key.Schema}
		if keys[k] == nil {
			keys[k] = map[string]bool{}
		}
		keys[k][w.TextKey] = true
	}
	out := make([]Change, 0, len(keys))
	for k, set := range keys {
		c := Change{Kind: ChangeRecords, Seq: seq, App: k.app, Schema: k.schema}
		for key := range set {
			c.Keys = append(c.Keys, key)
		}
		sort.Strings(c.Keys)
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].App != out[j].App {
			return out[i].App < out[j].App
		}
		return out[i].Schema < out[j].Schema
	})
	return out
}
