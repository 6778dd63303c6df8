package count_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	stagepkg "github.com/sluicehq/sluice/stage"
	"github.com/sluicehq/sluice/stage/stagetest"
	"github.com/sluicehq/sluice/stages/count"
)

var catalogue = []stagepkg.Record{
	{Type: stagepkg.XML, Category: "book", Data: []byte(`<record type="book" lang="en"><title xml:lang="en">A</title></record>`)},
	{Type: stagepkg.XML, Category: "book", Data: []byte(`<record type="book" lang="fr"><title>B</title></record>`)},
	{Type: stagepkg.XML, Category: "map", Data: []byte(`<record type="map" lang="en"/>`)},
}

// Records counted per category and language, written as CSV.
func Example() {
	dir, err := os.MkdirTemp("", "count-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	output := filepath.Join(dir, "languages.csv")

	stage, err := count.Kind().Build(&count.Options{
		By:     []string{"category", `attr("lang") ?? "none"`},
		Names:  []string{"category", "lang"},
		Output: output,
	})
	if err != nil {
		log.Fatal(err)
	}
	if _, err := stagetest.Run(context.Background(), stage, catalogue, stagetest.Options{}); err != nil {
		log.Fatal(err)
	}
	out, err := os.ReadFile(output)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(string(out))
	// Output:
	// category,lang,count
	// book,en,1
	// book,fr,1
	// map,en,1
}

// Every (element, attribute, value) of the records, as nested JSON; the
// namespaced xml:lang is written in Clark notation.
func Example_attributes() {
	dir, err := os.MkdirTemp("", "count-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	output := filepath.Join(dir, "attributes.json")

	stage, err := count.Kind().Build(&count.Options{Attributes: true, Output: output})
	if err != nil {
		log.Fatal(err)
	}
	if _, err := stagetest.Run(context.Background(), stage, catalogue, stagetest.Options{}); err != nil {
		log.Fatal(err)
	}
	out, err := os.ReadFile(output)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(string(out))
	// Output:
	// {
	//   "records": 3,
	//   "attributes": {
	//     "record": {
	//       "lang": {
	//         "en": 2,
	//         "fr": 1
	//       },
	//       "type": {
	//         "book": 2,
	//         "map": 1
	//       }
	//     },
	//     "title": {
	//       "{http://www.w3.org/XML/1998/namespace}lang": {
	//         "en": 1
	//       }
	//     }
	//   }
	// }
}
