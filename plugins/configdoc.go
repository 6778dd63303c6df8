package plugins

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// ConfigKey is one key of a plugin's config, as its schema describes it.
type ConfigKey struct {
	Key      string // the key's path: "cache", or "cache.size" in a nested object
	Type     string // "string", "integer", "array of string", ...; "" when any value goes
	Default  string // the default as JSON, or ""
	Required bool
	Doc      string
}

// ConfigKeys lists the keys a plugin's config schema declares (see
// Description.ConfigSchema), nested objects' keys after their parent's,
// in key order at each level: the reference `sluice plugin describe`
// prints.
func ConfigKeys(schema string) ([]ConfigKey, error) {
	var s map[string]any
	if err := json.Unmarshal([]byte(schema), &s); err != nil {
		return nil, fmt.Errorf("the plugin's config schema is not a JSON object: %w", err)
	}
	var out []ConfigKey
	var walk func(s map[string]any, prefix string)
	walk = func(s map[string]any, prefix string) {
		props, _ := s["properties"].(map[string]any)
		required := map[string]bool{}
		if r, ok := s["required"].([]any); ok {
			for _, k := range r {
				if k, ok := k.(string); ok {
					required[k] = true
				}
			}
		}
		names := make([]string, 0, len(props))
		for n := range props {
			names = append(names, n)
		}
		slices.Sort(names)
		for _, n := range names {
			p, _ := props[n].(map[string]any)
			k := ConfigKey{Key: prefix + n, Type: schemaType(p), Required: required[n]}
			k.Doc, _ = p["description"].(string)
			if d, ok := p["default"]; ok {
				b, _ := json.Marshal(d)
				k.Default = string(b)
			}
			out = append(out, k)
			if _, ok := p["properties"]; ok {
				walk(p, k.Key+".")
			}
		}
	}
	walk(s, "")
	return out, nil
}

// schemaType names the type a schema accepts.
func schemaType(s map[string]any) string {
	var t string
	switch v := s["type"].(type) {
	case string:
		t = v
	case []any:
		var ts []string
		for _, x := range v {
			ts = append(ts, fmt.Sprint(x))
		}
		t = strings.Join(ts, " or ")
	}
	switch t {
	case "array":
		if items, ok := s["items"].(map[string]any); ok {
			if it := schemaType(items); it != "" {
				return "array of " + it
			}
		}
	case "object":
		if ap, ok := s["additionalProperties"].(map[string]any); ok {
			if it := schemaType(ap); it != "" {
				return "object of " + it
			}
		}
	}
	if e, ok := s["enum"].([]any); ok {
		var vs []string
		for _, x := range e {
			b, _ := json.Marshal(x)
			vs = append(vs, string(b))
		}
		return strings.TrimSpace(t + " (" + strings.Join(vs, "|") + ")")
	}
	return t
}
