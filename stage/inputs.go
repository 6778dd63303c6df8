package stage

// InputPather is implemented by stages that read paths named in their
// options (read's path, a classifier plugin's source). Plan records them,
// and Graph.CheckInputs checks that they exist; `sluice validate` calls it.
type InputPather interface {
	InputPaths() []InputPath
}

// InputPath is a path a stage reads, with the option that names it.
type InputPath struct {
	// Option is the option's dotted path under `with:` ("path",
	// "plugin.source"), used to place an error at its value.
	Option string
	// Path is the value, relative to the working directory as every path
	// under `with:` is.
	Path string
}
