package server

import (
	"container/list"
	"context"
	"errors"
	"sync"

	"github.com/webaas-chat/webaas-chat/webaas/server/store"
	"github.com/webaas-chat/webaas-chat/wire"
)

// appState is what the server keeps in memory about an app: its active,
// compiled schema. It is rebuilt whenever the store says the app changed.
type appState struct {
	app   store.App
	types map[string]*recordType // by fully qualified name
	// broken, when set, is why the active version does not compile (a
	// store written before schema changes were serialised may hold one).
	// The calls that need the schema answer it; the calls that repair or
	// delete the app do not need the schema, so they still work.
	broken error
	cost   int64 // estimated bytes held, for the cache's budget
}

// Compiled schemas hold about 17 times their source in memory (measured:
// a 0.9 MB file of 1,484 messages keeps 15 MB after compiling).
const (
	compiledPerSourceByte = 20
	compiledOverhead      = 16 << 10
)

func compiledCost(files map[string][]byte) int64 {
	n := int64(compiledOverhead)
	for _, text := range files {
		n += compiledPerSourceByte * int64(len(text))
	}
	return n
}

// apps caches appState by app id, least recently used out first, within
// a budget of estimated memory, so that many apps with large schemas
// cannot hold unbounded memory: an evicted app is compiled again when
// next used.
type apps struct {
	store    store.Store
	compiler *compiler
	budget   int64

	mu    sync.Mutex
	items map[string]*list.Element // of *appState
	lru   list.List                // front: most recently used
	used  int64
	gen   uint64 // bumped by forget, so a load that raced with it is not cached
}

func newApps(st store.Store, c *compiler, budget int64) *apps {
	return &apps{store: st, compiler: c, budget: budget, items: map[string]*list.Element{}}
}

// forget drops the cached state of an app; the next request reloads it.
func (a *apps) forget(id string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if el, ok := a.items[id]; ok {
		a.dropLocked(el)
	}
	a.gen++
}

func (a *apps) dropLocked(el *list.Element) {
	st := a.lru.Remove(el).(*appState)
	delete(a.items, st.app.ID)
	a.used -= st.cost
}

// get returns the app's state, loading and compiling it on first use.
func (a *apps) get(ctx context.Context, id string) (*appState, error) {
	if id == "" {
		return nil, errorf(wire.CodeBadParameter, "missing parameter appID")
	}
	a.mu.Lock()
	el, ok := a.items[id]
	if ok {
		a.lru.MoveToFront(el)
	}
	gen := a.gen
	a.mu.Unlock()
	if ok {
		return el.Value.(*appState), nil
	}
	st, err := a.load(ctx, id, nil)
	if err != nil {
		return nil, err
	}
	a.put(st, gen)
	return st, nil
}

// put caches st, unless forget ran since gen was read.
func (a *apps) put(st *appState, gen uint64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.gen != gen || st.cost > a.budget {
		return
	}
	if el, ok := a.items[st.app.ID]; ok {
		a.dropLocked(el)
	}
	a.items[st.app.ID] = a.lru.PushFront(st)
	a.used += st.cost
	for a.used > a.budget {
		a.dropLocked(a.lru.Back())
	}
}

// recordType resolves schemaName in the app's active schema, looking in
// the store once before refusing. The state this node holds may be behind
// the store's: another node may have activated a version, or added a file
// to the active one, that this node has not heard of yet (it hears within
// milliseconds, but a client may write sooner). Looking before refusing
// gives a client that changes the schema through one node and writes
// through another what one node would give it. A state that turns out
// current is kept, not compiled again, so a client that keeps naming a
// type the schema lacks costs one store read each time, not a compile.
func (a *apps) recordType(ctx context.Context, st *appState, schemaName string) (*appState, *recordType, error) {
	rt, err := st.recordType(schemaName)
	if err == nil || !refusedByState(err) {
		return st, rt, err
	}
	a.mu.Lock()
	gen := a.gen
	a.mu.Unlock()
	fresh, rerr := a.load(ctx, st.app.ID, st)
	if rerr != nil {
		return nil, nil, rerr
	}
	if fresh == st {
		return st, nil, err
	}
	a.put(fresh, gen)
	rt, err = fresh.recordType(schemaName)
	return fresh, rt, err
}

