package server

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/bufbuild/protocompile"
	"github.com/bufbuild/protocompile/reporter"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	protosrc "github.com/webaas-chat/webaas-chat/proto"
	"github.com/webaas-chat/webaas-chat/webaas"
	"github.com/webaas-chat/webaas-chat/webaas/server/store"
)

// recordOptionsFile is the import name of the file that declares the
// primary-key option; the server provides it to every schema.
const recordOptionsFile = "record_metadata_options.proto"

// extRecordField is the field number of (webaas.db.record.field) on
// google.protobuf.FieldOptions; primary_key is field 1 inside it.
const extRecordField = 1233

// recordType is one message type of an app's active schema.
type recordType struct {
	desc  protoreflect.MessageDescriptor
	key   protoreflect.FieldDescriptor // nil when the type cannot be stored
	codec keyCodec
	why   string // why the type cannot be stored, when key is nil
}

// appState is what the server keeps in memory about an app: its active,
// compiled schema. It is rebuilt whenever the store says the app changed.
type appState struct {
	app   store.App
	types map[string]*recordType // by fully qualified name
	files [sha256.Size]byte      // digest of the active version's files, to tell a changed one
}

// apps caches appState by app id.
type apps struct {
	store store.Store
	mu    sync.Mutex
	cache map[string]*appState
	gen   uint64 // bumped by forget, so a load that raced with it is not cached
}

func newApps(st store.Store) *apps {
	return &apps{store: st, cache: map[string]*appState{}}
}

// forget drops the cached state of an app; the next request reloads it.
func (a *apps) forget(id string) {
	a.mu.Lock()
	delete(a.cache, id)
	a.gen++
	a.mu.Unlock()
}

// get returns the app's state, loading and compiling it on first use.
func (a *apps) get(ctx context.Context, id string) (*appState, error) {
	if id == "" {
		return nil, errorf(webaas.CodeBadParameter, "missing parameter appID")
	}
	a.mu.Lock()
	st, ok := a.cache[id]
	a.mu.Unlock()
	if ok {
		return st, nil
	}
	return a.load(ctx, id, nil)
}

// reload returns the app's state as the store has it now. It is for a
// request that old, the state this node holds, refused: another node may
// have activated a version, or added a file to the active one, that this
// node has not heard of yet (it hears within milliseconds, but a client
// may write sooner). Looking before refusing gives a client that changes
// the schema through one node and writes through another what one node
// would give it. A state that turns out current is kept, not compiled
// again, so a client that keeps naming a type the schema lacks costs two
// reads each time, not a compile.
func (a *apps) reload(ctx context.Context, old *appState) (*appState, error) {
	return a.load(ctx, old.app.ID, old)
}

// load reads the app and its active version's files from the store and
// compiles them, unless they are those of old. It caches what it built,
// unless forget ran meanwhile.
func (a *apps) load(ctx context.Context, id string, old *appState) (*appState, error) {
	a.mu.Lock()
	gen := a.gen
	a.mu.Unlock()
	app, err := a.store.App(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		if old != nil { // deleted through another node
			a.forget(id)
		}
		return nil, errorf(webaas.CodeUnknownApp, "unknown app %q", id)
	}
	if err != nil {
		return nil, storeFault(err)
	}
	var files map[string][]byte
	if app.ActiveVersion != "" {
		if files, err = a.store.SchemaFiles(ctx, id, app.ActiveVersion); err != nil {
			return nil, storeFault(err)
		}
	}
	st := &appState{app: app, files: digestFiles(files)}
	if old != nil && old.app.ActiveVersion == app.ActiveVersion && old.files == st.files {
		return old, nil
	}
	if app.ActiveVersion != "" {
		// It compiled when it was activated; failing now means the store
		// lost files, which is a server fault, not the client's.
		types, err := compileSchema(ctx, files)
		if err != nil {
			return nil, fmt.Errorf("recompile active schema %s of app %s: %w", app.ActiveVersion, id, err)
		}
		st.types = types
	}
	a.mu.Lock()
	if a.gen == gen {
		a.cache[id] = st
	}
	a.mu.Unlock()
	return st, nil
}

