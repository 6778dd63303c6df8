package sdk

import (
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
)

// ConfigSchema returns the JSON Schema (draft 2020-12) of a plugin config
// struct, as Serve sends it in Describe when Plugin.Config is set: sluice
// checks a stage's `plugin.config` against it in `sluice validate`, and
// `sluice plugin describe` prints it as the plugin's config reference.
//
// config is the struct, or a pointer to it, holding the defaults. Each
// exported field is a key, named by its json tag (a field tagged "-" is
// left out; embedded structs are flattened, as encoding/json does). A
// field's type gives the key's: string, boolean, integer, number, array
// (a slice), object (a struct, checked likewise, or a map with string
// keys); a type that decodes itself (json.Unmarshaler,
// encoding.TextUnmarshaler) or an interface accepts any value. Its value
// in config is the key's default (not for a nil pointer, slice or map);
// its `doc:"..."` tag is the key's description; `required:"true"` makes
// it required. Keys not in the struct are not allowed, as DecodeConfig
// refuses them. The cost is one walk of the struct's type.
func ConfigSchema(config any) ([]byte, error) {
	v := reflect.ValueOf(config)
	for v.Kind() == reflect.Pointer && !v.IsNil() {
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return nil, fmt.Errorf("sdk: the config must be a struct or a pointer to one, got %T", config)
	}
	s := structSchema(v)
	s["$schema"] = "https://json-schema.org/draft/2020-12/schema"
	return json.Marshal(s)
}

var (
	jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// structSchema describes the struct value v: an object whose properties
// are its fields.
func structSchema(v reflect.Value) map[string]any {
	props := map[string]any{}
	var required []string
	eachConfigField(v, func(name string, f reflect.StructField, fv reflect.Value) {
		p := typeSchema(f.Type, fv)
		if doc := f.Tag.Get("doc"); doc != "" {
			p["description"] = doc
		}
		if def, ok := defaultOf(fv); ok {
			p["default"] = def
		}
		if f.Tag.Get("required") == "true" {
			required = append(required, name)
		}
		props[name] = p
	})
	s := map[string]any{"type": "object", "properties": props, "additionalProperties": false}
	if len(required) > 0 {
		s["required"] = required
	}
	return s
}

// eachConfigField calls fn for each key of the struct value v, in field
// order, with its json name.
func eachConfigField(v reflect.Value, fn func(name string, f reflect.StructField, fv reflect.Value)) {
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" || (!f.IsExported() && !f.Anonymous) {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		fv := v.Field(i)
		if f.Anonymous && name == "" {
			for fv.Kind() == reflect.Pointer {
				if fv.IsNil() {
					fv = reflect.New(fv.Type().Elem())
				}
				fv = fv.Elem()
			}
			if fv.Kind() == reflect.Struct {
				eachConfigField(fv, fn)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		fn(name, f, fv)
	}
}

// typeSchema describes values of type t; v, when valid, is a value of t
// whose nested struct fields give defaults.
func typeSchema(t reflect.Type, v reflect.Value) map[string]any {
	if t.Implements(jsonUnmarshaler) || reflect.PointerTo(t).Implements(jsonUnmarshaler) ||
		t.Implements(textUnmarshaler) || reflect.PointerTo(t).Implements(textUnmarshaler) {
		return map[string]any{} // it decodes itself: any value
	}
	switch t.Kind() {
	case reflect.Pointer:
		if v.IsValid() && !v.IsNil() {
			return typeSchema(t.Elem(), v.Elem())
		}
		return typeSchema(t.Elem(), reflect.Value{})
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return map[string]any{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return map[string]any{"type": "string"} // []byte is base64 in JSON
		}
		return map[string]any{"type": "array", "items": typeSchema(t.Elem(), reflect.Value{})}
	case reflect.Map:
		if t.Key().Kind() != reflect.String {
			return map[string]any{"type": "object"}
		}
		return map[string]any{"type": "object", "additionalProperties": typeSchema(t.Elem(), reflect.Value{})}
	case reflect.Struct:
		if !v.IsValid() {
			v = reflect.New(t).Elem()
		}
		return structSchema(v)
	}
	return map[string]any{} // an interface: any value
}

// defaultOf returns the JSON value of a field's default, leaving out nil
// pointers, slices, maps and interfaces and what does not encode.
func defaultOf(v reflect.Value) (any, bool) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Map, reflect.Interface:
		if v.IsNil() {
			return nil, false
		}
	case reflect.Struct:
		return nil, false // its fields carry their own defaults
	}
	b, err := json.Marshal(v.Interface())
	if err != nil {
		return nil, false
	}
	var out any
	if json.Unmarshal(b, &out) != nil {
		return nil, false
	}
	return out, true
}

// ConfigError is an error about one key of a plugin's config. Returned
// from Init (wrapped or not), it tells sluice which key is at fault, and
// sluice shows the error at that key's position in the pipeline file.
// DecodeConfig returns one for an unknown key or a value of the wrong type.
type ConfigError struct {
	// Key is the key's path: its name, or the names from the top joined
	// with "." for a key in a nested object ("cache.size").
	Key string
	Err error
}

// Error returns "config: KEY: ERR".
func (e *ConfigError) Error() string { return fmt.Sprintf("config: %s: %v", e.Key, e.Err) }

// Unwrap returns Err.
func (e *ConfigError) Unwrap() error { return e.Err }

// configError turns an error of encoding/json's decoder into a
// *ConfigError when it names a key.
func configError(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return &ConfigError{Key: te.Field, Err: fmt.Errorf("expected %s, got %s", te.Type, te.Value)}
	}
	// encoding/json reports an unknown field only as text:
	// `json: unknown field "cahce"`.
	if rest, ok := strings.CutPrefix(err.Error(), `json: unknown field "`); ok {
		if key, ok := strings.CutSuffix(rest, `"`); ok {
			return &ConfigError{Key: key, Err: errors.New("unknown key")}
		}
	}
	return fmt.Errorf("config: %w", err)
}

// errorKey returns the config key err is about, or "".
func errorKey(err error) string {
	var ce *ConfigError
	if errors.As(err, &ce) {
		return ce.Key
	}
	return ""
}
