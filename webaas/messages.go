package webaas

import (
	"context"
	"fmt"

	"google.golang.org/protobuf/proto"
)

// SchemaName is the WeBaaS schema name of m's type: "<package>.<Message>".
func SchemaName(m proto.Message) string {
	return string(m.ProtoReflect().Descriptor().FullName())
}

// Message is a pointer to a generated protobuf message type, so that the
// helpers below can make values of it: GetMessage[pb.Head] returns *pb.Head.
type Message[T any] interface {
	*T
	proto.Message
}

func decode[T any, P Message[T]](data []byte) (P, error) {
	m := P(new(T))
	if err := proto.Unmarshal(data, m); err != nil {
		return nil, fmt.Errorf("webaas: decode %s: %w", SchemaName(m), err)
	}
	return m, nil
}

// PutMessage upserts m as a record of its own type.
func (c *Client) PutMessage(ctx context.Context, appID string, m proto.Message) error {
	data, err := proto.Marshal(m)
	if err != nil {
		return fmt.Errorf("webaas: encode %s: %w", SchemaName(m), err)
	}
	return c.Put(ctx, appID, SchemaName(m), data)
}

// PutMessage buffers an upsert of m in the transaction.
func (t *Txn) PutMessage(ctx context.Context, appID string, m proto.Message) error {
	data, err := proto.Marshal(m)
	if err != nil {
		return fmt.Errorf("webaas: encode %s: %w", SchemaName(m), err)
	}
	return t.Put(ctx, appID, SchemaName(m), data)
}

// GetMessage reads the record of type T with that key.
func GetMessage[T any, P Message[T]](ctx context.Context, c *Client, appID, key string) (P, error) {
	data, err := c.Get(ctx, appID, SchemaName(P(new(T))), key)
	if err != nil {
		return nil, err
	}
	return decode[T, P](data)
}

// TxnGetMessage reads the record of type T with that key inside t.
func TxnGetMessage[T any, P Message[T]](ctx context.Context, t *Txn, appID, key string) (P, error) {
	data, err := t.Get(ctx, appID, SchemaName(P(new(T))), key)
	if err != nil {
		return nil, err
	}
	return decode[T, P](data)
}

// RangeMessages reads page iteration of the records of type T with
// begin <= key < end.
func RangeMessages[T any, P Message[T]](ctx context.Context, c *Client, appID, begin, end string, iteration int) ([]P, bool, error) {
	recs, more, err := c.RangePage(ctx, appID, SchemaName(P(new(T))), begin, end, iteration)
	if err != nil {
		return nil, false, err
	}
	out := make([]P, 0, len(recs))
	for _, r := range recs {
		m, err := decode[T, P](r)
		if err != nil {
			return nil, false, err
		}
		out = append(out, m)
	}
	return out, more, nil
}
