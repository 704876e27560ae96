package msgcache

// Ranges of sequence numbers read whole, as sorted, disjoint, non-touching
// half-open intervals.

// interval is [From, To).
type interval struct {
	From int64 `json:"from"`
	To   int64 `json:"to"`
}

// addInterval is set with iv added, merged with what it overlaps or
// touches.
func addInterval(set []interval, iv interval) []interval {
	if iv.To <= iv.From {
		return set
	}
	out := make([]interval, 0, len(set)+1)
	placed := false
	for _, x := range set {
		switch {
		case x.To < iv.From: // wholly before
			out = append(out, x)
		case x.From > iv.To: // wholly after
			if !placed {
				out, placed = append(out, iv), true
			}
			out = append(out, x)
		default: // overlaps or touches: one
			iv = interval{min(iv.From, x.From), max(iv.To, x.To)}
		}
	}
	if !placed {
		out = append(out, iv)
	}
	return out
}

// subInterval is set without iv.
func subInterval(set []interval, iv interval) []interval {
	if iv.To <= iv.From {
		return set
	}
	out := make([]interval, 0, len(set)+1)
	for _, x := range set {
		if x.To <= iv.From || x.From >= iv.To {
			out = append(out, x)
			continue
		}
		if x.From < iv.From {
			out = append(out, interval{x.From, iv.From})
		}
		if x.To > iv.To {
			out = append(out, interval{iv.To, x.To})
		}
	}
	return out
}

// gaps are the parts of within that set does not cover, in order.
func gaps(set []interval, within interval) []interval {
	var out []interval
	at := within.From
	for _, x := range set {
		if x.To <= at {
			continue
		}
		if x.From >= within.To {
			break
		}
		if x.From > at {
			out = append(out, interval{at, x.From})
		}
		at = max(at, x.To)
	}
	if at < within.To {
		out = append(out, interval{at, within.To})
	}
	return out
}
