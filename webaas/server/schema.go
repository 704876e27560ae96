package server

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/bufbuild/protocompile"
	"github.com/bufbuild/protocompile/reporter"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/webaas-chat/webaas-chat/wire"
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
		return nil, errorf(wire.CodeUnknownSchema, "no files uploaded for this version")
	}
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if line, col := tooDeep(files[name], maxSchemaNesting); line > 0 {
			return nil, errorf(wire.CodeSchemaCompile, "schema does not compile: %s:%d:%d: brackets nest more than %d deep", name, line, col, maxSchemaNesting)
		}
	}
	accessor := func(path string) (io.ReadCloser, error) {
		if text, ok := files[path]; ok {
			return io.NopCloser(strings.NewReader(string(text))), nil
		}
		if path == recordOptionsFile {
			return io.NopCloser(strings.NewReader(wire.RecordMetadataOptions)), nil
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
		return nil, errorf(wire.CodeSchemaCompile, "schema does not compile: %v", err)
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
