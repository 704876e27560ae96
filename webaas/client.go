// Package webaas is a thin client for the WeBaaS API (see
// docs/webaas-api.md): one method per call, context first, errors as
// *Error matched with errors.Is (ErrNotFound, ErrConflict, ...).
//
// Records travel as the binary protobuf encoding of one message. The
// methods take and return bytes; PutMessage, GetMessage and friends do the
// encoding for proto.Message values.
package webaas

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/webaas-chat/webaas-chat/wire"
)

// maxAnswer bounds how much of an answer the client reads: a range page
// of 100 records of 64 KiB each fits.
const maxAnswer = 64 << 20

// Client talks to one WeBaaS server. It is safe for concurrent use.
type Client struct {
	base *url.URL
	http *http.Client
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient makes the client use hc for every HTTP call.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) { c.http = hc }
}

// New returns a client for the server at baseURL, e.g.
// "http://127.0.0.1:11232".
func New(baseURL string, opts ...Option) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(baseURL, "/"))
	if err != nil {
		return nil, fmt.Errorf("webaas: server URL %q: %w", baseURL, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("webaas: server URL %q: want http://host:port or https://host:port", baseURL)
	}
	// Many goroutines share one client (a chat sends while it fetches);
	// keep enough idle connections that they do not churn.
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 256
	c := &Client{base: u, http: &http.Client{Transport: tr}}
	for _, o := range opts {
		o(c)
	}
	return c, nil
}

// BaseURL returns the server's URL.
func (c *Client) BaseURL() string { return c.base.String() }

// call makes one request and returns the body of a 200 answer; any other
// answer becomes an *Error.
func (c *Client) call(ctx context.Context, method, path string, q url.Values, body []byte) ([]byte, error) {
	u := *c.base
	u.Path += path
	u.RawQuery = q.Encode()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return nil, fmt.Errorf("webaas: %s %s: %w", method, path, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/octet-stream")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("webaas: %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return nil, fmt.Errorf("webaas: %s %s: reading answer: %w", method, path, err)
	}
	if resp.StatusCode == http.StatusOK {
		return data, nil
	}
	return nil, answerError(resp.StatusCode, data)
}

// answerError turns an answer other than 200 into an *Error.
func answerError(status int, data []byte) *Error {
	e := &Error{Status: status}
	var eb wire.ErrorBody
	if json.Unmarshal(data, &eb) == nil && eb.Code != 0 {
		e.Code, e.Message = eb.Code, eb.Message
	} else {
		e.Message = strings.TrimSpace(string(data))
	}
	return e
}

func (c *Client) callJSON(ctx context.Context, method, path string, q url.Values, body []byte, into any) error {
	data, err := c.call(ctx, method, path, q, body)
	if err != nil {
		return err
	}
	if into == nil {
		return nil
	}
	if err := json.Unmarshal(data, into); err != nil {
		return fmt.Errorf("webaas: %s %s: answer is not the expected JSON: %w", method, path, err)
	}
	return nil
}

// RegisterApp registers a new app and returns its id.
func (c *Client) RegisterApp(ctx context.Context, name string) (string, error) {
	var out struct {
		AppID string `json:"appID"`
	}
	err := c.callJSON(ctx, http.MethodPost, "/app", url.Values{"appName": {name}}, nil, &out)
	return out.AppID, err
}

// DeleteApp deletes an app and everything in it. name, when not empty,
// must be the app's name (a guard against deleting the wrong one).
func (c *Client) DeleteApp(ctx context.Context, appID, name string) error {
	q := url.Values{"appID": {appID}}
	if name != "" {
		q.Set("appName", name)
	}
	return c.callJSON(ctx, http.MethodDelete, "/app", q, nil, nil)
}

// PutSchema uploads one .proto file of a schema version.
func (c *Client) PutSchema(ctx context.Context, appID, version, fileName string, text []byte) error {
	q := url.Values{"appID": {appID}, "fileName": {fileName}, "version": {version}}
	if text == nil {
		text = []byte{}
	}
	return c.callJSON(ctx, http.MethodPut, "/schema", q, text, nil)
}

// ActivateSchema compiles a schema version and makes it the active one.
func (c *Client) ActivateSchema(ctx context.Context, appID, version string) error {
	return c.callJSON(ctx, http.MethodPost, "/schema", url.Values{"appID": {appID}, "version": {version}}, nil, nil)
}

// Put upserts a record (its binary protobuf encoding) of type schemaName.
func (c *Client) Put(ctx context.Context, appID, schemaName string, record []byte) error {
	if record == nil {
		record = []byte{}
	}
	return c.callJSON(ctx, http.MethodPost, "/record", url.Values{"appID": {appID}, "schemaName": {schemaName}}, record, nil)
}

