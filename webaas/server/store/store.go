// Package store defines what the WeBaaS server needs from durable storage.
//
// The interface is small on purpose so that each implementation (the
// embedded bbolt store, PostgreSQL) can keep the same promises, checked by
// one conformance suite (package storetest):
//
//   - keys are opaque bytes whose byte order is the typed key order;
//   - a Commit applies all its writes or none, and only if every record it
//     read still has the version it read (optimistic validation);
//   - a Commit, and every other method that writes, returns only once the
//     change is durable;
//   - every committed change reaches the subscribers, in commit order.
package store

import (
	"context"
	"errors"
	"time"
)

// Errors every implementation returns, matched with errors.Is.
var (
	ErrNotFound   = errors.New("not found")
	ErrUnknownApp = errors.New("unknown app")
	ErrConflict   = errors.New("a record read by the transaction changed since it was read")
	ErrExists     = errors.New("already exists")
	ErrClosed     = errors.New("store is closed")
	// ErrUnavailable: the storage could not be reached, or did not answer
	// in time. Nothing was written, except that a commit may have landed
	// if the failure hit while its outcome was on the way back. Retrying
	// later may succeed; the server should answer 503.
	ErrUnavailable = errors.New("store unavailable")
	// ErrNoSpace: the storage is out of disk space (or quota); nothing
	// was written. It comes wrapped with the cause, and with
	// ErrUnavailable by stores whose storage is remote.
	ErrNoSpace = errors.New("out of disk space")
)

// App is one registered application.
type App struct {
	ID            string
	Name          string
	ActiveVersion string // "" until a schema version is activated
	Created       time.Time
	// SchemaRev counts the app's schema changes (file uploads and
	// activations). A schema change names the revision it was checked
	// against and is refused if another came first, so two changes
	// checked apart can never land together.
	SchemaRev uint64
}

// AnyRev, as a schema change's ifRev, applies it whatever the app's
// SchemaRev.
const AnyRev = ^uint64(0)

// RecordKey names one record: the app, the fully qualified message type and
// the primary key, encoded so that byte order is key order.
type RecordKey struct {
	App    string
	Schema string
	Key    []byte
}

// Record is a stored record and the version of its last write. Versions are
// commit sequence numbers: they only grow, and 0 means "absent".
type Record struct {
	Key     []byte
	Value   []byte
	Version uint64
}

// Read is a read a transaction made: the record had Version (0: absent).
type Read struct {
	Key     RecordKey
	Version uint64
}

// Write is an upsert, or a delete when Delete is set. TextKey is the key as
// clients write it; it is what notifications carry.
type Write struct {
	Key     RecordKey
	TextKey string
	Value   []byte
	Delete  bool
	// Sequence, when not empty, names a sequence of the write's app: the
	// store gives the write the sequence's next value, in batch order, and
	// Assign makes the record's key and bytes from it (Key.Key, TextKey
	// and Value are then Assign's). Assign may be called more than once
	// (a group that failed is planned again); a refusal from it refuses
	// the commit.
	Sequence string
	Assign   func(n uint64) (key []byte, textKey string, value []byte, err error)
}

// Batch is what one Commit applies atomically.
type Batch struct {
	Reads  []Read
	Writes []Write
	// Token, when set, makes the commit idempotent: if a commit with the
	// same token in the same app was made before (within the tokens'
	// retention), this one applies nothing and fails with a
	// *DuplicateError saying what the first one was given.
	Token *Token
	// Assigned, when not nil, receives each sequenced write's value, in
	// write order, once the commit is durable.
	Assigned *[]uint64
}

// Token is an idempotency token: a client's name for one commit.
type Token struct {
	App string
	Key []byte
}

// DuplicateError is a commit whose token was used before.
type DuplicateError struct {
	Assigned []uint64 // what the first commit's sequenced writes were given
}

func (e *DuplicateError) Error() string { return "a commit with this token was made before" }

// TokenSchema is the type name under which tokens are kept as records of
// their app: no protobuf type can have that name, so no API call reaches
// them, and deleting the app deletes them.
const TokenSchema = "\x00token"

// Notification is a registered interest in some records of one type.
type Notification struct {
	ID     string
	App    string
	Schema string
	Keys   []string // text keys, canonical form
	// Types are more types of the app (full names) all of whose records
	// are watched: an extension, so that a client can follow records
	// whose keys it cannot know in advance.
	Types []string
	// LastActive is when a socket was last open on it (at first, when it
	// was registered): registrations nobody has listened on for a long
	// time expire (ExpireNotifications).
	LastActive time.Time
}

// NotificationRef names one registration.
type NotificationRef struct{ App, ID string }

// ChangeKind says what a Change is about.
type ChangeKind int

const (
	// ChangeRecords: records of one app and type were written or deleted.
	ChangeRecords ChangeKind = iota + 1
	// ChangeSchema: the app's active schema changed: another version was
	// activated, or a file of the active one was uploaded.
	ChangeSchema
	// ChangeAppDeleted: the app is gone, with its notifications.
	ChangeAppDeleted
	// ChangeNotificationDeleted: one notification is gone.
	ChangeNotificationDeleted
)

