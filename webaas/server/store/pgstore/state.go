package pgstore

import (
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/webaas-chat/webaas-chat/webaas/server/store"
)

// What the planner asks about a group's state before it, read in the
// group's first round trip, after the counter lock.

type seqID struct{ app, name string }

type tokenID struct{ app, key string }

// questions are a group's distinct read keys, written apps, sequences and
// tokens.
type questions struct {
	reads  []keyID
	apps   []string
	seqs   []seqID
	tokens []tokenID
}

func groupQuestions(reqs []*store.CommitReq) questions {
	var q questions
	reads, apps, seqs, tokens := map[keyID]bool{}, map[string]bool{}, map[seqID]bool{}, map[tokenID]bool{}
	for _, r := range reqs {
		for _, rd := range r.Batch.Reads {
			if id := idOf(rd.Key); !reads[id] {
				reads[id] = true
				q.reads = append(q.reads, id)
			}
		}
		for _, w := range r.Batch.Writes {
			if !apps[w.Key.App] {
				apps[w.Key.App] = true
				q.apps = append(q.apps, w.Key.App)
			}
			if id := (seqID{w.Key.App, w.Sequence}); w.Sequence != "" && !seqs[id] {
				seqs[id] = true
				q.seqs = append(q.seqs, id)
			}
		}
		if t := r.Batch.Token; t != nil {
			if id := (tokenID{t.App, string(t.Key)}); !tokens[id] {
				tokens[id] = true
				q.tokens = append(q.tokens, id)
			}
		}
	}
	return q
}

const (
	// readVersionsSQL reads the versions of the group's read keys that
	// exist; the others are absent (version 0).
	readVersionsSQL = `
SELECT r.i, rec.version
FROM unnest($1::text[], $2::text[], $3::bytea[]) WITH ORDINALITY AS r(app, schema, key, i)
JOIN webaas_records rec ON rec.app = r.app AND rec.schema = r.schema AND rec.key = r.key`

	readSequencesSQL = `
SELECT q.i, s.value
FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS q(app, name, i)
JOIN webaas_sequences s ON s.app = q.app AND s.name = q.name`

	readTokensSQL = `
SELECT q.i, t.value
FROM unnest($1::text[], $2::bytea[]) WITH ORDINALITY AS q(app, key, i)
JOIN webaas_tokens t ON t.app = q.app AND t.key = q.key`
)

// groupState answers store.GroupState from what queue's statements read.
type groupState struct {
	versions map[keyID]uint64
	apps     map[string]bool
	seqs     map[seqID]uint64
	tokens   map[tokenID][]byte
}

// queue adds the statements that answer q to b.
func (st *groupState) queue(b *pgx.Batch, q questions) {
	if len(q.reads) > 0 {
		as, ss, ks := keyColumns(q.reads)
		b.Queue(readVersionsSQL, as, ss, ks).Query(func(rows pgx.Rows) error {
			var i, v int64
			_, err := pgx.ForEachRow(rows, []any{&i, &v}, func() error {
				st.versions[q.reads[i-1]] = uint64(v)
				return nil
			})
			return err
		})
	}
	if len(q.apps) > 0 {
		b.Queue(`SELECT id FROM webaas_apps WHERE id = ANY($1::text[])`, q.apps).Query(func(rows pgx.Rows) error {
			var id string
			_, err := pgx.ForEachRow(rows, []any{&id}, func() error {
				st.apps[id] = true
				return nil
			})
			return err
		})
	}
	if len(q.seqs) > 0 {
		apps, names := make([]string, len(q.seqs)), make([]string, len(q.seqs))
		for i, id := range q.seqs {
			apps[i], names[i] = id.app, id.name
		}
		b.Queue(readSequencesSQL, apps, names).Query(func(rows pgx.Rows) error {
			var i, v int64
			_, err := pgx.ForEachRow(rows, []any{&i, &v}, func() error {
				st.seqs[q.seqs[i-1]] = uint64(v)
				return nil
			})
			return err
		})
	}
	if len(q.tokens) > 0 {
		apps, keys := make([]string, len(q.tokens)), make([][]byte, len(q.tokens))
		for i, id := range q.tokens {
			apps[i], keys[i] = id.app, []byte(id.key)
		}
		b.Queue(readTokensSQL, apps, keys).Query(func(rows pgx.Rows) error {
			var i int64
			var v []byte
			_, err := pgx.ForEachRow(rows, []any{&i, &v}, func() error {
				st.tokens[q.tokens[i-1]] = v
				return nil
			})
			return err
		})
	}
}

func (st *groupState) Version(k store.RecordKey) uint64 { return st.versions[idOf(k)] }

func (st *groupState) AppExists(app string) bool { return st.apps[app] }

func (st *groupState) Sequence(app, name string) uint64 { return st.seqs[seqID{app, name}] }

func (st *groupState) Token(k store.RecordKey) ([]byte, bool) {
	v, ok := st.tokens[tokenID{k.App, string(k.Key)}]
	return v, ok
}

func sequenceColumns(seqs []store.SeqValue) []any {
	apps, names, values := make([]string, len(seqs)), make([]string, len(seqs)), make([]int64, len(seqs))
	for i, sv := range seqs {
		apps[i], names[i], values[i] = sv.App, sv.Name, int64(sv.Value)
	}
	return []any{apps, names, values}
}

func tokenColumns(tokens []store.FinalWrite) []any {
	n := len(tokens)
	apps, keys, made, values := make([]string, n), make([][]byte, n), make([]time.Time, n), make([][]byte, n)
	for i, f := range tokens {
		apps[i], keys[i], values[i] = f.Write.Key.App, nonNil(f.Write.Key.Key), f.Write.Value
		made[i] = store.TokenTime(f.Write.Value)
	}
	return []any{apps, keys, made, values}
}