// digestFiles is a digest of a version's files, names and texts.
func digestFiles(files map[string][]byte) [sha256.Size]byte {
	names := slices.Sorted(maps.Keys(files))
	h := sha256.New()
	for _, name := range names {
		// Lengths first, so that no two file sets run together alike.
		var n [16]byte
		binary.BigEndian.PutUint64(n[:8], uint64(len(name)))
		binary.BigEndian.PutUint64(n[8:], uint64(len(files[name])))
		h.Write(n[:])
		h.Write([]byte(name))
		h.Write(files[name])
	}
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	return sum
}

// refusedByState tells whether err, from an appState's recordType, may
// come from this node's state being behind the store's: no active schema,
// no such type, or a type without a usable key.
func refusedByState(err error) bool {
	var ae *apiError
	return errors.As(err, &ae) && (ae.code == webaas.CodeUnknownSchema || ae.code == webaas.CodeNoPrimaryKey)
}

// recordType resolves schemaName in the app's active schema, looking in
// the store once before refusing: see reload.
func (a *apps) recordType(ctx context.Context, st *appState, schemaName string) (*appState, *recordType, error) {
	rt, err := st.recordType(schemaName)
	if err == nil || !refusedByState(err) {
		return st, rt, err
	}
	fresh, rerr := a.reload(ctx, st)
	if rerr != nil {
		return nil, nil, rerr
	}
	if fresh == st {
		return st, nil, err
	}
	rt, err = fresh.recordType(schemaName)
	return fresh, rt, err
}

// recordType returns the storable type named schemaName of the active schema.
func (st *appState) recordType(schemaName string) (*recordType, error) {
	if schemaName == "" {
		return nil, errorf(webaas.CodeBadParameter, "missing parameter schemaName")
	}
	if st.app.ActiveVersion == "" {
		return nil, errorf(webaas.CodeUnknownSchema, "app %s has no active schema: upload files with PUT /schema and activate a version with POST /schema", st.app.ID)
	}
	rt, ok := st.types[schemaName]
	if !ok {
		return nil, errorf(webaas.CodeUnknownSchema, "no message type %q in active schema version %q (names are <package>.<Message>)", schemaName, st.app.ActiveVersion)
	}
	if rt.key == nil {
		return nil, errorf(webaas.CodeNoPrimaryKey, "type %s cannot be stored: %s", schemaName, rt.why)
	}
	return rt, nil
}

// maxSchemaNesting bounds how deeply brackets nest in a .proto file. The
// compiler spends time quadratic in the depth of an option's value: one
// 1 MB file nesting a message literal 300,000 deep kept it busy for many
// minutes. Real schemas nest a few levels (messages at most 32).
const maxSchemaNesting = 100

// tooDeep returns the line and column (from 1) of the first bracket of
// text that nests deeper than max, ignoring strings and comments, or 0, 0.
func tooDeep(text []byte, max int) (line, col int) {
	depth, line, lineStart := 0, 1, 0
	newline := func(i int) { line, lineStart = line+1, i+1 }
	for i := 0; i < len(text); i++ {
		switch c := text[i]; c {
		case '\n':
			newline(i)
		case '/':
			switch {
			case i+1 < len(text) && text[i+1] == '/':
				for i+1 < len(text) && text[i+1] != '\n' {
					i++
				}
			case i+1 < len(text) && text[i+1] == '*':
				for i += 2; i < len(text) && !(text[i] == '*' && i+1 < len(text) && text[i+1] == '/'); i++ {
					if text[i] == '\n' {
						newline(i)
					}
				}
				i++
			}
		case '"', '\'':
			for i++; i < len(text) && text[i] != c && text[i] != '\n'; i++ {
				if text[i] == '\\' && i+1 < len(text) && text[i+1] != '\n' {
					i++
				}
			}
			if i < len(text) && text[i] == '\n' {
				newline(i)
			}
		case '{', '[', '(', '<':
			if depth++; depth > max {
				return line, i - lineStart + 1
			}
		case '}', ']', ')', '>':
			if depth > 0 {
				depth--
			}
		}
	}
	return 0, 0
}

