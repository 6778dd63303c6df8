package write_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/sluicehq/sluice/stage"
	"github.com/sluicehq/sluice/stage/stagetest"
	"github.com/sluicehq/sluice/stages/write"
)

// Example routes records to one file per category. The hostile category
// "../etc" stays inside the output directory, and Outputs says where it
// went.
func Example() {
	tmp, err := os.MkdirTemp("", "write-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(tmp)

	opts := write.DefaultOptions()
	opts.Dir = filepath.Join(tmp, "sorted")
	w, err := write.New(opts)
	if err != nil {
		panic(err)
	}
	records := []stage.Record{
		{Type: stage.XML, Category: "book/plain", Data: []byte(`<record id="1"/>`)},
		{Type: stage.XML, Category: "../etc", Data: []byte(`<record id="2"/>`)},
		{Type: stage.XML, Category: "book/plain", Data: []byte(`<record id="3"/>`)},
	}
	if _, err := stagetest.Run(context.Background(), w, records, stagetest.Options{}); err != nil {
		panic(err)
	}
	for _, o := range w.Outputs() {
		fmt.Printf("%s: %d records", filepath.Base(o.Path), o.Records)
		if o.Note != "" {
			fmt.Printf(" (%s)", o.Note)
		}
		fmt.Println()
	}
	b, _ := os.ReadFile(filepath.Join(opts.Dir, "book__plain.xml"))
	fmt.Print(string(b))
	// Output:
	// %2E.__etc.xml: 1 records (category "../etc" written as "%2E.__etc.xml")
	// book__plain.xml: 2 records
	// <?xml version="1.0" encoding="UTF-8"?>
	// <records category="book/plain">
	// <record id="1"/>
	// <record id="3"/>
	// </records>
}
