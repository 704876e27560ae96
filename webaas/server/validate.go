package server

// A record body must parse as its type, every declared field with the wire type it was declared with.

import (
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// unmarshalRecord decodes a record body. The reflection-based decoder that
// dynamic messages go through can panic on malformed input (protobuf-go
// 1.36: a map entry whose key field comes again with another wire type):
// that is a body that does not parse, not a server fault.
func unmarshalRecord(body []byte, m proto.Message) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("proto: cannot parse invalid wire-format data (%v)", p)
		}
	}()
	return proto.Unmarshal(body, m)
}

// misfit finds a field that m's type declares but that proto.Unmarshal
// kept among the unknown fields, in m or in any message inside it. That
// happens when the field came with a wire type that does not fit it (a
// string where an int is: typically a record of another type) or, for a
// closed enum, with a value the enum does not have. Either way the body
// does not parse as the type, and storing it would drop the field, or, for
// the primary key, file the record under the default key.
func misfit(m protoreflect.Message) error {
	fields := m.Descriptor().Fields()
	for b := m.GetUnknown(); len(b) > 0; {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return protowire.ParseError(n)
		}
		if fd := fields.ByNumber(num); fd != nil {
			return fmt.Errorf("field %s (number %d) is %s but arrived as %s, or with a value its type does not allow", fd.FullName(), num, fd.Kind(), wireTypeName(typ))
		}
		v := protowire.ConsumeFieldValue(num, typ, b[n:])
		if v < 0 {
			return protowire.ParseError(v)
		}
		b = b[n+v:]
	}
	var err error
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsMap():
			if fd.MapValue().Message() != nil {
				v.Map().Range(func(_ protoreflect.MapKey, mv protoreflect.Value) bool {
					err = misfit(mv.Message())
					return err == nil
				})
			}
		case fd.Message() == nil:
		case fd.IsList():
			for i, l := 0, v.List(); i < l.Len() && err == nil; i++ {
				err = misfit(l.Get(i).Message())
			}
		default:
			err = misfit(v.Message())
		}
		return err == nil
	})
	return err
}

func wireTypeName(t protowire.Type) string {
	switch t {
	case protowire.VarintType:
		return "a varint"
	case protowire.Fixed32Type:
		return "a fixed32"
	case protowire.Fixed64Type:
		return "a fixed64"
	case protowire.BytesType:
		return "length-delimited bytes"
	case protowire.StartGroupType:
		return "a group"
	}
	return fmt.Sprintf("wire type %d", t)
}
