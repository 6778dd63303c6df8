// Package sdktest tests a classifier plugin in process, over real gRPC, with
// the same protocol and record encoding sluice uses, so that a plugin's own
// `go test` catches what would otherwise show up only in a pipeline run.
//
// Conformance checks a plugin against the contract (one answer per record,
// answers independent of batching, several batches in flight, Init and
// Shutdown); Serve and Start give a Client to write tests of your own:
//
//	func TestConformance(t *testing.T) {
//		sdktest.Conformance(t, newPlugin(), sdktest.Options{
//			Config:  map[string]any{"spec": "testdata/spec.json"},
//			Records: sampleRecords,
//		})
//	}
//
// Test on the records the plugin will see: CSVRecords and XMLRecords read
// a test file into the records sluice's split stage emits for it (Data,
// Fields, Header, carried namespace declarations, positions), checked
// against split itself by a test of the engine. Conformance rejects
// hand-built records that sluice would never send (CheckRecord), such as
// a CSV record without Data:
//
//	recs, err := sdktest.CSVRecords("testdata/sample.csv", sdktest.CSVOptions{})
//	...
//	sdktest.Conformance(t, newPlugin(), sdktest.Options{Records: recs})
//
// Nothing here starts a process: a crash in the classifier crashes the test
// binary, as it should.
package sdktest
