package wirecodec

import (
	"errors"
	"fmt"
	"unicode/utf8"

	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/sluicehq/sluice/sdk/internal/pluginpb"
)

// Codec returns the gRPC codec both sides of the Classify stream use: the
// standard protobuf codec, except that ClassifyResponse is encoded and
// decoded by hand, and ClassifyRequest decoded by hand. The bytes on the
// wire are the same protobuf either way (a plugin in another language sees
// no difference); what changes is the cost. Each result carries a labels
// map, and the generated code encodes and decodes map fields through
// reflection, which cost more than the whole rest of a batch's round trip
// (a third of a Go plugin's CPU time on the reference job); and a decoded
// request's records refer to the received message instead of each getting
// a copy of its data. Every other message goes to the standard codec.
//
// The hand-written code knows every field of the messages it handles; a
// test fails when the protocol gains a field it does not know.
func Codec() encoding.CodecV2 { return codec{} }

type codec struct{}

// Name is the standard codec's: the content type stays application/grpc+proto.
func (codec) Name() string { return "proto" }

func (codec) Marshal(v any) (mem.BufferSlice, error) {
	if m, ok := v.(*pluginpb.ClassifyResponse); ok {
		if err := checkResponse(m); err != nil {
			return nil, err
		}
		b := make([]byte, 0, sizeResponse(m))
		return mem.BufferSlice{mem.SliceBuffer(appendResponse(b, m))}, nil
	}
	return encoding.GetCodecV2("proto").Marshal(v)
}

func (codec) Unmarshal(data mem.BufferSlice, v any) error {
	switch m := v.(type) {
	case *pluginpb.ClassifyResponse:
		return unmarshalResponse(data.Materialize(), m)
	case *pluginpb.ClassifyRequest:
		return unmarshalRequest(data.Materialize(), m)
	}
	return encoding.GetCodecV2("proto").Unmarshal(data, v)
}

// The field numbers of ClassifyResponse and Result (classifier.proto).
const (
	responseSeq     = 1
	responseResults = 2
	responseError   = 3

	resultCategory = 1
	resultLabels   = 2
	resultError    = 3

	mapKey   = 1
	mapValue = 2

	requestSeq     = 1
	requestRecords = 2
	requestHeaders = 3
	requestFiles   = 4
	requestShmOff  = 5
	requestShmLen  = 6

	headerNames = 1

	recordKind     = 1
	recordData     = 2
	recordHeader   = 3
	recordFields   = 4
	recordFile     = 5
	recordOffset   = 6
	recordLine     = 7
	recordOrdinal  = 8
	recordCategory = 9
	recordLabels   = 10
)

func sizeString(num protowire.Number, s string) int {
	if s == "" {
		return 0
	}
	return protowire.SizeTag(num) + protowire.SizeBytes(len(s))
}

func appendString(b []byte, num protowire.Number, s string) []byte {
	if s == "" {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendString(b, s)
}

// sizeEntry is the size of a map entry's message (key and value are always
// written, as the generated code does).
func sizeEntry(k, v string) int {
	return protowire.SizeTag(mapKey) + protowire.SizeBytes(len(k)) + protowire.SizeTag(mapValue) + protowire.SizeBytes(len(v))
}

func sizeResult(r *pluginpb.Result) int {
	n := sizeString(resultCategory, r.GetCategory()) + sizeString(resultError, r.GetError())
	for k, v := range r.GetLabels() {
		n += protowire.SizeTag(resultLabels) + protowire.SizeBytes(sizeEntry(k, v))
	}
	return n
}

func sizeResponse(m *pluginpb.ClassifyResponse) int {
	n := 0
	if m.GetSeq() != 0 {
		n += protowire.SizeTag(responseSeq) + protowire.SizeVarint(m.GetSeq())
	}
	for _, r := range m.GetResults() {
		n += protowire.SizeTag(responseResults) + protowire.SizeBytes(sizeResult(r))
	}
	return n + sizeString(responseError, m.GetError())
}

// checkResponse fails as the generated code does on a string that is not
// valid UTF-8, which protobuf's string fields must be.
func checkResponse(m *pluginpb.ClassifyResponse) error {
	ok := utf8.ValidString(m.GetError())
	for _, r := range m.GetResults() {
		ok = ok && utf8.ValidString(r.GetCategory()) && utf8.ValidString(r.GetError())
		for k, v := range r.GetLabels() {
			ok = ok && utf8.ValidString(k) && utf8.ValidString(v)
		}
	}
	if !ok {
		return errInvalidUTF8
	}
	return nil
}

var errInvalidUTF8 = errors.New("string field contains invalid UTF-8")

func appendResponse(b []byte, m *pluginpb.ClassifyResponse) []byte {
	if m.GetSeq() != 0 {
		b = protowire.AppendTag(b, responseSeq, protowire.VarintType)
		b = protowire.AppendVarint(b, m.GetSeq())
	}
	for _, r := range m.GetResults() {
		b = protowire.AppendTag(b, responseResults, protowire.BytesType)
		b = protowire.AppendVarint(b, uint64(sizeResult(r)))
		b = appendString(b, resultCategory, r.GetCategory())
		for k, v := range r.GetLabels() {
			b = appendEntry(b, resultLabels, k, v)
		}
		b = appendString(b, resultError, r.GetError())
	}
	return appendString(b, responseError, m.GetError())
}

// appendEntry appends one entry of the map<string, string> field num.
func appendEntry(b []byte, num protowire.Number, k, v string) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(sizeEntry(k, v)))
	b = protowire.AppendTag(b, mapKey, protowire.BytesType)
	b = protowire.AppendString(b, k)
	b = protowire.AppendTag(b, mapValue, protowire.BytesType)
	return protowire.AppendString(b, v)
}