// compileSchema compiles a schema version's files and indexes its types.
// Compile errors come back as *apiError with file:line:column.
func compileSchema(ctx context.Context, files map[string][]byte) (map[string]*recordType, error) {
	if len(files) == 0 {
		return nil, errorf(webaas.CodeUnknownSchema, "no files uploaded for this version")
	}
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if line, col := tooDeep(files[name], maxSchemaNesting); line > 0 {
			return nil, errorf(webaas.CodeSchemaCompile, "schema does not compile: %s:%d:%d: brackets nest more than %d deep", name, line, col, maxSchemaNesting)
		}
	}
	accessor := func(path string) (io.ReadCloser, error) {
		if text, ok := files[path]; ok {
			return io.NopCloser(strings.NewReader(string(text))), nil
		}
		if path == recordOptionsFile {
			return io.NopCloser(strings.NewReader(protosrc.RecordMetadataOptions)), nil
		}
		return nil, fmt.Errorf("%s: no such file (upload it with PUT /schema, or import one the server provides: %s, google/protobuf/*.proto)", path, recordOptionsFile)
	}
	var firstErr error
	comp := protocompile.Compiler{
		Resolver:       protocompile.WithStandardImports(&protocompile.SourceResolver{Accessor: accessor}),
		MaxParallelism: 1,
		Reporter: reporter.NewReporter(func(err reporter.ErrorWithPos) error {
			if firstErr == nil {
				firstErr = err
			}
			return err
		}, nil),
	}
	compiled, err := comp.Compile(ctx, names...)
	if err != nil {
		if firstErr != nil {
			err = firstErr
		}
		return nil, errorf(webaas.CodeSchemaCompile, "schema does not compile: %v", err)
	}
	types := map[string]*recordType{}
	for _, f := range compiled {
		indexMessages(f.Messages(), types)
	}
	return types, nil
}

func indexMessages(msgs protoreflect.MessageDescriptors, into map[string]*recordType) {
	for i := 0; i < msgs.Len(); i++ {
		md := msgs.Get(i)
		if md.IsMapEntry() {
			continue
		}
		into[string(md.FullName())] = newRecordType(md)
		indexMessages(md.Messages(), into)
	}
}

func newRecordType(md protoreflect.MessageDescriptor) *recordType {
	rt := &recordType{desc: md}
	var keys []protoreflect.FieldDescriptor
	fields := md.Fields()
	for i := 0; i < fields.Len(); i++ {
		if isPrimaryKey(fields.Get(i)) {
			keys = append(keys, fields.Get(i))
		}
	}
	switch {
	case len(keys) == 0:
		rt.why = "no field is marked [(webaas.db.record.field).primary_key = true]"
	case len(keys) > 1:
		rt.why = fmt.Sprintf("%d fields are marked primary_key; exactly one must be", len(keys))
	default:
		if err := keyKindOK(keys[0]); err != nil {
			rt.why = err.Error()
		} else {
			rt.key = keys[0]
			rt.codec = keyCodec{kind: keys[0].Kind()}
		}
	}
	return rt
}

// isPrimaryKey reads (webaas.db.record.field).primary_key from the field's
// options by wire number, so it works whichever definition of
// record_metadata_options.proto the schema was compiled against.
func isPrimaryKey(fd protoreflect.FieldDescriptor) bool {
	opts := fd.Options()
	if opts == nil {
		return false
	}
	raw, err := proto.MarshalOptions{Deterministic: true}.Marshal(opts)
	if err != nil {
		return false
	}
	found := false
	walkFields(raw, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) {
		if num != extRecordField || typ != protowire.BytesType {
			return
		}
		walkFields(v, func(num protowire.Number, typ protowire.Type, _ []byte, n uint64) {
			if num == 1 && typ == protowire.VarintType {
				found = n != 0 // the last occurrence wins, as in proto
			}
		})
	})
	return found
}

// walkFields calls fn for each top-level field of a wire-format message:
// bytes fields with their payload, varints with their value.
func walkFields(b []byte, fn func(protowire.Number, protowire.Type, []byte, uint64)) {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return
		}
		b = b[n:]
		switch typ {
		case protowire.BytesType:
			v, m := protowire.ConsumeBytes(b)
			if m < 0 {
				return
			}
			fn(num, typ, v, 0)
			b = b[m:]
		case protowire.VarintType:
			v, m := protowire.ConsumeVarint(b)
			if m < 0 {
				return
			}
			fn(num, typ, nil, v)
			b = b[m:]
		default:
			m := protowire.ConsumeFieldValue(num, typ, b)
			if m < 0 {
				return
			}
			b = b[m:]
		}
	}
}