// Get reads one record; errors.Is(err, ErrNotFound) when it is absent.
func (c *Client) Get(ctx context.Context, appID, schemaName, key string) ([]byte, error) {
	return c.call(ctx, http.MethodGet, "/query", url.Values{"appID": {appID}, "schemaName": {schemaName}, "recordKey": {key}}, nil)
}

// Delete deletes one record; errors.Is(err, ErrNotFound) when it is absent.
func (c *Client) Delete(ctx context.Context, appID, schemaName, key string) error {
	return c.callJSON(ctx, http.MethodDelete, "/record", url.Values{"appID": {appID}, "schemaName": {schemaName}, "recordKey": {key}}, nil, nil)
}

// RangePage reads page iteration (from 1) of the records with
// begin <= key < end, in key order; more says a later page exists.
func (c *Client) RangePage(ctx context.Context, appID, schemaName, begin, end string, iteration int) (records [][]byte, more bool, err error) {
	q := url.Values{
		"appID": {appID}, "schemaName": {schemaName}, "range": {"True"},
		"beginKey": {begin}, "endKey": {end}, "iteration": {strconv.Itoa(iteration)},
	}
	data, err := c.call(ctx, http.MethodGet, "/query", q, nil)
	if err != nil {
		return nil, false, err
	}
	return DecodePage(data)
}

// Range reads every record with begin <= key < end, page by page.
func (c *Client) Range(ctx context.Context, appID, schemaName, begin, end string) ([][]byte, error) {
	var all [][]byte
	for page := 1; ; page++ {
		recs, more, err := c.RangePage(ctx, appID, schemaName, begin, end, page)
		if err != nil {
			return nil, err
		}
		all = append(all, recs...)
		if !more {
			return all, nil
		}
	}
}

// ErrBadPage is returned for a range answer that is not framed correctly.
var ErrBadPage = errors.New("webaas: malformed range page")

// DecodePage splits a range answer: a byte that says whether a later page
// exists, then records each prefixed by a 2-byte big-endian length.
func DecodePage(data []byte) (records [][]byte, more bool, err error) {
	if len(data) == 0 {
		return nil, false, fmt.Errorf("%w: empty", ErrBadPage)
	}
	switch data[0] {
	case 0:
	case 1:
		more = true
	default:
		return nil, false, fmt.Errorf("%w: first byte is %d, want 0 or 1", ErrBadPage, data[0])
	}
	rest := data[1:]
	for len(rest) > 0 {
		if len(rest) < 2 {
			return nil, false, fmt.Errorf("%w: truncated length", ErrBadPage)
		}
		n := int(binary.BigEndian.Uint16(rest))
		rest = rest[2:]
		if len(rest) < n {
			return nil, false, fmt.Errorf("%w: record of %d bytes, %d left", ErrBadPage, n, len(rest))
		}
		records = append(records, rest[:n:n])
		rest = rest[n:]
	}
	return records, more, nil
}

// RegisterNotification registers interest in some records and returns the
// notification id to listen on.
func (c *Client) RegisterNotification(ctx context.Context, appID, schemaName string, keys []string) (string, error) {
	body, err := json.Marshal(map[string]any{"appID": appID, "schemaName": schemaName, "recordKeys": keys})
	if err != nil {
		return "", err
	}
	var out struct {
		NotificationID string `json:"notificationID"`
	}
	err = c.callJSON(ctx, http.MethodPost, "/notification", nil, body, &out)
	return out.NotificationID, err
}

// registerTypes registers interest in every record of the named types
// (an extension), and in the keys of schemaName, if any.
func (c *Client) registerTypes(ctx context.Context, appID, schemaName string, keys, types []string) (string, error) {
	req := map[string]any{"appID": appID, "schemaNames": types}
	if schemaName != "" {
		req["schemaName"], req["recordKeys"] = schemaName, keys
	}
	body, err := json.Marshal(req)
	if err != nil {
		return "", err
	}
	var out struct {
		NotificationID string `json:"notificationID"`
	}
	err = c.callJSON(ctx, http.MethodPost, "/notification", nil, body, &out)
	return out.NotificationID, err
}

// DeleteNotification unregisters a notification; its sockets close.
func (c *Client) DeleteNotification(ctx context.Context, appID, notificationID string) error {
	return c.callJSON(ctx, http.MethodDelete, "/notification", url.Values{"appID": {appID}, "notificationID": {notificationID}}, nil, nil)
}

// Txn is a transaction: reads see its own writes, writes apply at Commit.
type Txn struct {
	c  *Client
	ID string
}

