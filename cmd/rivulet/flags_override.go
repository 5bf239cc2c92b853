package main

// overrideFlag is a flag that stands for one broker property: setting it
// appends key=value to the --override list, so it wins over the config
// file as --override does.
type overrideFlag struct {
	key       string
	overrides *[]string
}

func (f overrideFlag) String() string { return "" }
func (f overrideFlag) Type() string   { return "host:port" }
func (f overrideFlag) Set(v string) error {
	*f.overrides = append(*f.overrides, f.key+"="+v)
	return nil
}