// field is one field read from an encoded message.
type field struct {
	num protowire.Number
	typ protowire.Type
	v   uint64 // a varint's value
	b   []byte // a length-delimited field's bytes
}

// next reads the first field of b and returns the rest of b. Fields of
// other wire types are skipped (their value is not kept).
func next(b []byte) (field, []byte, error) {
	num, typ, n := protowire.ConsumeTag(b)
	if n < 0 {
		return field{}, nil, protowire.ParseError(n)
	}
	b = b[n:]
	f := field{num: num, typ: typ}
	switch typ {
	case protowire.VarintType:
		f.v, n = protowire.ConsumeVarint(b)
	case protowire.BytesType:
		f.b, n = protowire.ConsumeBytes(b)
	default:
		n = protowire.ConsumeFieldValue(num, typ, b)
	}
	if n < 0 {
		return field{}, nil, protowire.ParseError(n)
	}
	return f, b[n:], nil
}

// interner hands out one string per distinct short value of a message:
// categories, label names and most label values repeat from record to
// record, so they are allocated once per batch rather than once per record.
type interner map[string]string

// str returns b as a string, checking that it is valid UTF-8 (once per
// distinct value).
func (in interner) str(b []byte) (string, error) {
	if len(b) > 64 {
		return checked(b)
	}
	if s, ok := in[string(b)]; ok { // no allocation for the lookup
		return s, nil
	}
	s, err := checked(b)
	if err == nil && len(in) < 4096 {
		in[s] = s
	}
	return s, err
}

func checked(b []byte) (string, error) {
	if !utf8.Valid(b) {
		return "", errInvalidUTF8
	}
	return string(b), nil
}

// unmarshalResponse decodes b into m as proto.Unmarshal would, except that
// unknown fields are dropped rather than kept.
func unmarshalResponse(b []byte, m *pluginpb.ClassifyResponse) error {
	m.Reset()
	// First count the results, to allocate them in one slab.
	count := 0
	for rest := b; len(rest) > 0; {
		f, r, err := next(rest)
		if err != nil {
			return fmt.Errorf("decoding ClassifyResponse: %w", err)
		}
		if f.num == responseResults && f.typ == protowire.BytesType {
			count++
		}
		rest = r
	}
	if count > 0 {
		m.Results = make([]*pluginpb.Result, 0, count)
	}
	slab := make([]pluginpb.Result, count)
	in := interner{}
	for len(b) > 0 {
		f, rest, err := next(b)
		if err != nil {
			return fmt.Errorf("decoding ClassifyResponse: %w", err)
		}
		b = rest
		switch {
		case f.num == responseSeq && f.typ == protowire.VarintType:
			m.Seq = f.v
		case f.num == responseResults && f.typ == protowire.BytesType:
			r := &slab[len(m.Results)]
			if err := unmarshalResult(f.b, r, in); err != nil {
				return fmt.Errorf("decoding ClassifyResponse: result %d: %w", len(m.Results), err)
			}
			m.Results = append(m.Results, r)
		case f.num == responseError && f.typ == protowire.BytesType:
			if m.Error, err = checked(f.b); err != nil {
				return fmt.Errorf("decoding ClassifyResponse: error: %w", err)
			}
		}
	}
	return nil
}

func unmarshalResult(b []byte, r *pluginpb.Result, in interner) error {
	for len(b) > 0 {
		f, rest, err := next(b)
		if err != nil {
			return err
		}
		b = rest
		if f.typ != protowire.BytesType {
			continue
		}
		switch f.num {
		case resultCategory:
			if r.Category, err = in.str(f.b); err != nil {
				return fmt.Errorf("category: %w", err)
			}
		case resultError:
			if r.Error, err = checked(f.b); err != nil {
				return fmt.Errorf("error: %w", err)
			}
		case resultLabels:
			if r.Labels == nil {
				r.Labels = make(map[string]string, 4)
			}
			if err := unmarshalEntry(f.b, r.Labels, in); err != nil {
				return err
			}
		}
	}
	return nil
}

