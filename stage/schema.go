package stage

// OptionSchema is implemented by option types that decode themselves (a
// yaml.Unmarshaler, or an encoding.TextUnmarshaler such as Duration or
// ByteSize): OptionSchema returns the JSON Schema of the YAML values it
// accepts. Without it such an
// option is free-form in the pipeline schema.
type OptionSchema interface {
	OptionSchema() map[string]any
}

// durationPattern is what time.ParseDuration accepts without a sign.
const durationPattern = `^\+?(0|(([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h))+)$`

// OptionSchema implements OptionSchema.
func (Duration) OptionSchema() map[string]any {
	return map[string]any{
		"type":     "string",
		"pattern":  durationPattern,
		"examples": []string{"500ms", "30s", "2m", "1h30m"},
	}
}

// sizePattern is what ParseByteSize accepts.
const sizePattern = `^\s*[0-9]+\s*(KiB|MiB|GiB|KB|MB|GB|K|M|G|B)?\s*$`

// OptionSchema implements OptionSchema.
func (ByteSize) OptionSchema() map[string]any {
	return map[string]any{"anyOf": []any{
		map[string]any{"type": "integer", "minimum": 0},
		map[string]any{"type": "string", "pattern": sizePattern, "examples": []string{"64KiB", "16MiB", "1GiB"}},
	}}
}
