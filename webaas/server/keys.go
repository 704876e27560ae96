package server

import (
	"encoding/binary"
	"fmt"
	"strconv"

	"google.golang.org/protobuf/reflect/protoreflect"
)

// A keyCodec turns primary keys between the text clients write, the field
// value inside a record, and the bytes the store orders. Encoded keys sort
// in the key type's order: integers numerically ("9" < "10"), strings and
// bytes bytewise. Every encoding starts with a tag byte, so the empty string
// (a valid proto3 key) still has a non-empty encoding.
type keyCodec struct {
	kind protoreflect.Kind
}

const (
	tagSigned   = 'i'
	tagUnsigned = 'u'
	tagBool     = 'b'
	tagString   = 's'
)

// keyKindOK reports whether a field of kind k can be a primary key, and
// if not, why.
func keyKindOK(fd protoreflect.FieldDescriptor) error {
	if fd.Cardinality() == protoreflect.Repeated {
		return fmt.Errorf("primary key field %s is repeated", fd.Name())
	}
	switch fd.Kind() {
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind,
		protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind,
		protoreflect.EnumKind,
		protoreflect.Uint32Kind, protoreflect.Fixed32Kind, protoreflect.Uint64Kind, protoreflect.Fixed64Kind,
		protoreflect.BoolKind, protoreflect.StringKind, protoreflect.BytesKind:
		return nil
	}
	return fmt.Errorf("primary key field %s has type %s; a key must be an integer, bool, string or bytes", fd.Name(), fd.Kind())
}

func is32(k protoreflect.Kind) bool {
	switch k {
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind, protoreflect.EnumKind,
		protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		return true
	}
	return false
}

func (c keyCodec) signed() bool {
	switch c.kind {
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind,
		protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind, protoreflect.EnumKind:
		return true
	}
	return false
}

func (c keyCodec) unsigned() bool {
	switch c.kind {
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind, protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return true
	}
	return false
}

func encodeSigned(v int64) []byte {
	out := make([]byte, 9)
	out[0] = tagSigned
	binary.BigEndian.PutUint64(out[1:], uint64(v)^(1<<63)) // flip the sign bit: negatives sort first
	return out
}

func encodeUnsigned(v uint64) []byte {
	out := make([]byte, 9)
	out[0] = tagUnsigned
	binary.BigEndian.PutUint64(out[1:], v)
	return out
}

func encodeBool(v bool) []byte {
	if v {
		return []byte{tagBool, 1}
	}
	return []byte{tagBool, 0}
}

func encodeString(s string) []byte {
	return append([]byte{tagString}, s...)
}

// parse turns a text key into its encoding and canonical text ("007" is 7).
func (c keyCodec) parse(text string) (enc []byte, canonical string, err error) {
	bits := 64
	if is32(c.kind) {
		bits = 32
	}
	switch {
	case c.signed():
		v, err := strconv.ParseInt(text, 10, bits)
		if err != nil {
			return nil, "", fmt.Errorf("key %q is not a %d-bit integer", text, bits)
		}
		return encodeSigned(v), strconv.FormatInt(v, 10), nil
	case c.unsigned():
		v, err := strconv.ParseUint(text, 10, bits)
		if err != nil {
			return nil, "", fmt.Errorf("key %q is not an unsigned %d-bit integer", text, bits)
		}
		return encodeUnsigned(v), strconv.FormatUint(v, 10), nil
	case c.kind == protoreflect.BoolKind:
		v, err := strconv.ParseBool(text)
		if err != nil {
			return nil, "", fmt.Errorf("key %q is not a bool (true or false)", text)
		}
		return encodeBool(v), strconv.FormatBool(v), nil
	default: // string, bytes
		return encodeString(text), text, nil
	}
}

// fromValue encodes the key field's value as found in a record.
func (c keyCodec) fromValue(v protoreflect.Value) (enc []byte, text string) {
	switch {
	case c.kind == protoreflect.EnumKind:
		n := int64(v.Enum())
		return encodeSigned(n), strconv.FormatInt(n, 10)
	case c.signed():
		n := v.Int()
		return encodeSigned(n), strconv.FormatInt(n, 10)
	case c.unsigned():
		n := v.Uint()
		return encodeUnsigned(n), strconv.FormatUint(n, 10)
	case c.kind == protoreflect.BoolKind:
		return encodeBool(v.Bool()), strconv.FormatBool(v.Bool())
	case c.kind == protoreflect.BytesKind:
		return encodeString(string(v.Bytes())), string(v.Bytes())
	default:
		return encodeString(v.String()), v.String()
	}
}
