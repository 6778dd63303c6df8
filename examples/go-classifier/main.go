// Command go-classifier is a sluice classifier plugin for catalogue records
// (XML subtrees and CSV rows). Its state is built once per process, in Init,
// from a spec file, and could not be shipped to it any other way: a compiled
// multi-pattern matcher, an open lookup file, and a cache behind a mutex.
//
// With spec.json it classifies records the way sluice's reference job (W1)
// does: the record's type ("unknown" when it has none), then "/numbered" when
// its title holds an ASCII digit, else "/plain". It also labels each record
// with its language code, the language's name (looked up in an open file)
// and the topics its title mentions (found by the matcher).
//
// It is not meant to be run by hand: a pipeline names it (see README.md).
package main

import "github.com/sluicehq/sluice/sdk"

func main() {
	sdk.Serve(newPlugin())
}

// newPlugin describes the plugin; tests use it too.
func newPlugin() sdk.Plugin {
	return sdk.Plugin{
		Name:       "catalog",
		Version:    "1.0.0",
		Accepts:    []sdk.Kind{sdk.XML, sdk.CSV},
		Classifier: &Classifier{},
		// Two batches at once: a lookup that misses the cache waits on the
		// disk, and the cache and the file are safe for concurrent use.
		Concurrency: 2,
		// Describe sends Config's schema: validate checks plugin.config.
		Config: &Config{},
	}
}
