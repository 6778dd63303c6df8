package wirecodec

import (
	"errors"
	"fmt"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/sluicehq/sluice/sdk/internal/pluginpb"
)

// SharedSize returns the size of m's body as AppendShared encodes
// it, and false when the body cannot be placed in shared memory: a string
// that protobuf's string fields do not allow (not valid UTF-8), which the
// socket's encoder reports as an error instead.
func SharedSize(m *pluginpb.ClassifyRequest) (int, bool) {
	n := 0
	for _, r := range m.GetRecords() {
		if !validRecord(r) {
			return 0, false
		}
		n += protowire.SizeTag(requestRecords) + protowire.SizeBytes(sizeRecord(r))
	}
	for _, h := range m.GetHeaders() {
		if !validStrings(h.GetNames()) {
			return 0, false
		}
		n += protowire.SizeTag(requestHeaders) + protowire.SizeBytes(sizeHeader(h))
	}
	if !validStrings(m.GetFiles()) {
		return 0, false
	}
	for _, f := range m.GetFiles() {
		n += protowire.SizeTag(requestFiles) + protowire.SizeBytes(len(f))
	}
	return n, true
}

// AppendShared appends m's body to dst, encoded as a
// ClassifyRequest without seq, and returns the extended slice. Call it only
// after SharedSize said the body can be encoded.
func AppendShared(dst []byte, m *pluginpb.ClassifyRequest) []byte {
	for _, r := range m.GetRecords() {
		dst = protowire.AppendTag(dst, requestRecords, protowire.BytesType)
		dst = protowire.AppendVarint(dst, uint64(sizeRecord(r)))
		dst = appendRecord(dst, r)
	}
	for _, h := range m.GetHeaders() {
		dst = protowire.AppendTag(dst, requestHeaders, protowire.BytesType)
		dst = protowire.AppendVarint(dst, uint64(sizeHeader(h)))
		for _, name := range h.GetNames() {
			dst = protowire.AppendTag(dst, headerNames, protowire.BytesType)
			dst = protowire.AppendString(dst, name)
		}
	}
	for _, f := range m.GetFiles() {
		dst = protowire.AppendTag(dst, requestFiles, protowire.BytesType)
		dst = protowire.AppendString(dst, f)
	}
	return dst
}

func sizeVarint(num protowire.Number, v uint64) int {
	if v == 0 {
		return 0
	}
	return protowire.SizeTag(num) + protowire.SizeVarint(v)
}

func appendVarint(b []byte, num protowire.Number, v uint64) []byte {
	if v == 0 {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, v)
}

// validRecord reports whether every string of r is valid UTF-8, as
// protobuf's string fields must be.
func validRecord(r *pluginpb.Record) bool {
	if !utf8.ValidString(r.GetCategory()) || !validStrings(r.GetFields()) {
		return false
	}
	for k, v := range r.GetLabels() {
		if !utf8.ValidString(k) || !utf8.ValidString(v) {
			return false
		}
	}
	return true
}

func validStrings(ss []string) bool {
	for _, s := range ss {
		if !utf8.ValidString(s) {
			return false
		}
	}
	return true
}

// sizeHeader is the encoded size of h.
func sizeHeader(h *pluginpb.Header) int {
	n := 0
	for _, name := range h.GetNames() {
		n += protowire.SizeTag(headerNames) + protowire.SizeBytes(len(name))
	}
	return n
}

// sizeRecord is the encoded size of r.
func sizeRecord(r *pluginpb.Record) int {
	n := sizeVarint(recordKind, uint64(r.GetKind())) +
		sizeVarint(recordHeader, uint64(r.GetHeader())) +
		sizeVarint(recordFile, uint64(r.GetFile())) +
		sizeVarint(recordOffset, uint64(r.GetOffset())) +
		sizeVarint(recordLine, uint64(r.GetLine())) +
		sizeVarint(recordOrdinal, uint64(r.GetOrdinal())) +
		sizeString(recordCategory, r.GetCategory())
	if len(r.GetData()) > 0 {
		n += protowire.SizeTag(recordData) + protowire.SizeBytes(len(r.GetData()))
	}
	for _, f := range r.GetFields() {
		n += protowire.SizeTag(recordFields) + protowire.SizeBytes(len(f))
	}
	for k, v := range r.GetLabels() {
		n += protowire.SizeTag(recordLabels) + protowire.SizeBytes(sizeEntry(k, v))
	}
	return n
}

// appendRecord encodes r as the generated code does, fields in number
// order.
func appendRecord(b []byte, r *pluginpb.Record) []byte {
	b = appendVarint(b, recordKind, uint64(r.GetKind()))
	if d := r.GetData(); len(d) > 0 {
		b = protowire.AppendTag(b, recordData, protowire.BytesType)
		b = protowire.AppendBytes(b, d)
	}
	b = appendVarint(b, recordHeader, uint64(r.GetHeader()))
	for _, f := range r.GetFields() {
		b = protowire.AppendTag(b, recordFields, protowire.BytesType)
		b = protowire.AppendString(b, f)
	}
	b = appendVarint(b, recordFile, uint64(r.GetFile()))
	b = appendVarint(b, recordOffset, uint64(r.GetOffset()))
	b = appendVarint(b, recordLine, uint64(r.GetLine()))
	b = appendVarint(b, recordOrdinal, uint64(r.GetOrdinal()))
	b = appendString(b, recordCategory, r.GetCategory())
	for k, v := range r.GetLabels() {
		b = appendEntry(b, recordLabels, k, v)
	}
	return b
}

// errNoSharedMemory is what a plugin answers when a request points into
// shared memory it has not mapped.
var errNoSharedMemory = errors.New("the request's records are in shared memory, but the plugin has none mapped")

// ReadShared returns the request that req stands for, for the plugin's
// side: req itself when its body came in the message, or else the body read
// from shared (the plugin's mapping of the shared memory). The records of
// the result refer to a private copy of those bytes, so they stay valid
// after the host reuses the memory.
func ReadShared(req *pluginpb.ClassifyRequest, shared []byte) (*pluginpb.ClassifyRequest, error) {
	n := req.GetShmLength()
	if n == 0 {
		return req, nil
	}
	off := req.GetShmOffset()
	switch {
	case shared == nil:
		return nil, errNoSharedMemory
	case off > uint64(len(shared)) || n > uint64(len(shared))-off:
		return nil, fmt.Errorf("the request's records are at bytes %d to %d of shared memory, which has %d", off, off+n, len(shared))
	}
	body := make([]byte, n)
	copy(body, shared[off:off+n])
	out := &pluginpb.ClassifyRequest{}
	if err := unmarshalRequest(body, out); err != nil {
		return nil, fmt.Errorf("in shared memory: %w", err)
	}
	out.Seq = req.GetSeq()
	out.ShmOffset, out.ShmLength = 0, 0
	return out, nil
}
