package sdk_test

import (
	"encoding/xml"
	"fmt"
	"testing"

	"github.com/sluicehq/sluice/sdk"
)

// catalogueRecords returns n records shaped like the W1 corpus's, as split
// emits them.
func catalogueRecords(n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = fmt.Appendf(nil, `<record id="r%08d" type="article" lang="en" status="active">
    <title>Stone Stra&#223;e Music %d</title>
    <authors>
      <author role="aut" key="p001952">Okafor, Hans</author>
      <author role="edt" key="p003003">Garc&#237;a, Yuki</author>
    </authors>
    <subjects>
      <subject scheme="mesh" code="me00895">Film -- Europe</subject>
    </subjects>
    <published year="%d" place="Amsterdam &amp; Z&#252;rich">Springer</published>
    <body format="text">&#220;ber war fa&#231;ade. Water memory &#252;ber empire music theory silence music.</body>
  </record>`, i, i, 1800+i%200)
	}
	return out
}

// answers is what the benchmark asks of each record.
type answers struct {
	typ, title, year, place string
	roles, names            []string
}

// catalogue is the struct a plugin author decodes with encoding/xml.
type catalogue struct {
	Type      string `xml:"type,attr"`
	Title     string `xml:"title"`
	Published struct {
		Year  string `xml:"year,attr"`
		Place string `xml:"place,attr"`
	} `xml:"published"`
	Authors []struct {
		Role string `xml:"role,attr"`
		Name string `xml:",chardata"`
	} `xml:"authors>author"`
}

func askReader(xr *sdk.XMLReader, data []byte, a *answers) error {
	rec, err := xr.Read(data)
	if err != nil {
		return err
	}
	a.typ, _, _ = rec.Attr("type")
	a.title, _, _ = rec.Text("title")
	a.year, _, _ = rec.Text("published/@year")
	a.place, _, err = rec.Text("published/@place")
	a.roles, a.names = a.roles[:0], a.names[:0]
	for au, err := range rec.Each("authors/author") {
		if err != nil {
			return err
		}
		role, _, _ := au.Attr("role")
		name, _, _ := au.Text(".")
		a.roles, a.names = append(a.roles, role), append(a.names, name)
	}
	return err
}

func askEncodingXML(data []byte, a *answers) error {
	var c catalogue
	if err := xml.Unmarshal(data, &c); err != nil {
		return err
	}
	a.typ, a.title, a.year, a.place = c.Type, c.Title, c.Published.Year, c.Published.Place
	a.roles, a.names = a.roles[:0], a.names[:0]
	for _, au := range c.Authors {
		a.roles, a.names = append(a.roles, au.Role), append(a.names, au.Name)
	}
	return nil
}

// BenchmarkXMLQuestions asks the same questions of catalogue records (the
// root's type, the title, two attributes of <published>, each author's
// role and name) through XMLReader and through encoding/xml's Unmarshal,
// the fallback plugin authors used. Run the two interleaved:
//
//	go test ./sdk -run '^$' -bench XMLQuestions -benchmem -count 5
func BenchmarkXMLQuestions(b *testing.B) {
	recs := catalogueRecords(64)
	var xr sdk.XMLReader
	var a, w answers
	for _, r := range recs {
		if err := askReader(&xr, r, &a); err != nil {
			b.Fatal(err)
		}
		if err := askEncodingXML(r, &w); err != nil {
			b.Fatal(err)
		}
		if fmt.Sprint(a) != fmt.Sprint(w) || len(a.names) != 2 {
			b.Fatalf("XMLReader answered %q, encoding/xml %q", a, w)
		}
	}
	for _, bench := range []struct {
		name string
		ask  func([]byte, *answers) error
	}{
		{"XMLReader", func(r []byte, a *answers) error { return askReader(&xr, r, a) }},
		{"encoding-xml", askEncodingXML},
	} {
		b.Run(bench.name, func(b *testing.B) {
			b.SetBytes(int64(len(recs[0])))
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if err := bench.ask(recs[i%len(recs)], &a); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