// Begin starts a transaction. It expires if left idle (10 s by default).
func (c *Client) Begin(ctx context.Context) (*Txn, error) {
	var out struct {
		TransactionID string `json:"transactionID"`
	}
	if err := c.callJSON(ctx, http.MethodPost, "/transaction", url.Values{"action": {"begin"}}, nil, &out); err != nil {
		return nil, err
	}
	return &Txn{c: c, ID: out.TransactionID}, nil
}

// Txn returns the open transaction id, for calls through this client:
// one begun through another client, or another server node.
func (c *Client) Txn(id string) *Txn { return &Txn{c: c, ID: id} }

// Get reads a record inside the transaction.
func (t *Txn) Get(ctx context.Context, appID, schemaName, key string) ([]byte, error) {
	q := url.Values{"appID": {appID}, "schemaName": {schemaName}, "recordKey": {key}, "transactionID": {t.ID}}
	return t.c.call(ctx, http.MethodGet, "/query/transactional", q, nil)
}

// Put buffers an upsert in the transaction.
func (t *Txn) Put(ctx context.Context, appID, schemaName string, record []byte) error {
	if record == nil {
		record = []byte{}
	}
	q := url.Values{"appID": {appID}, "schemaName": {schemaName}, "transactionID": {t.ID}}
	return t.c.callJSON(ctx, http.MethodPost, "/record/transactional", q, record, nil)
}

// Commit applies the transaction; errors.Is(err, ErrConflict) when a
// record it read changed meanwhile (nothing was applied: retry).
func (t *Txn) Commit(ctx context.Context) error {
	return t.c.callJSON(ctx, http.MethodPost, "/transaction", url.Values{"action": {"commit"}, "transactionID": {t.ID}}, nil, nil)
}

// Abort drops the transaction.
func (t *Txn) Abort(ctx context.Context) error {
	return t.c.callJSON(ctx, http.MethodPost, "/transaction", url.Values{"action": {"abort"}, "transactionID": {t.ID}}, nil, nil)
}

// ServerInfo is what a server says of itself (GET /info, an extension).
type ServerInfo struct {
	Server     string   `json:"server"`
	Store      string   `json:"store"` // the id of the data it serves
	Extensions []string `json:"extensions"`
}

// Has reports whether the server offers the named extension.
func (i ServerInfo) Has(extension string) bool { return slices.Contains(i.Extensions, extension) }

// Info asks the server what it is and which extensions it offers. For a
// server without GET /info (the original WeBaaS, which refuses the path
// with a 4xx answer) it returns a zero ServerInfo and no error: such a
// server offers no extension and names no store.
func (c *Client) Info(ctx context.Context) (ServerInfo, error) {
	var info ServerInfo
	err := c.callJSON(ctx, http.MethodGet, "/info", nil, nil, &info)
	var e *Error
	if errors.As(err, &e) && e.Status >= 400 && e.Status < 500 {
		return ServerInfo{}, nil
	}
	return info, err
}

// BatchWrite is one write of a Batch.
type BatchWrite struct {
	SchemaName string `json:"schemaName"`
	// Sequence, if not empty, names a sequence of the app: the record's
	// primary key (an integer field) is set to the sequence's next value.
	Sequence string `json:"sequence,omitempty"`
	Record   []byte `json:"record"`
}

// BatchResult is what a Batch wrote.
type BatchResult struct {
	Keys []string `json:"recordKeys"` // each write's primary key, in order
	// Duplicate: a batch with the same token was committed before; this
	// one wrote nothing, and Keys are the first one's.
	Duplicate bool `json:"duplicate"`
}

// Batch writes records atomically, in order, in one request (an
// extension: see ServerInfo.Has("batch")). A non-empty token makes it
// idempotent: retried after a lost answer, it is applied once.
func (c *Client) Batch(ctx context.Context, appID, token string, writes []BatchWrite) (BatchResult, error) {
	body, err := json.Marshal(struct {
		Token  string       `json:"token,omitempty"`
		Writes []BatchWrite `json:"writes"`
	}{token, writes})
	if err != nil {
		return BatchResult{}, err
	}
	var out BatchResult
	err = c.callJSON(ctx, http.MethodPost, "/batch", url.Values{"appID": {appID}}, body, &out)
	return out, err
}

// Sequence returns the last value the app's sequence has given (0: none
// yet); an extension, see ServerInfo.Has("sequence").
func (c *Client) Sequence(ctx context.Context, appID, name string) (uint64, error) {
	var out struct {
		Value uint64 `json:"value"`
	}
	err := c.callJSON(ctx, http.MethodGet, "/sequence", url.Values{"appID": {appID}, "name": {name}}, nil, &out)
	return out.Value, err
}
