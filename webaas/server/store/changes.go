package store

import "sort"

// ChangesOf groups a commit's writes by app and type, keys deduplicated
// (a key written twice carries its last value), in a fixed order (by app,
// then type, then key), so every store publishes one commit's changes
// alike. Token records (TokenSchema) are nobody's business: they are left
// out.
func ChangesOf(b Batch, seq uint64) []Change {
	type appSchema struct{ app, schema string }
	values := map[appSchema]map[string][]byte{}
	for _, w := range b.Writes {
		if w.Key.Schema == TokenSchema {
			continue
		}
		k := appSchema{w.Key.App, w.Key.Schema}
		if values[k] == nil {
			values[k] = map[string][]byte{}
		}
		var v []byte
		if !w.Delete {
			v = w.Value
			if v == nil {
				v = []byte{} // a record of no bytes is not a delete
			}
		}
		values[k][w.TextKey] = v
	}
	out := make([]Change, 0, len(values))
	for k, set := range values {
		c := Change{Kind: ChangeRecords, Seq: seq, App: k.app, Schema: k.schema}
		for key := range set {
			c.Keys = append(c.Keys, key)
		}
		sort.Strings(c.Keys)
		c.Values = make([][]byte, len(c.Keys))
		for i, key := range c.Keys {
			c.Values[i] = set[key]
		}
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