// Change is what subscribers hear after a write became durable.
type Change struct {
	Kind   ChangeKind
	Seq    uint64 // commit sequence number, for ChangeRecords
	App    string
	Schema string   // ChangeRecords
	Keys   []string // ChangeRecords: text keys written or deleted
	// Values are the records' bytes, one per key (nil: deleted), for
	// subscribers that push records rather than keys.
	Values [][]byte
	// Sequences (ChangeRecords) are the app's sequences the commit
	// advanced, with their values after it: a subscriber then knows
	// which keys the sequences have given, and can tell a record written
	// under a key not given yet.
	Sequences      []SeqValue
	NotificationID string // ChangeNotification
}

// RangeSizer is a Store that can size a range page without reading it
// out: the server asks first, when answers are large and it is short of
// room to send them, so that it need not hold a page it cannot send yet.
type RangeSizer interface {
	// RangeSize returns how many records Range with the same arguments
	// would return and the sum of their values' lengths.
	RangeSize(ctx context.Context, app, schema string, begin, end []byte, skip, limit int) (count int, bytes int64, err error)
}

// Store is durable storage for the WeBaaS server. All methods are safe for
// concurrent use.
type Store interface {
	// ID names the data this store holds: a random id made when the store
	// was first created, the same for every node on one database and
	// across restarts. Two servers with the same ID serve the same apps.
	ID() string

	// CreateApp stores a new app; ErrExists if the id is taken.
	CreateApp(ctx context.Context, app App) error
	// App returns the app with that id, or ErrNotFound.
	App(ctx context.Context, id string) (App, error)
	// DeleteApp removes the app and all its schemas, records and
	// notifications, or returns ErrNotFound.
	DeleteApp(ctx context.Context, id string) error

	// PutSchemaFile stores (or replaces) one file of a schema version and
	// bumps the app's SchemaRev, if SchemaRev is still ifRev (or ifRev is
	// AnyRev); ErrConflict if not, ErrNotFound if the app does not exist.
	// A file of the active version is published as a ChangeSchema.
	PutSchemaFile(ctx context.Context, appID, version, name string, text []byte, ifRev uint64) error
	// SchemaFiles returns every file of a schema version, by name.
	SchemaFiles(ctx context.Context, appID, version string) (map[string][]byte, error)
	// SchemaVersions returns the names of the app's schema versions that
	// have files, in byte order.
	SchemaVersions(ctx context.Context, appID string) ([]string, error)
	// ActivateSchema makes version the app's active schema, under the same
	// condition on ifRev as PutSchemaFile, and bumps SchemaRev.
	ActivateSchema(ctx context.Context, appID, version string, ifRev uint64) error

	// Get returns one record, or ErrNotFound.
	Get(ctx context.Context, key RecordKey) (Record, error)
	// Range returns records of one type with begin <= key < end in key
	// order, skipping the first skip of them and returning at most limit;
	// more reports whether records past the returned ones exist.
	Range(ctx context.Context, app, schema string, begin, end []byte, skip, limit int) (recs []Record, more bool, err error)
	// Commit validates the batch's reads and applies its writes, all or
	// nothing, returning the commit's sequence number once it is durable.
	// It returns ErrConflict if a read is stale and ErrUnknownApp if a
	// write's app does not exist; either way it changes nothing.
	Commit(ctx context.Context, b Batch) (seq uint64, err error)
	// Sequence returns the last value the app's sequence name has given
	// (0: none yet).
	Sequence(ctx context.Context, app, name string) (uint64, error)
	// ExpireTokens deletes up to limit idempotency tokens made before
	// before, and returns how many it deleted.
	ExpireTokens(ctx context.Context, before time.Time, limit int) (int, error)

	// PutNotification stores a notification registration.
	PutNotification(ctx context.Context, n Notification) error
	// Notification returns one registration of app, or ErrNotFound.
	Notification(ctx context.Context, appID, id string) (Notification, error)
	// DeleteNotification removes one registration, or returns ErrNotFound.
	DeleteNotification(ctx context.Context, appID, id string) error
	// TouchNotifications sets the LastActive of registrations that still
	// exist to at, if later than what they hold.
	TouchNotifications(ctx context.Context, at time.Time, refs []NotificationRef) error
	// ExpireNotifications deletes up to limit registrations last active
	// before before, publishing a ChangeNotificationDeleted for each, and
	// returns how many it deleted. A registration stored without a
	// LastActive (by an older version) counts as active now.
	ExpireNotifications(ctx context.Context, before time.Time, limit int) (int, error)

	// LastSeq returns the highest sequence number of a durable write, 0
	// before the first: every commit numbered up to it was durable when
	// LastSeq returned, and every commit made after LastSeq was called
	// gets a greater number. So a subscriber that starts listening and
	// then calls LastSeq can tell the changes it hears late (a node reads
	// other nodes' changes from a log) from the ones made after it
	// started.
	LastSeq(ctx context.Context) (uint64, error)

	// Subscribe calls fn with the changes that become durable from now
	// on, a commit's or a group's at a time (so that a subscriber can act
	// once per batch); record changes arrive in commit order. fn must not
	// block and must be safe to call concurrently. The returned func stops
	// the calls.
	Subscribe(fn func([]Change)) (cancel func())

	// Close releases the store; later calls return ErrClosed.
	Close() error
}