// refusedByState tells whether err, from an appState's recordType, may
// come from this node's state being behind the store's: no active schema,
// no such type, or a type without a usable key.
func refusedByState(err error) bool {
	var ae *apiError
	return errors.As(err, &ae) && (ae.code == wire.CodeUnknownSchema || ae.code == wire.CodeNoPrimaryKey)
}

// load reads an app and compiles its active schema, unless the store
// still has the schema of old (same revision): then it returns old.
func (a *apps) load(ctx context.Context, id string, old *appState) (*appState, error) {
	app, err := a.store.App(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		if old != nil { // deleted through another node
			a.forget(id)
		}
		return nil, errorf(wire.CodeUnknownApp, "unknown app %q", id)
	}
	if err != nil {
		return nil, storeFault(err)
	}
	if old != nil && old.app.SchemaRev == app.SchemaRev && old.app.ActiveVersion == app.ActiveVersion {
		return old, nil
	}
	st := &appState{app: app, cost: compiledOverhead}
	if app.ActiveVersion == "" {
		return st, nil
	}
	files, err := a.store.SchemaFiles(ctx, id, app.ActiveVersion)
	if err != nil {
		return nil, storeFault(err)
	}
	st.cost = compiledCost(files)
	types, err := a.compiler.compile(ctx, files)
	var ae *apiError
	switch {
	case errors.As(err, &ae) && ae.code == wire.CodeSchemaCompile:
		st.broken = errorf(wire.CodeSchemaCompile, "the active schema version %q of app %s does not compile: %s; upload a fixed file into it or activate another version", app.ActiveVersion, id, ae.message)
	case err != nil:
		return nil, err
	default:
		st.types = types
	}
	return st, nil
}

// recordType returns the storable type named schemaName of the active schema.
func (st *appState) recordType(schemaName string) (*recordType, error) {
	if schemaName == "" {
		return nil, errorf(wire.CodeBadParameter, "missing parameter schemaName")
	}
	if st.app.ActiveVersion == "" {
		return nil, errorf(wire.CodeUnknownSchema, "app %s has no active schema: upload files with PUT /schema and activate a version with POST /schema", st.app.ID)
	}
	if st.broken != nil {
		return nil, st.broken
	}
	rt, ok := st.types[schemaName]
	if !ok {
		return nil, errorf(wire.CodeUnknownSchema, "no message type %q in active schema version %q (names are <package>.<Message>)", schemaName, st.app.ActiveVersion)
	}
	if rt.key == nil {
		return nil, errorf(wire.CodeNoPrimaryKey, "type %s cannot be stored: %s", schemaName, rt.why)
	}
	return rt, nil
}

// compiler runs schema compiles. Compiling a large schema costs much
// memory while it runs (a 0.9 MB file allocates about 100 MB) and CPU
// (half a second), so large ones compile one at a time, behind a short
// queue; past it the server answers busy rather than hold every waiting
// upload's body. Small schemas, every chat room's among them, do not wait.
type compiler struct {
	large chan struct{} // the token of the one large compile running
	queue chan struct{} // tokens of the large compiles waiting
}

// largeSchema is the source size from which a compile takes its turn.
const largeSchema = 64 << 10

// compileQueue is how many large compiles may wait for their turn.
const compileQueue = 8

func newCompiler() *compiler {
	return &compiler{large: make(chan struct{}, 1), queue: make(chan struct{}, compileQueue)}
}

func (c *compiler) compile(ctx context.Context, files map[string][]byte) (map[string]*recordType, error) {
	size := 0
	for _, text := range files {
		size += len(text)
	}
	if size >= largeSchema {
		select {
		case c.queue <- struct{}{}:
		default:
			return nil, &apiError{code: wire.CodeUnavailable, message: "server busy compiling other large schemas, try again"}
		}
		select {
		case c.large <- struct{}{}:
			<-c.queue
		case <-ctx.Done():
			<-c.queue
			return nil, storeFault(ctx.Err())
		}
		defer func() { <-c.large }()
	}
	return compileSchema(ctx, files)
}
