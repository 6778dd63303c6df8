// Package pipetest runs pipeline test files: YAML files kept beside a
// pipeline (pipeline_test.yaml for pipeline.yaml) whose named cases feed
// records into a stage, or run the whole pipeline, and check what stages
// emit and what files the pipeline writes. `sluice test` uses it;
// programs that embed Sluice call RunPath with a pipeline.Loader of their
// own (it is apart from package sluice so that they do not link it).
//
// A test file:
//
//	pipeline: pipeline.yaml        # optional: the file's name without _test
//	tests:
//	  - name: a numbered book goes to book/numbered
//	    set:                        # options changed for this case
//	      catalogue: {path: testdata/two.xml}
//	    feed:                       # records a stage gets instead of its inputs
//	      labelled:
//	        - xml: <record type="book"><title>Go 2</title></record>
//	        - csv: {id: "7", type: dvd, title: Heat}
//	        - {line: some text, category: misc, labels: {lang: en}}
//	    expect:
//	      records:                  # what a stage emits, in any order
//	        labelled:
//	          - {category: book/numbered, xml: <record type="book"><title>Go 2</title></record>}
//	      categories:               # records per category a stage emits
//	        labelled: {book/numbered: 1, dvd/plain: 1}
//	      count: {labelled: 3}      # records a stage emits
//	      files:                    # outputs, by the path the pipeline gives
//	        out/category-counts.csv: |
//	          category,count
//	          book/numbered,1
//	      error: plugin crashed     # the run must fail with this in its error
//
// A record is a mapping with one of xml, csv (a mapping of field to value,
// in header order), line, json (any value, or JSON text) or file (a path,
// for a stage that reads files), and optionally category and labels.
//
// Feeding a stage cuts it off from its inputs and runs only it and the
// stages downstream of it. A template use is named by its use name: it is
// fed through the stages its from: goes to, and checked at the stage whose
// output it emits; its stages are also there by their own names (USE.STAGE). Every case writes its outputs under a temporary
// directory (pipeline.Config.OutputDir), so a test never touches the files a
// real run writes; expected files are named by the path the pipeline gives
// them. Paths in set: and file: are relative to the working directory, as
// in the pipeline; pipeline: is relative to the test file.
//
// Failures come with a unified diff (- want, + got) and the position of the
// expectation in the test file.
package pipetest
