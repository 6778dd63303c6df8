package sdk_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/sluicehq/sluice/sdk"
	"github.com/sluicehq/sluice/sdk/sdktest"
)

// vowels classifies lines by their first vowel. Its state (the vowels to
// look for) is built once, in Init, from the stage's config.
type vowels struct {
	set string
}

func (v *vowels) Init(_ context.Context, req *sdk.InitRequest) (*sdk.InitResponse, error) {
	var cfg struct {
		Vowels string `json:"vowels"`
	}
	if err := req.DecodeConfig(&cfg); err != nil {
		return nil, err
	}
	v.set = cfg.Vowels
	return nil, nil
}

func (v *vowels) Classify(_ context.Context, req *sdk.ClassifyRequest) (*sdk.ClassifyResponse, error) {
	resp := &sdk.ClassifyResponse{Results: make([]sdk.Result, len(req.Records))}
	for i, r := range req.Records {
		j := strings.IndexAny(string(r.Data), v.set)
		if j < 0 {
			resp.Results[i].Err = fmt.Errorf("no vowel in %q", r.Data)
			continue
		}
		resp.Results[i].Category = string(r.Data[j])
	}
	return resp, nil
}

// A plugin is a Classifier, optionally with Init, served by sdk.Serve from
// main. Here sdktest serves it in process, over gRPC, to show what sluice
// would get back.
func Example() {
	plugin := sdk.Plugin{Name: "vowels", Accepts: []sdk.Kind{sdk.Line}, Classifier: &vowels{}}
	// In the plugin's main: sdk.Serve(plugin)

	c, err := sdktest.Start(plugin)
	if err != nil {
		panic(err)
	}
	defer c.Close()
	ctx := context.Background()
	if err := c.Init(ctx, map[string]any{"vowels": "aeiou"}); err != nil {
		panic(err)
	}
	res, err := c.Classify(ctx, []sdk.Record{
		{Kind: sdk.Line, Data: []byte("sluice")},
		{Kind: sdk.Line, Data: []byte("rhythm")},
		{Kind: sdk.Line, Data: []byte("pipeline")},
	})
	if err != nil {
		panic(err)
	}
	for _, r := range res {
		fmt.Println(r.Category, r.Err)
	}
	// Output:
	// u <nil>
	//  no vowel in "rhythm"
	// i <nil>
}

// RecordFunc turns a function of one record into a Classifier.
func ExampleRecordFunc() {
	upper := sdk.RecordFunc(func(_ context.Context, r *sdk.Record) (sdk.Result, error) {
		return sdk.Result{Category: strings.ToUpper(string(r.Data))}, nil
	})
	resp, _ := upper.Classify(context.Background(), &sdk.ClassifyRequest{Records: []sdk.Record{{Data: []byte("a")}, {Data: []byte("b")}}})
	fmt.Println(resp.Results[0].Category, resp.Results[1].Category)
	// Output: A B
}

// XMLReader reads attributes and text anywhere in a record by path, and
// iterates over repeated elements.
func ExampleXMLReader() {
	var xr sdk.XMLReader // one per Classify call: it reuses its buffers
	rec, err := xr.Read([]byte(`<record type="book">
  <published year="1999" place="Paris"/>
  <authors><author id="a1">Ann</author><author id="a2">B&#233;a</author></authors>
</record>`))
	if err != nil {
		panic(err)
	}
	typ, _, _ := rec.Attr("type")
	place, _, _ := rec.Text("published/@place")
	fmt.Println(typ, place)
	for author, err := range rec.Each("authors/author") {
		if err != nil {
			panic(err)
		}
		id, _, _ := author.Attr("id")
		name, _, _ := author.Text(".")
		fmt.Println(id, name)
	}
	_, _, err = rec.Text("authors/author[2]")
	fmt.Println(err != nil)
	// Output:
	// book Paris
	// a1 Ann
	// a2 Béa
	// true
}
