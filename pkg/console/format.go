package console

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// humanBytes is n bytes in binary units: "512 B", "1.5 KiB", "3.2 MiB".
func humanBytes(n uint64) string {
	if n < 1024 {
		return fmt.Sprintf("%d B", n)
	}
	f, unit := scale(n, 1024, "KMGTPE")
	return fmt.Sprintf("%.1f %ciB", f, unit)
}

// humanCount is a count in thousands: "999", "1.2k", "3.4M", "5.6G".
func humanCount(n uint64) string {
	if n < 1000 {
		return fmt.Sprint(n)
	}
	f, unit := scale(n, 1000, "kMGTPE")
	return fmt.Sprintf("%.1f%c", f, unit)
}

// scale divides n (at least base) by base until it is below base, or the
// units run out, and names the unit reached.
func scale(n uint64, base float64, units string) (float64, byte) {
	f := float64(n) / base
	i := 0
	for f >= base && i < len(units)-1 {
		f /= base
		i++
	}
	return f, units[i]
}

// humanDuration is d to the second in its two largest units: "45s",
// "1m30s", "2h03m", "3d04h".
func humanDuration(d time.Duration) string {
	d = d.Round(time.Second)
	if d < 0 {
		return "-" + humanDuration(-d)
	}
	s := int64(d / time.Second)
	switch {
	case s < 60:
		return fmt.Sprintf("%ds", s)
	case s < 3600:
		return fmt.Sprintf("%dm%02ds", s/60, s%60)
	case s < 86400:
		return fmt.Sprintf("%dh%02dm", s/3600, s%3600/60)
	}
	return fmt.Sprintf("%dd%02dh", s/86400, s%86400/3600)
}

// humanRTT is a round-trip time in milliseconds, "-" for none.
func humanRTT(d time.Duration) string {
	if d <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
}

// or is s, or "-" when s is empty.
func or(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// table writes rows under a header, columns aligned.
func table(w io.Writer, header string, rows [][]string) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, header)
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}

// pairs writes "key  value" lines, keys aligned, with indent before them.
func pairs(w io.Writer, indent string, kv [][2]string) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, p := range kv {
		fmt.Fprintf(tw, "%s%s\t%s\n", indent, p[0], p[1])
	}
	return tw.Flush()
}

// printJSON writes v as indented JSON: what --json prints.
func printJSON(w io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

// flatten lists v's JSON leaves as dotted keys, in the struct's order:
// "control.bad_magic  3". It is how show stats prints its counters.
func flatten(v any) ([][2]string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var out [][2]string
	var walk func(prefix string) error
	walk = func(prefix string) error {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{':
				for dec.More() {
					k, err := dec.Token()
					if err != nil {
						return err
					}
					key := fmt.Sprint(k)
					if prefix != "" {
						key = prefix + "." + key
					}
					if err := walk(key); err != nil {
						return err
					}
				}
			case '[':
				for i := 0; dec.More(); i++ {
					if err := walk(fmt.Sprintf("%s[%d]", prefix, i)); err != nil {
						return err
					}
				}
			}
			_, err := dec.Token() // the closing delimiter
			return err
		case nil:
			out = append(out, [2]string{prefix, "-"})
		default:
			out = append(out, [2]string{prefix, fmt.Sprint(t)})
		}
		return nil
	}
	return out, walk("")
}