// unmarshalRequest decodes b into m as proto.Unmarshal would, except that
// unknown fields are dropped and that each record's Data is a slice of b
// rather than a copy: b is the request's own buffer, not reused, so the
// records stay valid as long as m is referenced.
func unmarshalRequest(b []byte, m *pluginpb.ClassifyRequest) error {
	m.Reset()
	count := 0
	for rest := b; len(rest) > 0; {
		f, r, err := next(rest)
		if err != nil {
			return fmt.Errorf("decoding ClassifyRequest: %w", err)
		}
		if f.num == requestRecords && f.typ == protowire.BytesType {
			count++
		}
		rest = r
	}
	if count > 0 {
		m.Records = make([]*pluginpb.Record, 0, count)
	}
	slab := make([]pluginpb.Record, count)
	in := interner{}
	for len(b) > 0 {
		f, rest, err := next(b)
		if err != nil {
			return fmt.Errorf("decoding ClassifyRequest: %w", err)
		}
		b = rest
		switch {
		case f.num == requestSeq && f.typ == protowire.VarintType:
			m.Seq = f.v
		case f.num == requestShmOff && f.typ == protowire.VarintType:
			m.ShmOffset = f.v
		case f.num == requestShmLen && f.typ == protowire.VarintType:
			m.ShmLength = f.v
		case f.num == requestRecords && f.typ == protowire.BytesType:
			r := &slab[len(m.Records)]
			if err := unmarshalRecord(f.b, r, in); err != nil {
				return fmt.Errorf("decoding ClassifyRequest: record %d: %w", len(m.Records), err)
			}
			m.Records = append(m.Records, r)
		case f.num == requestHeaders && f.typ == protowire.BytesType:
			h := &pluginpb.Header{}
			for e := f.b; len(e) > 0; {
				ef, rest, err := next(e)
				if err != nil {
					return fmt.Errorf("decoding ClassifyRequest: header: %w", err)
				}
				e = rest
				if ef.num == headerNames && ef.typ == protowire.BytesType {
					name, err := in.str(ef.b)
					if err != nil {
						return fmt.Errorf("decoding ClassifyRequest: header: %w", err)
					}
					h.Names = append(h.Names, name)
				}
			}
			m.Headers = append(m.Headers, h)
		case f.num == requestFiles && f.typ == protowire.BytesType:
			file, err := checked(f.b)
			if err != nil {
				return fmt.Errorf("decoding ClassifyRequest: file: %w", err)
			}
			m.Files = append(m.Files, file)
		}
	}
	return nil
}

func unmarshalRecord(b []byte, r *pluginpb.Record, in interner) error {
	for len(b) > 0 {
		f, rest, err := next(b)
		if err != nil {
			return err
		}
		b = rest
		if f.typ == protowire.VarintType {
			switch f.num {
			case recordKind:
				r.Kind = pluginpb.Kind(int32(f.v))
			case recordHeader:
				r.Header = uint32(f.v)
			case recordFile:
				r.File = uint32(f.v)
			case recordOffset:
				r.Offset = int64(f.v)
			case recordLine:
				r.Line = int64(f.v)
			case recordOrdinal:
				r.Ordinal = int64(f.v)
			}
			continue
		}
		if f.typ != protowire.BytesType {
			continue
		}
		switch f.num {
		case recordData:
			r.Data = f.b[:len(f.b):len(f.b)]
		case recordFields:
			v, err := checked(f.b)
			if err != nil {
				return fmt.Errorf("field: %w", err)
			}
			r.Fields = append(r.Fields, v)
		case recordCategory:
			if r.Category, err = in.str(f.b); err != nil {
				return fmt.Errorf("category: %w", err)
			}
		case recordLabels:
			if r.Labels == nil {
				r.Labels = make(map[string]string, 4)
			}
			if err := unmarshalEntry(f.b, r.Labels, in); err != nil {
				return err
			}
		}
	}
	return nil
}

// unmarshalEntry decodes one map<string, string> entry into m.
func unmarshalEntry(b []byte, m map[string]string, in interner) error {
	var k, v string
	for len(b) > 0 {
		f, rest, err := next(b)
		if err != nil {
			return fmt.Errorf("label: %w", err)
		}
		b = rest
		switch {
		case f.num == mapKey && f.typ == protowire.BytesType:
			k, err = in.str(f.b)
		case f.num == mapValue && f.typ == protowire.BytesType:
			v, err = in.str(f.b)
		}
		if err != nil {
			return fmt.Errorf("label: %w", err)
		}
	}
	m[k] = v
	return nil
}
